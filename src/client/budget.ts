/**
 * The transient-retry budget of one logical call, as one small state machine with named
 * transitions (no fields written from outside). Pure: every method takes the time.
 *
 * - A call's retries may start only within `budgetMs` of the window's start (classify()
 *   decides with {@link RetryBudget.windowStart}); each attempt is cut at that deadline
 *   too, but gets at least a second.
 * - A sync opens a fresh window after each gate wait (the gate wait has its own bound).
 * - A listing shares one window across its pages: a page may retry only for what earlier
 *   pages' retrying (failed attempts and the waits between them) left, a healthy page
 *   costs nothing, and each page's first attempt gets the full per-attempt timeout.
 */
import type { RetryLimits } from './retry-policy';

export class RetryBudget {
  private start: number;
  /** Start of the window that bounds the next first attempt (a page's start). */
  private firstAttemptStart: number;
  private retries = 0;
  /** Listing: what retrying cost on earlier pages, ms. */
  private spentMs = 0;
  private pageStart: number;
  private lastAttemptAt: number;

  constructor(readonly limits: RetryLimits, now: number) {
    this.start = now;
    this.firstAttemptStart = now;
    this.pageStart = now;
    this.lastAttemptAt = now;
  }

  /** Start of the current window (classify's `budgetStart`). */
  get windowStart(): number {
    return this.start;
  }

  /** Transient retries spent in the current window (classify's `retriesUsed`). */
  get retriesUsed(): number {
    return this.retries;
  }

  /** Time limit of an attempt starting at `now` (and records that it started). */
  attemptTimeoutMs(now: number): number {
    this.lastAttemptAt = now;
    const from = this.retries === 0 ? this.firstAttemptStart : this.start;
    const left = from + this.limits.budgetMs - now;
    // A configured per-attempt timeout shorter than a second is honoured as it is.
    return Math.min(this.limits.attemptTimeoutMs, Math.max(1_000, left));
  }

  /** A transient failure is about to be retried. */
  spendRetry(): void {
    this.retries++;
  }

  /** A fresh window (after a gate wait). */
  restart(now: number): void {
    this.start = now;
    this.firstAttemptStart = now;
    this.retries = 0;
  }

  /** A listing page starts: the window carries what earlier pages spent retrying. */
  startPage(now: number): void {
    this.pageStart = now;
    this.start = now - this.spentMs;
    this.firstAttemptStart = now;
    this.retries = 0;
  }

  /** The page succeeded: what it spent before its successful attempt counts as retrying. */
  endPage(): void {
    this.spentMs += Math.max(0, this.lastAttemptAt - this.pageStart);
  }
}
