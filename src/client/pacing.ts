/**
 * What the calls of one client share to pace themselves: a hold-off time (a 429 or 5xx
 * seen by one call delays the next attempt of every call, so a fleet slows down as a
 * whole instead of each worker hammering on) and, optionally, a bound on requests in
 * flight (a fleet's --concurrency).
 */
import { AbortedError } from './transport';

/** Sleeps `ms` (on the client's clock); rejects with AbortedError when `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Real sleep; rejects on abort. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new AbortedError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new AbortedError());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** A counting semaphore for request slots; a waiter leaves the queue when its signal aborts. */
export class RequestSlots {
  private free: number;
  private readonly waiters: Array<() => void> = [];

  constructor(size: number) {
    this.free = Math.max(1, Math.floor(size));
  }

  acquire(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(new AbortedError());
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new AbortedError());
      };
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * The next waiter runs on a later turn of the event loop: by then the caller that
   * released has classified its answer and set any shared hold-off (a 429), which the
   * waiter then honours before sending.
   */
  release(): void {
    const next = this.waiters.shift();
    if (next === undefined) this.free++;
    else setImmediate(next);
  }
}

/** The shared hold-off. */
export class HoldOff {
  private until = 0;

  constructor(private readonly now: () => number, private readonly sleep: Sleep) {}

  /** No call sends before now + ms (extends, never shortens). */
  extend(ms: number): void {
    this.until = Math.max(this.until, this.now() + ms);
  }

  /** Sleeps until the hold-off has passed; the ms slept. */
  async wait(signal: AbortSignal | undefined): Promise<number> {
    const wait = this.until - this.now();
    if (wait <= 0) return 0;
    await this.sleep(wait, signal);
    return wait;
  }
}
