import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Construct, IConstruct } from 'constructs';
import { AssetType, TerraformAsset, TerraformProvider, TerraformStack, type NullProviderBinding } from './core';
import { cliAssetIdTaken, cliBundleMissing, duplicateNullProvider, resourceNameClash } from './errors';

/** Construct id of the per-stack CLI asset (directly under the stack). Public API. */
export const CLI_ASSET_ID = 'KeySyncCli';

/**
 * Context key that overrides where the bundled CLI is read from (an absolute path, or one
 * relative to the working directory). Rarely needed: by default the bundle that ships in
 * this package (`dist/key-sync.cjs`) is used.
 */
export const CLI_BUNDLE_CONTEXT_KEY = 'cdktf-key-sync:cliBundlePath';

const CLI_ASSET_SYMBOL = Symbol.for('cdktf-key-sync.KeySyncCliAsset');

/**
 * Where the bundled CLI is: `<package>/dist/key-sync.cjs`. The same relative step works
 * from `src/constructs` (tests, tsx) and from the compiled `lib/constructs`.
 */
export function defaultCliBundlePath(): string {
  return path.resolve(__dirname, '../../dist/key-sync.cjs');
}

/**
 * Returns the absolute path of the CLI bundle, or throws a clear error naming `where`
 * when it is missing (the fix is `npm run build:cli`).
 */
export function locateCliBundle(where: string, file: string = defaultCliBundlePath()): string {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw cliBundleMissing(where, abs);
  return abs;
}

function isDefaultNullProvider(c: IConstruct): c is TerraformProvider {
  return c instanceof TerraformProvider && c.terraformResourceType === 'null' && c.alias === undefined;
}

/**
 * The bundled `key-sync` CLI shipped into one stack as a TerraformAsset: ONE copy per
 * stack, shared by every {@link KeySync} in it (`assets/KeySyncCli/<content hash>/key-sync.cjs`
 * under the stack directory). It also makes sure the stack has a default `null` provider
 * when a KeySync uses `null_resource` (none is declared for `terraform_data`, which is
 * built into Terraform) and hands out the stack-unique resource names.
 */
export class KeySyncCliAsset extends TerraformAsset {
  /** Finds the stack's CLI asset, creating it on first use. */
  public static of(scope: Construct): KeySyncCliAsset {
    const stack = TerraformStack.of(scope);
    const existing = stack.node.tryFindChild(CLI_ASSET_ID);
    if (existing !== undefined) {
      if (!(typeof existing === 'object' && CLI_ASSET_SYMBOL in existing)) throw cliAssetIdTaken(existing.node.path, CLI_ASSET_ID);
      return existing as unknown as KeySyncCliAsset;
    }
    const configured = stack.node.tryGetContext(CLI_BUNDLE_CONTEXT_KEY) as string | undefined;
    const file = locateCliBundle(scope.node.path, configured ?? defaultCliBundlePath());
    return new KeySyncCliAsset(stack, file);
  }

  private readonly resourceNames = new Map<string, string>();
  private readonly ownerStack: TerraformStack;
  private defaultNullProvider: TerraformProvider | undefined;

  private constructor(stack: TerraformStack, file: string) {
    super(stack, CLI_ASSET_ID, { path: file, type: AssetType.FILE });
    Object.defineProperty(this, CLI_ASSET_SYMBOL, { value: true });
    this.ownerStack = stack;
    // A NullProvider the user declares after the first null_resource KeySync would be a
    // second default one.
    this.node.addValidation({
      validate: () => {
        const ours = this.defaultNullProvider;
        if (ours === undefined) return [];
        const defaults = stack.node.findAll().filter(isDefaultNullProvider);
        return defaults.filter((p) => p !== ours).map((p) => duplicateNullProvider(p.node.path, p.node.id, ours.node.path).message);
      },
    });
  }

  /**
   * The default null provider the stack's `null_resource` KeySyncs use, or undefined
   * while none of them needs one (only `terraform_data` KeySyncs so far).
   */
  public get nullProvider(): TerraformProvider | undefined {
    return this.defaultNullProvider;
  }

  /**
   * Finds the stack's default null provider, declaring one (`<stack>/KeySyncCli/NullProvider`)
   * through `binding` on first use. Called by each `null_resource` KeySync.
   */
  public useNullProvider(binding: NullProviderBinding): TerraformProvider {
    this.defaultNullProvider ??= this.ownerStack.node.findAll().find(isDefaultNullProvider) ?? binding.provider(this, 'NullProvider');
    return this.defaultNullProvider;
  }

  /**
   * Reserves a null_resource name in this stack for the construct at `path`.
   * @throws KeySyncConfigError when another KeySync already has it
   */
  public claimResourceName(name: string, path: string): void {
    const owner = this.resourceNames.get(name);
    if (owner !== undefined && owner !== path) throw resourceNameClash(path, name, owner);
    this.resourceNames.set(name, path);
  }
}
