/** Earliest time the clock accepts: 1970-01-01T00:00:00Z. */
export const MIN_CLOCK_MS = 0;
/**
 * Latest time the clock accepts: 9999-12-31T23:59:59.999Z. RFC 3339 has four-digit years,
 * and the gates (at most 366 days) added to it stay far inside what `Date` can print.
 */
export const MAX_CLOCK_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Why `ms` is not a time the clock can take, or undefined when it can. */
export function clockRangeProblem(ms: number): string | undefined {
  if (!Number.isFinite(ms)) return 'not a finite number';
  if (ms < MIN_CLOCK_MS || ms > MAX_CLOCK_MS) return 'outside 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z';
  return undefined;
}

/**
 * The emulator's clock. It follows real time until a test sets it; setting it freezes it
 * at that instant, so a one-hour gate can be crossed in a millisecond with `advance`.
 */
export class EmulatorClock {
  private frozenAt: number | undefined;
  private offsetMs = 0;

  /** @param start freeze the clock at this instant; omit to follow real time. */
  constructor(start?: number | Date, private readonly realNow: () => number = Date.now) {
    if (start !== undefined) this.set(start);
  }

  /** Current emulator time, epoch milliseconds. */
  now(): number {
    return this.frozenAt ?? this.realNow() + this.offsetMs;
  }

  /** Freezes the clock at `time` (epoch ms or Date). */
  set(time: number | Date): void {
    const ms = typeof time === 'number' ? time : time.getTime();
    const problem = clockRangeProblem(ms);
    if (problem !== undefined) throw new RangeError(`EmulatorClock.set: not a valid time: ${String(time)} (${problem})`);
    this.frozenAt = ms;
  }

  /**
   * Moves the clock forward by `ms` (negative moves it back). A frozen clock stays
   * frozen at the new instant; a real-time clock keeps running, shifted by `ms`.
   */
  advance(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`EmulatorClock.advance: not a finite number: ${String(ms)}`);
    const problem = clockRangeProblem(this.now() + ms);
    if (problem !== undefined) throw new RangeError(`EmulatorClock.advance: ${String(ms)} ms would move the clock ${problem}`);
    if (this.frozenAt !== undefined) this.frozenAt += ms;
    else this.offsetMs += ms;
  }

  /** Returns to real time (dropping any freeze and offset). */
  useRealTime(): void {
    this.frozenAt = undefined;
    this.offsetMs = 0;
  }

  /** True while the clock is frozen. */
  get frozen(): boolean {
    return this.frozenAt !== undefined;
  }
}

/** RFC 3339 UTC without fractional seconds, rounded UP to the next whole second. */
export function rfc3339CeilSeconds(ms: number): string {
  const ceil = Math.ceil(ms / 1000) * 1000;
  return new Date(ceil).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
