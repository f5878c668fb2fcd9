/**
 * core.ts for CDK Terrain (`cdktn`), the community fork of CDK for Terraform: the same
 * names, bound to `cdktn`. scripts/build-cdktn.js compiles the constructs with this file
 * in core.ts's place into `cdktn/` (the `cdktf-key-sync/cdktn` entry point), and the
 * jest project `cdktn` maps `./core` here. It must never import `cdktf` or `@cdktf/*`:
 * tokens and construct trees of two cores do not mix.
 */
import type { LocalExecProvisioner, TerraformProvider } from 'cdktn';
import type { Construct } from 'constructs';

export { AssetType, DataResource, Fn, TerraformAsset, TerraformProvider, TerraformResource, TerraformStack, Token } from 'cdktn';
export type { IResolvable } from 'cdktn';

/** The npm package of the core the constructs are built on. */
export const CORE_PACKAGE: 'cdktf' | 'cdktn' = 'cdktn';
/** How messages name the core. */
export const CORE_LABEL = 'CDK Terrain (cdktn)';

/** No null provider binding exists for cdktn (there is no `@cdktn/provider-null`). */
export type NullResource = never;

/** What a `null_resource` KeySync needs from a null provider binding. */
export interface NullProviderBinding {
  /** Declares a default (un-aliased) `null` provider. */
  provider(scope: Construct, id: string): TerraformProvider;
  /** Declares a `null_resource`. */
  resource(scope: Construct, id: string, config: { triggers: Record<string, string>; provisioners: LocalExecProvisioner[] }): NullResource;
}

/** None: `null_resource` is refused and `terraform_data` is the default. */
export const NULL_PROVIDER: NullProviderBinding | undefined = undefined;
