import { Construct } from 'constructs';
import { KeySyncCliAsset } from './cli-asset';
import { CORE_LABEL, DataResource, Fn, NULL_PROVIDER, Token, type NullResource, type TerraformResource } from './core';
import { invalidGeneration, invalidMaxWaitSeconds, invalidResourceType, notARootKey, nullResourceUnavailable, rotationAlreadyDefined } from './errors';
import { DEFAULT_KEY_SYNC_RESOURCE_TYPE, KEY_SYNC_RESOURCE_TYPES, type KeySyncResourceType } from './key-sync';
import { linkRotation, rotationOf, runAfter } from './key-links';
import { literalRotationHash, rotationHashDocument, type RotationHashInput } from './rotation-hash';
import type { RootKey } from './root-key';
import { lazyString, resourceNameOf, shellWord } from './synth-words';
import { escapeHclQuoted } from './trigger-hash';
import { DEFAULT_MAX_WAIT_SECONDS, checkGeneration, checkMaxWaitSeconds, generationText } from '../domain';

/** Options of a key's declared rotation (what `key.rotate(options)` takes). */
export interface KeyRotationOptions {
  /**
   * The generation to rotate the key for: change it (e.g. `'2026-Q3'` to `'2026-Q4'`, or
   * `3` to `4`) to have the key rotated once more. Each value rotates the key exactly
   * once, whatever the retries and re-applies. A string of 1-256 printable ASCII
   * characters without `" \ $ % { }` (a token is accepted), or a whole number.
   */
  readonly generation: string | number;
  /**
   * How long the CLI may wait for the service's once-an-hour rotation gate (409
   * `KEY_ROTATION_NOT_PERMITTED`, until the key's last rotation + 1 h) before it gives up
   * with exit code 75, which taints the resource so the next apply retries it (with the
   * same requested-at time: still one rotation). 0 never waits. Whole seconds, 0-86400.
   * Changing it never rotates the key.
   * @default 900
   */
  readonly maxWaitSeconds?: number;
  /**
   * Which Terraform resource runs the rotation, with KeySync's rules: `'null_resource'`
   * (needs the hashicorp/null provider) or `'terraform_data'` (built in). The requested-at
   * record is always a `terraform_data`. Changing it re-runs the CLI, which finds the
   * generation already rotated and does nothing.
   * @default 'null_resource' with cdktf; 'terraform_data' with cdktn
   */
  readonly resourceType?: KeySyncResourceType;
}

/** Props of a {@link KeyRotation}. */
export interface KeyRotationProps extends KeyRotationOptions {
  /** The root key to rotate. */
  readonly key: RootKey;
}

/** The key of the requested-at record's `input` (and so of its `output`). */
export const REQUESTED_AT_FIELD = 'requested_at';

/**
 * Rotates a root key exactly once per declared generation (`key-sync rotate`). Two
 * resources carry it:
 *
 * - `terraform_data.<name>_requested_at` records when the generation was first requested:
 *   its `input` is `{ requested_at = plantimestamp() }` with `ignore_changes = [input]`,
 *   replaced only when its `triggers_replace` (the rotation hash: key and generation)
 *   changes. So the time is set by the plan that asks for the generation, before the
 *   rotation runs, and a failed rotation retried by a later apply keeps it.
 * - `<null_resource|terraform_data>.<name>` runs `key-sync rotate --generation G
 *   --requested-at <that time>` when the rotation hash changes. The CLI does nothing when
 *   the key was rotated at or after that time (a retry of a rotation that went through,
 *   or a rotation by a policy or by hand after the request), waits for the once-an-hour
 *   gate within `maxWaitSeconds`, and never repeats a rotate request blind.
 *
 * Needs Terraform >= 1.5 or OpenTofu >= 1.6 (`plantimestamp()`; `terraform_data` needs
 * Terraform >= 1.4). The key's {@link KeySync}, if any, runs after the rotation; the
 * generation is not in its hash. The resource name is the construct path under the stack
 * joined with `_`, a final id `Rotation` written `rotation`: `key.rotate()` on key
 * `PaymentsKey` gives `PaymentsKey_rotation` and `terraform_data.PaymentsKey_rotation_requested_at`.
 */
export class KeyRotation extends Construct {
  /** The key being rotated. */
  public readonly key: RootKey;
  /** The generation, as text. */
  public readonly generation: string;
  /** The CLI's maximum wait for the rotation gate, in seconds. */
  public readonly maxWaitSeconds: number;
  /** The Terraform resource type of {@link resource}. */
  public readonly resourceType: KeySyncResourceType;
  /** The resource that runs `key-sync rotate`. */
  public readonly resource: NullResource | DataResource;
  /** The `terraform_data` that records when the generation was first requested. */
  public readonly requestedAtRecord: DataResource;
  /**
   * The requested-at time, as a Terraform reference to the record's output
   * (`${terraform_data.<name>_requested_at.output.requested_at}`): an RFC 3339 UTC time.
   */
  public readonly requestedAt: string;
  /**
   * The trigger map of both resources: `rotation_hash` plus readable `key_id` and
   * `generation` (`triggers` of a null_resource, `triggers_replace` of a terraform_data).
   */
  public readonly resourceTriggers: Readonly<Record<string, string>>;
  /** The command the provisioner runs (from the stack directory), as a Terraform string. */
  public readonly command: string;

  /**
   * @throws KeySyncConfigError for a bad generation or maxWaitSeconds, an unknown resource
   *   type, a key that is not a RootKey or already has a declared rotation, or a name clash
   */
  public constructor(scope: Construct, id: string, props: KeyRotationProps) {
    super(scope, id);
    const path = this.node.path;
    if (!isRootKeyLike(props.key)) throw notARootKey(path, props.key, 'rotate');
    const existing = rotationOf(props.key);
    if (existing !== undefined) throw rotationAlreadyDefined(path, props.key.node.path, existing.path);
    const resourceType = props.resourceType ?? DEFAULT_KEY_SYNC_RESOURCE_TYPE;
    if (!KEY_SYNC_RESOURCE_TYPES.includes(resourceType)) throw invalidResourceType(path, resourceType, NULL_PROVIDER !== undefined);
    if (resourceType === 'null_resource' && NULL_PROVIDER === undefined) throw nullResourceUnavailable(path, CORE_LABEL);
    const g = props.generation;
    let generation: string;
    if (typeof g === 'number' && Token.isUnresolved(g)) generation = Token.asString(g);
    else if (typeof g === 'string' && Token.isUnresolved(g)) generation = g;
    else {
      const bad = checkGeneration(g);
      if (bad) throw invalidGeneration(path, g, bad);
      generation = generationText(g);
    }
    const maxWait = props.maxWaitSeconds ?? DEFAULT_MAX_WAIT_SECONDS;
    if (!Token.isUnresolved(maxWait)) {
      const bad = checkMaxWaitSeconds(maxWait);
      if (bad) throw invalidMaxWaitSeconds(path, maxWait, bad);
    }
    this.key = props.key;
    this.generation = generation;
    this.maxWaitSeconds = maxWait;
    this.resourceType = resourceType;

    const cli = KeySyncCliAsset.of(this);
    const name = resourceNameOf(this, 'Rotation', 'rotation');
    const recordName = `${name}_requested_at`;
    cli.claimResourceName(name, path);
    cli.claimResourceName(recordName, path);

    const triggers: Record<string, string> = {
      rotation_hash: lazyString(() => this.rotationHash),
      key_id: this.key.keyId,
      generation,
    };
    this.resourceTriggers = triggers;

    // The time the generation was first requested: set by the plan that asks for it, and
    // kept (ignore_changes) until the key or the generation changes (triggers_replace).
    this.requestedAtRecord = new DataResource(this, 'RequestedAt', {
      input: { [REQUESTED_AT_FIELD]: Fn.plantimestamp() },
      triggersReplace: triggers,
      lifecycle: { ignoreChanges: ['input'] },
    });
    this.requestedAtRecord.overrideLogicalId(recordName);
    this.requestedAt = Token.asString(this.requestedAtRecord.interpolationForAttribute(`output.${REQUESTED_AT_FIELD}`));

    this.command = buildCommand(cli.path, this);
    const provisioners = [{ type: 'local-exec' as const, command: this.command }];
    const nullProvider = NULL_PROVIDER;
    if (resourceType === 'terraform_data' || nullProvider === undefined) {
      this.resource = new DataResource(this, 'Resource', { triggersReplace: triggers, provisioners });
    } else {
      cli.useNullProvider(nullProvider);
      this.resource = nullProvider.resource(this, 'Resource', { triggers, provisioners });
    }
    this.resource.overrideLogicalId(name);
    const resource: TerraformResource = this.resource;
    runAfter(resource, this.requestedAtRecord);
    linkRotation(this.key, { path, resource: this.resource, requestedAt: this.requestedAt });
  }

  /** Everything the rotation hash covers. */
  public get hashInput(): RotationHashInput {
    return { instanceId: this.key.instance.instanceId, keyId: this.key.keyId, generation: this.generation };
  }

  /**
   * The rotation hash: a literal SHA-256 hex digest when every input is known at synth,
   * otherwise the Terraform expression `sha256(jsonencode({...}))` over the same document
   * (see rotation-hash.ts), which Terraform evaluates to the same digest.
   */
  public get rotationHash(): string {
    const input = this.hashInput;
    if (![input.instanceId, input.keyId, input.generation].some((s) => Token.isUnresolved(s))) return literalRotationHash(input);
    const doc = rotationHashDocument(input);
    const lit = (s: string): string => (Token.isUnresolved(s) ? s : escapeHclQuoted(s));
    return Fn.sha256(Fn.jsonencode({ v: doc.v, kind: doc.kind, instanceId: lit(doc.instanceId), keyId: lit(doc.keyId), generation: lit(doc.generation) }));
  }
}

function isRootKeyLike(x: unknown): x is RootKey {
  return typeof x === 'object' && x !== null && Symbol.for('cdktf-key-sync.RootKey') in x;
}

function buildCommand(assetPath: string, rotation: KeyRotation): string {
  const key = rotation.key;
  const words: string[] = ['node', shellWord(assetPath), 'rotate', '--instance-id', shellWord(key.instance.instanceId), '--key-id', shellWord(key.keyId)];
  if (key.keyRing !== undefined) words.push('--key-ring', shellWord(key.keyRing));
  for (const f of key.instance.cliFlags) {
    words.push(f.flag);
    if (f.value !== undefined) words.push(shellWord(f.value));
  }
  words.push('--generation', shellWord(rotation.generation));
  // An RFC 3339 time (what plantimestamp() prints) holds no quote: quoted as it is.
  words.push('--requested-at', `'${rotation.requestedAt}'`);
  const maxWait = Token.isUnresolved(rotation.maxWaitSeconds) ? Token.asString(rotation.maxWaitSeconds) : String(rotation.maxWaitSeconds);
  words.push('--max-wait', shellWord(maxWait));
  return words.join(' ');
}
