/**
 * Test hooks read from the environment: KEY_SYNC_TIME_SCALE (every wait runs faster, the
 * clock skips ahead to match) and KEY_SYNC_ATTEMPT_TIMEOUT_MS. Pure, except the clock
 * wrapper, which wraps the clock and sleep it is given.
 */
import type { Sleep } from '../client/pacing';
import { printable, usage, type Env } from './flags';

export function testHooks(env: Env): { timeScale: number; attemptTimeoutMs?: number } {
  let timeScale = 1;
  const rawScale = env['KEY_SYNC_TIME_SCALE'];
  if (rawScale !== undefined && rawScale !== '') {
    timeScale = Number(rawScale);
    if (!Number.isFinite(timeScale) || timeScale <= 0 || timeScale > 1) {
      usage(`KEY_SYNC_TIME_SCALE "${printable(rawScale)}" is not a number in (0, 1]; it is a test hook, unset it in real use`);
    }
  }
  const rawTimeout = env['KEY_SYNC_ATTEMPT_TIMEOUT_MS'];
  if (rawTimeout !== undefined && rawTimeout !== '') {
    const ms = Number(rawTimeout);
    if (!/^\d+$/.test(rawTimeout) || ms < 1 || ms > 600_000) {
      usage(`KEY_SYNC_ATTEMPT_TIMEOUT_MS "${printable(rawTimeout)}" is not a whole number of ms from 1 to 600000; it is a test hook, unset it in real use`);
    }
    return { timeScale, attemptTimeoutMs: ms };
  }
  return { timeScale };
}

/**
 * Real sleep scaled by the KEY_SYNC_TIME_SCALE test hook: `sleep(ms)` waits ms * scale and
 * then moves this clock forward by the time skipped, so deadlines and gate waits stay
 * consistent while a test runs an hour-long wait in milliseconds. Scale 1: plain time.
 */
export function scaledTime(scale: number, realNow: () => number, realSleep: Sleep): { now: () => number; sleep: Sleep } {
  if (scale === 1) return { now: realNow, sleep: realSleep };
  let skipped = 0;
  return {
    now: () => realNow() + skipped,
    sleep: async (ms, signal) => {
      await realSleep(ms * scale, signal);
      skipped += ms - ms * scale;
    },
  };
}
