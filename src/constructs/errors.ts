/**
 * Synth-time errors of the construct library. One factory per mistake a user can make;
 * every message has the same shape so it is easy to read in a CI log and to grep:
 *
 *     <construct path>: <prop> "<value>" <problem>. Fix: <fix>
 *
 * No cdktf import here: factories take the construct path as a string.
 */
import type { Invalid } from '../domain';

/** An invalid declaration found at synth. Carries the parts of its message as fields. */
export class KeySyncConfigError extends Error {
  public override readonly name = 'KeySyncConfigError';

  /**
   * @param path the construct path (or factory name, e.g. `KmsInstance.keyProtect`)
   * @param prop the prop that holds the bad value
   * @param value the bad value, as the user gave it
   * @param problem what is wrong with it
   * @param fix what to do instead
   */
  public constructor(
    public readonly path: string,
    public readonly prop: string,
    public readonly value: string,
    public readonly problem: string,
    public readonly fix: string,
  ) {
    super(`${path}: ${prop} "${value}" ${problem}. Fix: ${fix}`);
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function fromInvalid(path: string, prop: string, value: unknown, invalid: Invalid): KeySyncConfigError {
  return new KeySyncConfigError(path, prop, show(value), invalid.problem, invalid.fix);
}

/** `instanceId` is not a UUID. */
export function invalidInstanceId(path: string, value: string, invalid: Invalid): KeySyncConfigError {
  return fromInvalid(path, 'instanceId', value, invalid);
}

/** A region the service does not have, and no explicit endpoint. */
export function unknownRegion(path: string, value: string, serviceLabel: string, known: readonly string[]): KeySyncConfigError {
  return new KeySyncConfigError(
    path,
    'region',
    value,
    `is not a known ${serviceLabel} region`,
    `use one of ${known.join(', ')}; or, for an endpoint not in this list, use KmsInstance.fromEndpoint({ instanceId, endpoint })`,
  );
}

/** An HPCS port outside 8000-19999. */
export function invalidHpcsPort(path: string, value: number, min: number, max: number): KeySyncConfigError {
  return new KeySyncConfigError(
    path,
    'port',
    show(value),
    `is outside the HPCS key-management port range ${min}-${max}`,
    `use the port of your instance's key-management endpoint (shown in the HPCS instance's overview, e.g. 9730), or omit port to use the <instanceId>.api.<region>.hs-crypto.appdomain.cloud host`,
  );
}

/** A bad `endpoint` URL (not a URL, plain http to a non-loopback host, credentials in it, ...). */
export function invalidEndpoint(path: string, value: string, problem: string, fix: string): KeySyncConfigError {
  return new KeySyncConfigError(path, 'endpoint', value, problem, fix);
}

/** A `service` that is neither `key-protect` nor `hpcs`. */
export function invalidService(path: string, value: unknown): KeySyncConfigError {
  return new KeySyncConfigError(path, 'service', show(value), 'is not a key-management service', 'use "key-protect" or "hpcs"');
}

/** `keyId` is neither a UUID nor a valid alias. */
export function invalidKeyId(path: string, value: string, invalid: Invalid): KeySyncConfigError {
  return fromInvalid(path, 'keyId', value, invalid);
}

/** `keyRing` is not a valid key ring id. */
export function invalidKeyRing(path: string, value: string, invalid: Invalid): KeySyncConfigError {
  return fromInvalid(path, 'keyRing', value, invalid);
}

/** `lifecycle.state` is not one of the declared states. */
export function invalidLifecycleState(path: string, value: unknown, allowed: readonly string[]): KeySyncConfigError {
  return new KeySyncConfigError(
    path,
    'lifecycle.state',
    show(value),
    'is not a key state this library knows',
    `use one of ${allowed.map((s) => `"${s}"`).join(', ')}, or omit it`,
  );
}

/** A lifecycle marker or extra trigger value that cannot be a short readable marker. */
export function invalidMarker(path: string, prop: string, value: unknown, invalid: Invalid): KeySyncConfigError {
  return fromInvalid(path, prop, value, invalid);
}

/** An extra trigger name that is not a short identifier. */
export function invalidTriggerName(path: string, value: string, invalid: Invalid): KeySyncConfigError {
  return fromInvalid(path, 'triggers', value, invalid);
}

/** `resourceCrn` of an association is malformed. */
export function invalidCrn(path: string, value: string, invalid: Invalid): KeySyncConfigError {
  return fromInvalid(path, 'resourceCrn', value, invalid);
}

/** The same CRN associated twice with one key. */
export function duplicateCrn(path: string, value: string, existingPath: string): KeySyncConfigError {
  return new KeySyncConfigError(
    path,
    'resourceCrn',
    value,
    `is already associated with this key by ${existingPath}`,
    `remove one of the two associations (${existingPath} or ${path})`,
  );
}

/** `maxWaitSeconds` is negative, fractional or absurdly large. */
export function invalidMaxWaitSeconds(path: string, value: number, invalid: Invalid): KeySyncConfigError {
  return fromInvalid(path, 'maxWaitSeconds', value, invalid);
}

/** `key.sync()` called a second time. */
export function syncAlreadyDefined(keyPath: string, existingPath: string): KeySyncConfigError {
  return new KeySyncConfigError(
    keyPath,
    'sync()',
    'Sync',
    `is already declared (${existingPath}); a key has at most one sync declared through key.sync()`,
    'call key.sync() once and keep the KeySync it returns (or read it back as key.node.findChild("Sync"))',
  );
}

/** The `key` prop of a KeySync (or a KeyRotation) is not a RootKey. */
export function notARootKey(path: string, value: unknown, what: 'sync' | 'rotate' = 'sync'): KeySyncConfigError {
  const example = what === 'sync' ? 'new KeySync(this, "Sync", { key })' : 'new KeyRotation(this, "Rotation", { key, generation: "2026-Q4" })';
  return new KeySyncConfigError(path, 'key', show(value), 'is not a RootKey', `pass the RootKey construct to ${what}, e.g. ${example}`);
}

/** A rotation `generation` that is not a usable marker or whole number. */
export function invalidGeneration(path: string, value: unknown, invalid: Invalid): KeySyncConfigError {
  return fromInvalid(path, 'generation', value, invalid);
}

/** A second declared rotation of the same key. */
export function rotationAlreadyDefined(path: string, keyPath: string, existingPath: string): KeySyncConfigError {
  return new KeySyncConfigError(
    path,
    'key',
    keyPath,
    `already has a declared rotation (${existingPath}); a key has at most one, whose generation you change to rotate it again`,
    `keep one KeyRotation for the key and change its generation (e.g. '2026-Q4' to '2027-Q1'); remove ${path}`,
  );
}

/** Two KeySyncs would get the same Terraform resource name. */
export function resourceNameClash(path: string, value: string, existingPath: string): KeySyncConfigError {
  return new KeySyncConfigError(
    path,
    'resource name',
    value,
    `is already used by the sync resource of ${existingPath}`,
    'give one of the two constructs (or one of their parents) a different id',
  );
}

/** The bundled CLI is not where the library expects it. */
export function cliBundleMissing(path: string, value: string): KeySyncConfigError {
  return new KeySyncConfigError(
    path,
    'CLI bundle',
    value,
    'does not exist, so it cannot be shipped into the stack as an asset',
    'run `npm run build:cli` in the key-sync package (the published package ships dist/key-sync.cjs prebuilt)',
  );
}

/** Something other than our CLI asset already holds the singleton id under the stack. */
export function cliAssetIdTaken(path: string, value: string): KeySyncConfigError {
  return new KeySyncConfigError(
    path,
    'construct id',
    value,
    'is already used by a construct that is not the key-sync CLI asset',
    `rename your construct: KeySync reserves the id "${value}" directly under each stack`,
  );
}

/** More than one default (un-aliased) null provider in a stack. */
export function duplicateNullProvider(path: string, value: string, otherPath: string): KeySyncConfigError {
  return new KeySyncConfigError(
    path,
    'provider',
    value,
    `is a second default null provider (KeySync declared ${otherPath})`,
    'declare your NullProvider before the first KeySync (KeySync then reuses it) or give yours an alias',
  );
}

const TERRAFORM_DATA = "'terraform_data' (built into Terraform >= 1.4 and OpenTofu >= 1.6; no provider download)";

/**
 * A `resourceType` other than `null_resource` or `terraform_data`. `nullResource` says
 * whether the core has a null provider binding (cdktf yes, cdktn no).
 */
export function invalidResourceType(path: string, value: unknown, nullResource: boolean): KeySyncConfigError {
  return new KeySyncConfigError(
    path,
    'resourceType',
    show(value),
    'is not a resource type KeySync can create',
    nullResource ? `use 'null_resource' (the default; needs the hashicorp/null provider) or ${TERRAFORM_DATA}` : `use ${TERRAFORM_DATA}, the default`,
  );
}

/** `resourceType: 'null_resource'` on a core without a null provider binding (cdktn). */
export function nullResourceUnavailable(path: string, coreLabel: string): KeySyncConfigError {
  return new KeySyncConfigError(
    path,
    'resourceType',
    'null_resource',
    `is not available with ${coreLabel}: it has no null provider binding (@cdktf/provider-null would load a second core)`,
    `use ${TERRAFORM_DATA}, the default here; it carries the same triggers and command. A stack already applied with null_resource moves each sync to a new address (terraform_data.<name>), so each key syncs once more`,
  );
}
