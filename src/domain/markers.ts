/** Declared markers (lifecycle markers, extra trigger values) and trigger names. Pure. */
import type { Invalid } from './ids';

const MARKER_MAX_LENGTH = 256;
const MARKER_FORBIDDEN_RE = /["\\$%{}]/;
const TRIGGER_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Checks a declared marker (a lifecycle marker such as the rotation date, or the value of
 * an extra trigger): 1 to 256 printable ASCII characters (not only blanks) without `" \ $ % { }`, so it
 * reads well in `terraform plan` and needs no escaping in Terraform strings.
 */
export function checkMarker(s: string): Invalid | undefined {
  const fix = 'use a short readable marker of 1 to 256 printable ASCII characters (not only blanks) without " \\ $ % { } (e.g. a date such as 2026-11-01 or a ticket id)';
  if (typeof s !== 'string') return { problem: 'is not a string', fix };
  // An empty marker reads as "not declared" in a plan, and bumping it from '' is easy to miss.
  if (s.trim() === '') return { problem: 'is empty', fix: `${fix}; omit the marker to declare none` };
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
