/**
 * A test that cannot run here is reported as skipped in jest's count, with its reason
 * printed, never as passed: decide at collection time and pick `describe`/`test` or their
 * `.skip`, instead of returning early from inside a test.
 */

/** What {@link skipUnless} hands out: the real `describe`/`test`, or their `.skip`. */
export interface Maybe {
  readonly describe: jest.Describe;
  readonly test: jest.It;
  /** Whether the guarded tests run. */
  readonly runs: boolean;
}

/**
 * `describe`/`test` when `condition` holds; otherwise `describe.skip`/`test.skip`, after
 * printing `SKIPPED <what>: <why>` once.
 */
export function skipUnless(condition: boolean, what: string, why: string): Maybe {
  if (condition) return { describe, test, runs: true };
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED ${what}: ${why}`);
  return { describe: describe.skip, test: test.skip, runs: false };
}
