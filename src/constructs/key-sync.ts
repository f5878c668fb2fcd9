import { Construct } from 'constructs';
import { KeySyncCliAsset } from './cli-asset';
import { CORE_LABEL, DataResource, Fn, NULL_PROVIDER, Token, type NullResource } from './core';
import { invalidMarker, invalidMaxWaitSeconds, invalidResourceType, invalidTriggerName, notARootKey, nullResourceUnavailable } from './errors';
import type { RootKey } from './root-key';
import { linkSync, rotationOf } from './key-links';
import { lazyString, resourceNameOf, shellWord } from './synth-words';
import { escapeHclQuoted, literalSyncHash, syncHashDocument, type SyncHashInput } from './trigger-hash';
import { DEFAULT_MAX_WAIT_SECONDS, checkMarker, checkMaxWaitSeconds, checkTriggerName } from '../domain';


/**
 * The Terraform resource a {@link KeySync} creates to carry its triggers and provisioner:
 * - `null_resource` (`hashicorp/null` provider): works with every Terraform and OpenTofu
 *   version, but `terraform init` must download (or find in a mirror) the null provider.
 * - `terraform_data`: built into Terraform >= 1.4 and OpenTofu >= 1.6; no provider to
 *   download, which suits air-gapped runners.
 */
export type KeySyncResourceType = 'null_resource' | 'terraform_data';

/** The resource types KeySync knows ({@link KeySyncOptions.resourceType}). */
export const KEY_SYNC_RESOURCE_TYPES: readonly KeySyncResourceType[] = ['null_resource', 'terraform_data'];

/**
 * The resource type a KeySync uses when `resourceType` is not given: `null_resource` with
 * cdktf, `terraform_data` with CDK Terrain (`cdktf-key-sync/cdktn`), which has no null
 * provider binding.
 */
export const DEFAULT_KEY_SYNC_RESOURCE_TYPE: KeySyncResourceType = NULL_PROVIDER !== undefined ? 'null_resource' : 'terraform_data';

/** Options of a key's sync (what `key.sync(props)` takes). */
export interface KeySyncOptions {
  /**
   * How long the CLI may wait for the service's time gate (409 `REQ_TOO_EARLY_ERR`,
   * about an hour after the key last changed or synced) before it gives up with exit
   * code 75, which taints the resource so the next apply retries. 0 never waits.
   * Whole seconds, 0-86400. Changing it does not re-run a sync.
   * @default 900
   */
  readonly maxWaitSeconds?: number;
  /**
   * Extra values whose change re-triggers the sync (e.g. `{ ticket: 'OPS-1234' }`).
   * Names: 1-64 of `A-Z a-z 0-9 _ - .`; values: readable markers or tokens.
   * @default - none
   */
  readonly triggers?: Readonly<Record<string, string>>;
  /**
   * Have the CLI list the key's registrations before it syncs (`--verify-registrations`),
   * report how many resources the service will re-notify, and warn when there are none
   * (registrations can lag behind reality, so a warning, not a failure). Changing it
   * does not re-run a sync.
   * @default false
   */
  readonly verifyRegistrations?: boolean;
  /**
   * When the sync hash changes, sync only if the key is behind (`key-sync sync
   * --if-behind`): some of its registrations are still on an older key version past the
   * grace period (4 h). Choose it when rotations happen outside this stack (a rotation
   * policy, by hand): a declared marker bump after such a rotation then sends no sync the
   * gate would refuse when the resources have already caught up. It cannot see events
   * that leave no version behind (disable, enable, delete, restore): for those, leave it
   * off so the sync always runs. Changing it does not re-run a sync.
   * @default false
   */
  readonly onlyIfBehind?: boolean;
  /**
   * Which Terraform resource carries the sync. `'null_resource'` puts the trigger map in
   * `triggers` and needs the `hashicorp/null` provider (declared for you). `'terraform_data'`
   * puts the same map in `triggers_replace` and needs no provider at all (Terraform >= 1.4,
   * OpenTofu >= 1.6): choose it when `terraform init` cannot download providers. The
   * trigger map, the `sync_hash`, the provisioner and the resource name are identical for
   * both; only the resource address differs (`null_resource.X_sync` vs
   * `terraform_data.X_sync`), so switching an applied stack from one to the other
   * destroys the old resource and creates the new one, which runs the sync once more.
   *
   * With CDK Terrain (`cdktf-key-sync/cdktn`) only `'terraform_data'` is available: no
   * null provider binding exists for cdktn, so `'null_resource'` is refused at synth.
   * @default 'null_resource' with cdktf; 'terraform_data' with cdktn
   */
  readonly resourceType?: KeySyncResourceType;
}

/** Props of a {@link KeySync}. */
export interface KeySyncProps extends KeySyncOptions {
  /** The key to sync. */
  readonly key: RootKey;
}

/**
 * Runs `key-sync sync` for a key whenever what is declared about it changes: a
 * `null_resource` whose `triggers` (or, with `resourceType: 'terraform_data'`, a
 * `terraform_data` whose `triggers_replace`) hold the sync hash (plus short readable
 * entries so `terraform plan` shows why it is replaced), with a create-time `local-exec` provisioner
 * running the bundled CLI shipped into the stack directory. No credential is written
 * anywhere: the CLI reads `IBMCLOUD_API_KEY` / `IBMCLOUD_IAM_TOKEN` from the runner's
 * environment. A failing command (gate still closed, outage) taints the resource, so the
 * next apply retries it.
 *
 * The Terraform resource name is the construct path under the stack joined with `_`,
 * with a final id `Sync` written `sync`: `key.sync()` on key `PaymentsKey` gives
 * `null_resource.PaymentsKey_sync` (or `terraform_data.PaymentsKey_sync`).
 *
 * When the key also has a declared rotation (`key.rotate({ generation })`), the sync runs
 * after it (`depends_on`), and the generation is not in the sync hash: a generation bump
 * alone rotates the key and does not sync it (a rotation notifies the associated
 * resources itself). A sync that runs in the same apply for another reason and that the
 * service refuses because of that rotation succeeds, saying the rotation notified them.
 *
 * The command refers to the CLI by a path relative to the stack directory (where
 * Terraform runs provisioners), so the stack directory can be applied on another machine.
 * Note that cdktf's default local backend writes an absolute state path into the stack;
 * declare `new LocalBackend(stack, { path: 'terraform.<stack>.tfstate' })` (or a remote
 * backend) to keep the directory free of synth-machine paths.
 */
export class KeySync extends Construct {
  /** The key being synced. */
  public readonly key: RootKey;
  /**
   * The underlying resource: a null provider `Resource` (`null_resource`, the default with
   * cdktf), or the core's `DataResource` (`terraform_data`); see {@link resourceType}.
   */
  public readonly resource: NullResource | DataResource;
  /** The Terraform resource type of {@link resource}. */
  public readonly resourceType: KeySyncResourceType;
  /**
   * The trigger map: `sync_hash` plus readable `key_id`, `key_state`, `key_rotation` and
   * `association_count` entries (`triggers` of a null_resource, `triggers_replace` of a
   * terraform_data). Values may be lazy; they resolve at synth.
   */
  public readonly resourceTriggers: Readonly<Record<string, string>>;
  /** The CLI's maximum wait for the time gate, in seconds. */
  public readonly maxWaitSeconds: number;
  /** Whether the CLI verifies registrations after the sync. */
  public readonly verifyRegistrations: boolean;
  /** Whether the CLI syncs only when the key is behind (`--if-behind`). */
  public readonly onlyIfBehind: boolean;
  /** Extra triggers. */
  public readonly triggers: Readonly<Record<string, string>>;
  /**
   * The command the provisioner runs (from the stack directory), as a Terraform string.
   * When the key has a declared rotation ({@link KeyRotation}), its last part, resolved at
   * synth, adds `--rotation-requested-at` with the rotation's requested-at time.
   */
  public readonly command: string;

  /**
   * @throws KeySyncConfigError for a bad maxWaitSeconds or extra trigger, or a name clash
   */
  public constructor(scope: Construct, id: string, props: KeySyncProps) {
    super(scope, id);
    const path = this.node.path;
    if (!isRootKeyLike(props.key)) throw notARootKey(path, props.key);
    const resourceType = props.resourceType ?? DEFAULT_KEY_SYNC_RESOURCE_TYPE;
    const nullProvider = NULL_PROVIDER;
    if (!KEY_SYNC_RESOURCE_TYPES.includes(resourceType)) throw invalidResourceType(path, resourceType, nullProvider !== undefined);
    if (resourceType === 'null_resource' && nullProvider === undefined) throw nullResourceUnavailable(path, CORE_LABEL);
    const maxWait = props.maxWaitSeconds ?? DEFAULT_MAX_WAIT_SECONDS;
    if (!Token.isUnresolved(maxWait)) {
      const bad = checkMaxWaitSeconds(maxWait);
      if (bad) throw invalidMaxWaitSeconds(path, maxWait, bad);
    }
    const triggers = props.triggers ?? {};
    for (const [name, value] of Object.entries(triggers)) {
      const badName = checkTriggerName(name);
      if (badName) throw invalidTriggerName(path, name, badName);
      if (!Token.isUnresolved(value)) {
        const bad = checkMarker(value);
        if (bad) throw invalidMarker(path, `triggers.${name}`, value, bad);
      }
    }
    this.key = props.key;
    this.maxWaitSeconds = maxWait;
    this.verifyRegistrations = props.verifyRegistrations === true;
    this.onlyIfBehind = props.onlyIfBehind === true;
    this.triggers = { ...triggers };
    this.resourceType = resourceType;

    const cli = KeySyncCliAsset.of(this);
    const name = resourceNameOf(this, 'Sync', 'sync');
    cli.claimResourceName(name, path);
    this.command = buildCommand(cli.path, this);

    const key = this.key;
    const resourceTriggers: Record<string, string> = {
      sync_hash: lazyString(() => this.triggerHash),
      key_id: key.keyId,
      ...(key.lifecycle.state !== undefined ? { key_state: key.lifecycle.state } : {}),
      ...(key.lifecycle.rotation !== undefined ? { key_rotation: key.lifecycle.rotation } : {}),
      association_count: lazyString(() => String(key.associations.length)),
    };
    this.resourceTriggers = resourceTriggers;
    const provisioners = [{ type: 'local-exec' as const, command: this.command }];
    if (resourceType === 'terraform_data' || nullProvider === undefined) {
      this.resource = new DataResource(this, 'Resource', { triggersReplace: resourceTriggers, provisioners });
    } else {
      cli.useNullProvider(nullProvider);
      this.resource = nullProvider.resource(this, 'Resource', { triggers: resourceTriggers, provisioners });
    }
    this.resource.overrideLogicalId(name);
    linkSync(key, this.resource);
  }

  /** Everything the trigger hash covers, as declared now. */
  public get hashInput(): SyncHashInput {
    const key = this.key;
    return {
      instanceId: key.instance.instanceId,
      endpoint: key.instance.endpoint,
      keyId: key.keyId,
      ...(key.keyRing !== undefined ? { keyRing: key.keyRing } : {}),
      lifecycle: key.lifecycle,
      associations: key.associations.map((a) => a.resourceCrn),
      triggers: this.triggers,
    };
  }

  /**
   * The sync hash: a literal SHA-256 hex digest when every input is known at synth,
   * otherwise a Terraform expression `sha256(jsonencode({...}))` over the same canonical
   * document (see trigger-hash.ts), which Terraform evaluates to the same digest the
   * literal form would have. Read at synth, so associations declared after the KeySync
   * are covered; reading it earlier gives the hash of what is declared so far.
   */
  public get triggerHash(): string {
    return renderSyncHash(this.hashInput);
  }
}

function isRootKeyLike(x: unknown): x is RootKey {
  return typeof x === 'object' && x !== null && Symbol.for('cdktf-key-sync.RootKey') in x;
}

/**
 * The hash of `input`: literal when nothing is a token, else the Terraform expression.
 * With token CRNs the list is sorted by Terraform's `sort()` at plan time, so order
 * never matters.
 */
export function renderSyncHash(input: SyncHashInput): string {
  const strings = [
    input.instanceId, input.endpoint, input.keyId, input.keyRing, input.lifecycle?.state, input.lifecycle?.rotation,
    ...input.associations, ...Object.values(input.triggers ?? {}),
  ].filter((s): s is string => s !== undefined);
  if (!strings.some((s) => Token.isUnresolved(s))) return literalSyncHash(input);
  const tokenCrns = input.associations.some((s) => Token.isUnresolved(s));
  const doc = syncHashDocument(input, !tokenCrns);
  const lit = (s: string): string => (Token.isUnresolved(s) ? s : escapeHclQuoted(s));
  const mapValues = (o: Readonly<Record<string, string>>): Record<string, string> =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, lit(v)]));
  const associations = doc.associations.map(lit);
  const expressionDoc: Record<string, unknown> = {
    v: doc.v,
    instanceId: lit(doc.instanceId),
    endpoint: lit(doc.endpoint),
    keyId: lit(doc.keyId),
    ...(doc.keyRing !== undefined ? { keyRing: lit(doc.keyRing) } : {}),
    lifecycle: mapValues(doc.lifecycle),
    associations: tokenCrns ? Fn.sort(associations) : associations,
    triggers: mapValues(doc.triggers),
  };
  return Fn.sha256(Fn.jsonencode(expressionDoc));
}

function buildCommand(assetPath: string, sync: KeySync): string {
  const key = sync.key;
  const words: string[] = ['node', shellWord(assetPath), 'sync', '--instance-id', shellWord(key.instance.instanceId), '--key-id', shellWord(key.keyId)];
  if (key.keyRing !== undefined) words.push('--key-ring', shellWord(key.keyRing));
  for (const f of key.instance.cliFlags) {
    words.push(f.flag);
    if (f.value !== undefined) words.push(shellWord(f.value));
  }
  const maxWait = Token.isUnresolved(sync.maxWaitSeconds) ? Token.asString(sync.maxWaitSeconds) : String(sync.maxWaitSeconds);
  words.push('--max-wait', shellWord(maxWait));
  if (sync.verifyRegistrations) words.push('--verify-registrations');
  // The key's declared rotation (declared before or after this sync) runs first; its
  // requested-at time lets the sync tell that rotation's gate from any other. An RFC 3339
  // time holds no quote, so the reference is quoted as it is.
  const rotation = lazyString(() => {
    const r = rotationOf(key);
    return r === undefined ? '' : ` --rotation-requested-at '${r.requestedAt}'`;
  });
  if (sync.onlyIfBehind) words.push('--if-behind');
  return `${words.join(' ')}${rotation}`;
}
