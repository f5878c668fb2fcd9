/** Limits and defaults shared by the constructs and the CLI. Pure. */
import type { Invalid } from './ids';

/** Default of `--max-wait` and of KeySync's `maxWaitSeconds`, in seconds. */
export const DEFAULT_MAX_WAIT_SECONDS = 900;

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


/** Default grace period of `key-sync status`, hours: the time IBM gives services to respond to a key event. */
export const DEFAULT_GRACE_HOURS = 4;
/** The longest grace period accepted, hours (a week). */
export const MAX_GRACE_HOURS = 168;

/** Checks a grace period in hours: a number from 0 to {@link MAX_GRACE_HOURS} (fractions allowed). */
export function checkGraceHours(n: number): Invalid | undefined {
  if (Number.isFinite(n) && n >= 0 && n <= MAX_GRACE_HOURS) return undefined;
  return {
    problem: Number.isFinite(n) ? `is outside 0-${MAX_GRACE_HOURS}` : 'is not a number of hours',
    fix: `give the hours a resource may lag after a key change before it counts as behind, from 0 to ${MAX_GRACE_HOURS} (default ${DEFAULT_GRACE_HOURS}, the time IBM gives services to respond)`,
  };
}
