/**
 * The one module through which the constructs reach their CDK core: every construct file
 * imports `cdktf` (and the null provider) from here and from nowhere else. This file binds
 * them to CDK for Terraform; the CDK Terrain flavour (`cdktf-key-sync/cdktn`) is compiled
 * from the same sources with core-cdktn.ts in this file's place (scripts/build-cdktn.js),
 * so a new construct file needs nothing special. Both files export the same names.
 */
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { Resource } from '@cdktf/provider-null/lib/resource';
import type { LocalExecProvisioner, TerraformProvider } from 'cdktf';
import type { Construct } from 'constructs';

export { AssetType, DataResource, Fn, TerraformAsset, TerraformProvider, TerraformResource, TerraformStack, Token } from 'cdktf';
export type { IResolvable } from 'cdktf';

/** The npm package of the core the constructs are built on. */
export const CORE_PACKAGE: 'cdktf' | 'cdktn' = 'cdktf';
/** How messages name the core. */
export const CORE_LABEL = 'CDK for Terraform (cdktf)';

/** The `null_resource` construct of the core's null provider binding. */
export type NullResource = Resource;

/** What a `null_resource` KeySync needs from a null provider binding. */
export interface NullProviderBinding {
  /** Declares a default (un-aliased) `null` provider. */
  provider(scope: Construct, id: string): TerraformProvider;
  /** Declares a `null_resource`. */
  resource(scope: Construct, id: string, config: { triggers: Record<string, string>; provisioners: LocalExecProvisioner[] }): NullResource;
}

/**
 * The null provider binding (`@cdktf/provider-null`), or undefined for a core that has
 * none; then `null_resource` is refused and `terraform_data` is the default.
 */
export const NULL_PROVIDER: NullProviderBinding | undefined = {
  provider: (scope, id) => new NullProvider(scope, id),
  resource: (scope, id, config) => new Resource(scope, id, config),
};
