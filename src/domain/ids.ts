/**
 * Key ids, aliases, key rings and instance ids: the rules the constructs check at synth
 * and the CLI checks before it sends a request. Pure. Each check returns `undefined` when
 * the value is fine, or the problem and the fix, so callers name their own field.
 */

/** A problem found in a value, with the fix to suggest. */
export interface Invalid {
  readonly problem: string;
  readonly fix: string;
}

/** Whether a check result is a problem. */
export function isInvalid(x: unknown): x is Invalid {
  return typeof x === 'object' && x !== null && 'problem' in x && 'fix' in x;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ALIAS_RE = /^[A-Za-z0-9_-]{2,90}$/;
const KEY_RING_RE = /^[A-Za-z0-9-]{2,100}$/;

/** Words Key Protect reserves and refuses as aliases. */
export const RESERVED_ALIASES: readonly string[] = [
  'allowed_ip', 'key', 'keys', 'metadata', 'policy', 'policies', 'registration',
  'registrations', 'ring', 'rings', 'rotate', 'wrap', 'unwrap', 'rewrap', 'version', 'versions',
];

/** Whether `s` is a UUID (any version, case-insensitive). */
export function isUuid(s: string): boolean {
  return typeof s === 'string' && UUID_RE.test(s);
}

/** Whether `s` is a valid Key Protect / HPCS key alias. */
export function isKeyAlias(s: string): boolean {
  return typeof s === 'string' && ALIAS_RE.test(s) && !isUuid(s) && !RESERVED_ALIASES.includes(s.toLowerCase());
}

/** Checks a key id: a UUID or a valid alias. */
export function checkKeyId(s: string): Invalid | undefined {
  if (isUuid(s) || isKeyAlias(s)) return undefined;
  if (typeof s === 'string' && RESERVED_ALIASES.includes(s.toLowerCase())) {
    return { problem: 'is a word the key service reserves and cannot be an alias', fix: 'use the key\'s UUID or another alias' };
  }
  return {
    problem: 'is neither a key UUID nor a valid alias',
    fix: 'use the key\'s UUID (e.g. 4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84) or an alias of 2-90 letters, digits, "_" or "-"',
  };
}

/** Checks a key ring id (2-100 letters, digits or "-"). */
export function checkKeyRing(s: string): Invalid | undefined {
  if (typeof s === 'string' && KEY_RING_RE.test(s)) return undefined;
  return { problem: 'is not a valid key ring id', fix: 'use 2-100 letters, digits or "-" (the default ring is "default")' };
}

/** Checks an instance id: a UUID. */
export function checkInstanceId(s: string): Invalid | undefined {
  if (isUuid(s)) return undefined;
  return { problem: 'is not an instance UUID', fix: 'use the service instance GUID, e.g. from `ibmcloud resource service-instance <name> --id`' };
}

