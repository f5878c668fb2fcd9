/**
 * Pure validators for what users declare: key ids and aliases, key rings, CRNs, wait
 * limits. No cdktf import here: the CLI uses the same rules before it sends a request.
 * Each validator returns `undefined` when the value is fine, or a short description of
 * the problem and the fix, so callers can build messages naming their own field.
 */

/** A problem found in a value, with the fix to suggest. */
export interface Invalid {
  readonly problem: string;
  readonly fix: string;
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

/** The ten fields of a CRN. */
export interface Crn {
  readonly cname: string;
  readonly ctype: string;
  readonly serviceName: string;
  readonly location: string;
  readonly scope: string;
  readonly serviceInstance: string;
  readonly resourceType: string;
  readonly resource: string;
}

const CRN_FIELD_RE = /^[a-z0-9][a-z0-9._-]*$/i;
const SCOPE_RE = /^([aops]\/[A-Za-z0-9._-]+)?$/;

/**
 * Parses `crn:v1:<cname>:<ctype>:<service>:<location>:<scope>:<service-instance>:<resource-type>:<resource>`.
 * The last two fields may be empty. Returns the fields or a problem.
 */
export function parseCrn(s: string): Crn | Invalid {
  const fix = 'use crn:v1:<cname>:<ctype>:<service>:<location>:<scope>:<service-instance>:<resource-type>:<resource>, e.g. crn:v1:bluemix:public:cloud-object-storage:global:a/<account>:<instance>:bucket:<name>';
  // Callers in plain JavaScript can pass anything; a TypeError from split() would hide the prop.
  if (typeof s !== 'string') return { problem: `is a ${s === null ? 'null' : typeof s}, not a string`, fix };
  if (s.length > 512) return { problem: `is ${s.length} characters long (at most 512)`, fix };
  if (/\s/.test(s)) return { problem: 'contains white space', fix };
  const parts = s.split(':');
  if (parts.length !== 10) return { problem: `has ${parts.length} colon-separated fields, not 10`, fix };
  const [crn, version, cname, ctype, serviceName, location, scope, serviceInstance, resourceType, resource] = parts;
  if (crn !== 'crn' || version !== 'v1') return { problem: 'does not start with "crn:v1:"', fix };
  const required: Array<[string, string]> = [['cname', cname], ['ctype', ctype], ['service name', serviceName], ['location', location]];
  for (const [name, value] of required) {
    if (!CRN_FIELD_RE.test(value)) return { problem: `has an empty or malformed ${name} field ("${value}")`, fix };
  }
  if (!SCOPE_RE.test(scope)) return { problem: `has a malformed scope field ("${scope}"; expected a/<account id> or empty)`, fix };
  for (const [name, value] of [['service-instance', serviceInstance], ['resource-type', resourceType]] as const) {
    if (value !== '' && !CRN_FIELD_RE.test(value)) return { problem: `has a malformed ${name} field ("${value}")`, fix };
  }
  if (/[\u0000-\u001f]/.test(resource)) return { problem: 'has control characters in its resource field', fix };
  return { cname, ctype, serviceName, location, scope, serviceInstance, resourceType, resource };
}

/** Whether a parse result is a problem. */
export function isInvalid(x: unknown): x is Invalid {
  return typeof x === 'object' && x !== null && 'problem' in x && 'fix' in x;
}

/** Checks a CRN; `undefined` when valid. */
export function checkCrn(s: string): Invalid | undefined {
  const r = parseCrn(s);
  return isInvalid(r) ? r : undefined;
}

/** The longest gate wait we accept: a gate is about an hour, so a day is absurd. */
export const MAX_WAIT_SECONDS_LIMIT = 86_400;

/** Checks a maximum wait in seconds: an integer from 0 to {@link MAX_WAIT_SECONDS_LIMIT}. */
export function checkMaxWaitSeconds(n: number): Invalid | undefined {
  if (Number.isInteger(n) && n >= 0 && n <= MAX_WAIT_SECONDS_LIMIT) return undefined;
  return {
    problem: Number.isInteger(n) ? `is outside 0-${MAX_WAIT_SECONDS_LIMIT}` : 'is not a whole number of seconds',
    fix: `give a whole number of seconds from 0 (never wait for the gate) to ${MAX_WAIT_SECONDS_LIMIT} (a day); the gate is usually about 3600`,
  };
}

const MARKER_MAX_LENGTH = 256;
const MARKER_FORBIDDEN_RE = /["\\$%{}]/;
const TRIGGER_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Checks a declared marker (a lifecycle marker such as the rotation date, or the value of
 * an extra trigger): up to 256 printable ASCII characters without `" \ $ % { }`, so it
 * reads well in `terraform plan` and needs no escaping in Terraform strings.
 */
export function checkMarker(s: string): Invalid | undefined {
  const fix = 'use a short readable marker of up to 256 printable ASCII characters without " \\ $ % { } (e.g. a date such as 2026-11-01 or a ticket id)';
  if (typeof s !== 'string') return { problem: 'is not a string', fix };
  if (s.length > MARKER_MAX_LENGTH) return { problem: `is ${s.length} characters long (at most ${MARKER_MAX_LENGTH})`, fix };
  if (!/^[\x20-\x7e]*$/.test(s)) return { problem: 'contains control or non-ASCII characters', fix };
  if (MARKER_FORBIDDEN_RE.test(s)) return { problem: 'contains one of " \\ $ % { }', fix };
  return undefined;
}

/** Checks the name of an extra trigger: 1-64 letters, digits, `_`, `-` or `.`. */
export function checkTriggerName(s: string): Invalid | undefined {
  if (TRIGGER_NAME_RE.test(s)) return undefined;
  return { problem: 'is not a valid trigger name', fix: 'name extra triggers with 1-64 letters, digits, "_", "-" or "." (literal strings, not tokens)' };
}
