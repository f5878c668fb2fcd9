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
  /** A waiter takes the slot it is handed (true), or passes it on when it has gone (false). */
  private readonly waiters: Array<() => boolean> = [];

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
      const grant = (): boolean => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted === true) {
          reject(new AbortedError());
          return false;
        }
        resolve();
        return true;
      };
      this.waiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * The next waiter runs on a later turn of the event loop: by then the caller that
   * released has classified its answer and set any shared hold-off (a 429), which the
   * waiter then honours before sending. A waiter aborted in between passes the slot on.
   */
  release(): void {
    const next = this.waiters.shift();
    if (next === undefined) this.free++;
    else setImmediate(() => {
      if (!next()) this.release();
    });
  }
}

/**
 * The shared hold-off, per origin (a 429 from IAM does not hold back the key service):
 * no call sends to an origin before its time, and each remembers what set it.
 */
export class HoldOff<Cause> {
  private readonly until = new Map<string, { at: number; cause: Cause }>();

  constructor(private readonly now: () => number) {}

  /** No call sends to `origin` before now + ms (extends, never shortens). */
  extend(origin: string, ms: number, cause: Cause): void {
    const at = this.now() + ms;
    const cur = this.until.get(origin);
    if (cur === undefined || at > cur.at) this.until.set(origin, { at, cause });
  }

  /** How long a call must wait before sending to `origin` (0: it may send), and why. */
  pending(origin: string): { ms: number; cause?: Cause } {
    const cur = this.until.get(origin);
    if (cur === undefined) return { ms: 0 };
    const ms = cur.at - this.now();
    return ms > 0 ? { ms, cause: cur.cause } : { ms: 0 };
  }
}
