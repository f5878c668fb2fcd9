/**
 * Waiting for a time gate (the sync gate, the rotation gate): sleeps on the client's
 * clock until the next attempt is due, reporting progress at least every interval.
 */
import type { Call, Engine } from './engine';
import type { GateNote } from './retry-policy';

export interface GateWait {
  readonly gate: 'sync' | 'rotation';
  readonly notBefore: Date;
  /** When the next attempt is due, epoch ms on OUR clock. */
  readonly untilMs: number;
  /** End of --max-wait, epoch ms on our clock. */
  readonly maxWaitEnd: number;
  /** The service's clock minus ours, ms. */
  readonly skewMs: number;
  readonly note?: GateNote;
}

/** Waits out `w`; throws AbortedError when the call's signal aborts. */
export async function waitForGate(engine: Engine, call: Call, w: GateWait, progressIntervalMs: number): Promise<void> {
  call.phase = 'gate-wait';
  let first = true;
  for (;;) {
    const now = engine.now();
    const remaining = w.untilMs - now;
    if (remaining <= 0) return;
    call.onProgress?.({
      kind: 'gate-wait',
      gate: w.gate,
      notBefore: w.notBefore,
      opensInMs: w.notBefore.getTime() - (now + w.skewMs),
      clockSkewMs: w.skewMs,
      remainingMs: remaining,
      maxWaitLeftMs: Math.max(0, w.maxWaitEnd - now),
      first,
      ...(w.note === undefined ? {} : { note: w.note }),
    });
    first = false;
    await engine.sleep(call, Math.min(remaining, progressIntervalMs));
  }
}
