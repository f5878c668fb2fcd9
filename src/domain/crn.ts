/** CRNs of associated resources (`crn:v1:...`, ten fields). Pure. */
import { isInvalid, type Invalid } from './ids';

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

/** Checks a CRN; `undefined` when valid. */
export function checkCrn(s: string): Invalid | undefined {
  const r = parseCrn(s);
  return isInvalid(r) ? r : undefined;
}

