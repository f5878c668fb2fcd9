/**
 * Pure retry and gate policy for the key-management calls. No I/O, no timers, no
 * `Date.now()`: every function takes the current time and a random source as inputs,
 * so the decisions are table-tested (test/unit/retry-policy.test.ts).
 *
 * - {@link classify} turns one attempt's outcome into a tagged decision:
 *   done / gated(notBefore) / retry(delayMs) / fail(reason).
 * - {@link backoffDelay}: exponential backoff from 1 s doubling to a 30 s cap with
 *   EQUAL jitter (half the exponential step fixed, half random). Equal rather than full
 *   jitter so a retry never fires almost at once (full jitter can draw ~0 ms and hammer a
 *   struggling service), while concurrent callers are still spread apart.
 * - {@link parseRetryAfter}: `Retry-After` as delta-seconds or HTTP-date.
 * - {@link parseGateTime}: the earliest sync time named in a 409 `REQ_TOO_EARLY_ERR`.
 * - {@link gateDecision}: wait for the gate or stop now (exit 75).
 * - {@link referenceTime}: whose clock the gate is measured on (the service's `Date`
 *   header when it disagrees with ours, else ours).
 */

/** Limits of the transient-failure retry budget (README "How retries and the time gate work"). */
export interface RetryLimits {
  /** Retries after the first attempt (network, 408, 429, 5xx but 501). */
  readonly maxRetries: number;
  /** No retry is scheduled to start later than this after the start of the call. */
  readonly budgetMs: number;
  /** First backoff step. */
  readonly baseDelayMs: number;
  /** Cap of one backoff step (a longer Retry-After is honoured if it fits the budget). */
  readonly maxDelayMs: number;
  /** Time limit of one HTTP attempt, headers and body. */
  readonly attemptTimeoutMs: number;
}

export const DEFAULT_RETRY_LIMITS: RetryLimits = {
  maxRetries: 4,
  budgetMs: 120_000,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  attemptTimeoutMs: 30_000,
};

/** Added to a gate time before retrying, for clock skew between us and the service. */
export const GATE_MARGIN_MS = 5_000;
/** Used when a 409 gate message names no (parseable) time: the gate is about an hour. */
export const GATE_FALLBACK_MS = 3_600_000;
/** A gate time further away than this is suspicious (reported, still treated as gated). */
export const GATE_FAR_FUTURE_MS = 86_400_000;
/** Longest minimum pause between two gated attempts (see {@link gateDecision}). */
export const GATE_MIN_RETRY_CAP_MS = 60_000;

/** The reason code of the sync time gate. */
export const GATE_REASON_CODE = 'REQ_TOO_EARLY_ERR';

/** What one attempt produced, as far as the policy cares. */
export type AttemptOutcome =
  | {
      readonly kind: 'response';
      readonly status: number;
      /** Raw `Retry-After` header, if any. */
      readonly retryAfter?: string;
      /** First reason code of a KMS error body, if any. */
      readonly reasonCode?: string;
      /** The error message (first reason's message, else errorMsg), if any. */
      readonly message?: string;
    }
  /** No HTTP response: refused, reset, DNS, TLS... `code` is e.g. ECONNREFUSED. */
  | { readonly kind: 'network'; readonly code?: string }
  /**
   * The attempt ran past its time limit: while connecting (TCP or TLS set-up: nothing
   * was sent) or after the request went out.
   */
  | { readonly kind: 'timeout'; readonly phase?: 'connect' | 'response' };

/** The state of the logical call that the decision depends on. */
export interface ClassifyContext {
  /** Current time, epoch ms. */
  readonly now: number;
  /** Start of the current retry budget window, epoch ms. */
  readonly budgetStart: number;
  /** Transient retries already spent in this window. */
  readonly retriesUsed: number;
  /** Whether a 401 may still be answered by refreshing the token once. */
  readonly canRefreshToken: boolean;
  /** Whether a 409 REQ_TOO_EARLY_ERR means "gated" (true for the sync call only). */
  readonly gateApplies: boolean;
  /** Uniform random number in [0, 1). */
  readonly random: () => number;
  readonly limits?: RetryLimits;
  /**
   * The service's current time (see {@link referenceTime}), epoch ms: the gate time in a
   * 409 and an HTTP-date `Retry-After` are on the service's clock. Default `now`.
   */
  readonly serverNow?: number;
  /**
   * Whether the request may be sent again when the service may already have acted on it
   * (default true). A rotation is not: then only outcomes that prove nothing was done
   * (see {@link provesNotActedOn}) are retried, and the rest come back `uncertain`.
   */
  readonly idempotent?: boolean;
}

/**
 * Network failures that happen before a request can reach the service: the connection
 * was never made. Anything later (a reset, a timeout after sending) may follow a request
 * the service has acted on.
 */
export const CONNECT_PHASE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT',
]);

/** Whether an outcome proves the service did not act on the request (safe to send again). */
export function provesNotActedOn(o: AttemptOutcome): boolean {
  if (o.kind === 'timeout') return o.phase === 'connect';
  if (o.kind === 'network') return o.code !== undefined && CONNECT_PHASE_CODES.has(o.code);
  // 429: refused for the rate, not processed. 401: refused before any action.
  return o.status === 429 || o.status === 401;
}

/**
 * Connection failures that the same request would meet again, whatever the wait: retrying
 * them only delays a message the user must act on. `tls`: the endpoint's certificate was
 * not accepted; `not-tls`: the endpoint answered, but not in TLS (an http port behind
 * https://; a port that resets or stays silent is a network failure, retried);
 * `headers`: the response headers exceed Node's limit (`--max-http-header-size`).
 */
export const PERMANENT_NETWORK_CODES: Readonly<Record<string, 'tls' | 'not-tls' | 'headers'>> = {
  CERT_HAS_EXPIRED: 'tls',
  CERT_NOT_YET_VALID: 'tls',
  CERT_REVOKED: 'tls',
  CERT_SIGNATURE_FAILURE: 'tls',
  CERT_UNTRUSTED: 'tls',
  CERT_REJECTED: 'tls',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls',
  UNABLE_TO_GET_ISSUER_CERT: 'tls',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'tls',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls',
  HOSTNAME_MISMATCH: 'tls',
  ERR_SSL_WRONG_VERSION_NUMBER: 'not-tls',
  // What OpenSSL 3.2+ says when a plain-HTTP answer arrives where a TLS record should.
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'not-tls',
  UND_ERR_HEADERS_OVERFLOW: 'headers',
};

/** Why a call failed; `transient` failures map to exit 75, the others to exit 1. */
export type FailReason =
  | { readonly kind: 'status'; readonly status: number; readonly transient: false }
  | { readonly kind: 'network'; readonly code: string; readonly problem: 'tls' | 'not-tls' | 'headers'; readonly transient: false }
  | { readonly kind: 'retries-exhausted'; readonly transient: true; readonly last: AttemptOutcome }
  | { readonly kind: 'deadline'; readonly transient: true; readonly last: AttemptOutcome };

export type Decision =
  | { readonly kind: 'done' }
  | { readonly kind: 'gated'; readonly notBefore: Date; readonly note?: GateNote }
  /**
   * Try again after `delayMs`. `refreshToken`: a 401, answered by refreshing the
   * token once; it does not spend the transient budget. `source` says where the delay
   * came from (for progress output).
   */
  | { readonly kind: 'retry'; readonly delayMs: number; readonly refreshToken: boolean; readonly source: 'backoff' | 'retry-after' | 'token-refresh' }
  | { readonly kind: 'fail'; readonly reason: FailReason }
  /** A non-idempotent request may or may not have been acted on: the caller must look before repeating it. */
  | { readonly kind: 'uncertain'; readonly last: AttemptOutcome };

/** Whether an HTTP status is transient (retried): 408, 429, and 5xx except 501. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501);
}

/** Classifies one attempt. Pure. */
export function classify(outcome: AttemptOutcome, ctx: ClassifyContext): Decision {
  const limits = ctx.limits ?? DEFAULT_RETRY_LIMITS;
  if (outcome.kind === 'response') {
    const { status } = outcome;
    if (status >= 200 && status <= 299) return { kind: 'done' };
    if (status === 409 && ctx.gateApplies && outcome.reasonCode === GATE_REASON_CODE) {
      const gate = parseGateTime(outcome.message, ctx.serverNow ?? ctx.now);
      return gate.note === undefined
        ? { kind: 'gated', notBefore: gate.notBefore }
        : { kind: 'gated', notBefore: gate.notBefore, note: gate.note };
    }
    if (status === 401 && ctx.canRefreshToken) {
      return { kind: 'retry', delayMs: 0, refreshToken: true, source: 'token-refresh' };
    }
    if (!isTransientStatus(status)) return { kind: 'fail', reason: { kind: 'status', status, transient: false } };
  }
  if (outcome.kind === 'network' && outcome.code !== undefined && Object.hasOwn(PERMANENT_NETWORK_CODES, outcome.code)) {
    return { kind: 'fail', reason: { kind: 'network', code: outcome.code, problem: PERMANENT_NETWORK_CODES[outcome.code]!, transient: false } };
  }
  // Transient: network error, timeout, 408, 429, 5xx but 501.
  if (ctx.idempotent === false && !provesNotActedOn(outcome)) return { kind: 'uncertain', last: outcome };
  if (ctx.retriesUsed >= limits.maxRetries) {
    return { kind: 'fail', reason: { kind: 'retries-exhausted', transient: true, last: outcome } };
  }
  const retryAfterMs = outcome.kind === 'response' ? parseRetryAfter(outcome.retryAfter, ctx.serverNow ?? ctx.now) : undefined;
  const backoff = backoffDelay(ctx.retriesUsed, ctx.random, limits);
  // Honour Retry-After: never retry sooner than it asks. Never sooner than our own
  // backoff either: a "Retry-After: 0" (or a date already past) repeated by a struggling
  // service must not turn into back-to-back retries. A Retry-After past the budget ends
  // the call below.
  const useRetryAfter = retryAfterMs !== undefined && retryAfterMs >= backoff;
  const delayMs = useRetryAfter ? retryAfterMs : backoff;
  if (ctx.now + delayMs > ctx.budgetStart + limits.budgetMs) {
    return { kind: 'fail', reason: { kind: 'deadline', transient: true, last: outcome } };
  }
  return { kind: 'retry', delayMs, refreshToken: false, source: useRetryAfter ? 'retry-after' : 'backoff' };
}

/**
 * Backoff before retry number `attempt + 1` (attempt 0 = the first retry), in ms:
 * exp = min(cap, base * 2^attempt); delay = exp/2 + random() * exp/2 (equal jitter).
 * With the defaults: [0.5,1) s, [1,2) s, [2,4) s, [4,8) s, [8,16) s, then [15,30) s.
 */
export function backoffDelay(attempt: number, random: () => number, limits: Pick<RetryLimits, 'baseDelayMs' | 'maxDelayMs'> = DEFAULT_RETRY_LIMITS): number {
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  // 2^n overflows to Infinity for large n; min() caps it either way.
  const exp = Math.min(limits.maxDelayMs, limits.baseDelayMs * 2 ** Math.min(n, 60));
  let r = random();
  if (!(r >= 0)) r = 0; // NaN or negative from a broken source
  if (r >= 1) r = 0.999_999;
  return Math.round(exp / 2 + r * (exp / 2));
}

const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;
/**
 * Longest Retry-After delay we report (a year): anything longer is clamped to it, so a
 * bigger value asks for more waiting, never less (past the retry budget either way).
 */
const RETRY_AFTER_MAX_SECONDS = 31_536_000;

/**
 * Parses `Retry-After` (RFC 9110 10.2.3): delta-seconds or an HTTP-date. Returns the
 * delay in ms from `now` (0 for a date in the past; at most a year, longer ones clamped),
 * or `undefined` for a missing or malformed header (then the caller uses its own backoff).
 */
export function parseRetryAfter(header: string | readonly string[] | undefined, now: number): number | undefined {
  const raw = Array.isArray(header) ? header[0] : header;
  if (typeof raw !== 'string') return undefined;
  const v = raw.trim();
  if (v === '') return undefined;
  // Digits of any length: a longer number is a longer wait (clamped), never garbage.
  if (/^\d+$/.test(v)) return v.length > 12 ? RETRY_AFTER_MAX_SECONDS * 1000 : Math.min(Number(v), RETRY_AFTER_MAX_SECONDS) * 1000;
  if (v.length > 64) return undefined;
  const at = parseHttpDate(v);
  if (at === undefined) return undefined;
  return Math.min(Math.max(0, at - now), RETRY_AFTER_MAX_SECONDS * 1000);
}

/** An HTTP-date (IMF-fixdate, RFC 850 or asctime form) as epoch ms, else `undefined`. */
export function parseHttpDate(header: string | readonly string[] | undefined): number | undefined {
  const raw = Array.isArray(header) ? header[0] : header;
  if (typeof raw !== 'string') return undefined;
  const v = raw.trim();
  if (v.length > 64 || !(IMF_FIXDATE.test(v) || RFC850_DATE.test(v) || ASCTIME_DATE.test(v))) return undefined;
  const at = Date.parse(ASCTIME_DATE.test(v) ? `${v} GMT` : v);
  return Number.isFinite(at) ? at : undefined;
}

/**
 * The service's `Date` is used as "now" only when it disagrees with ours by at least this
 * much: `Date` has a resolution of one second (and the answer took some time to arrive),
 * so a smaller difference is noise, and our clock is the more precise one.
 */
export const SERVER_CLOCK_MIN_SKEW_MS = 2_000;

/** Whose clock to measure the gate on, and how far the service's clock is ahead of ours. */
export interface ReferenceTime {
  /** "Now" on the reference clock, epoch ms. */
  readonly now: number;
  readonly source: 'server' | 'local';
  /** Service clock minus ours, ms (0 when the local clock is used). */
  readonly skewMs: number;
}

/**
 * Chooses the reference time for a gate: the time in a 409 `REQ_TOO_EARLY_ERR` is on the
 * service's clock, so how far away it is must be measured on that clock too. Uses the
 * response's `Date` header (server now) when present, parseable and at least
 * {@link SERVER_CLOCK_MIN_SKEW_MS} away from `localNow`; otherwise the local clock. Pure.
 * Waiting then happens on the local clock, shifted by `skewMs`; the gate margin
 * ({@link GATE_MARGIN_MS}) covers the second lost to the header's resolution.
 */
export function referenceTime(dateHeader: string | readonly string[] | undefined, localNow: number): ReferenceTime {
  const server = parseHttpDate(dateHeader);
  if (server === undefined || !Number.isFinite(localNow) || Math.abs(server - localNow) < SERVER_CLOCK_MIN_SKEW_MS) {
    return { now: localNow, source: 'local', skewMs: 0 };
  }
  return { now: server, source: 'server', skewMs: server - localNow };
}

/** Why a gate time is not simply the one the service named. */
export type GateNote = 'no-time-in-message' | 'time-in-the-past' | 'far-future';

export interface GateTime {
  readonly notBefore: Date;
  readonly note?: GateNote;
}

const GATE_TIME_RE = /until at least\s+(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})/;

/**
 * The earliest sync time named in a 409 `REQ_TOO_EARLY_ERR` message ("... until at least
 * 2026-11-28T21:38:43Z"). No parseable RFC 3339 time: now + 1 h. A time in the past
 * (clock skew, or a stale message): now + {@link GATE_MARGIN_MS}. A time more than a day
 * away: used as given, with a note so the output can say it is unusual.
 */
export function parseGateTime(message: string | undefined, now: number): GateTime {
  const m = typeof message === 'string' ? GATE_TIME_RE.exec(message.slice(0, 4096)) : null;
  const at = m === null ? NaN : rfc3339ToMs(m);
  if (!Number.isFinite(at)) return { notBefore: new Date(now + GATE_FALLBACK_MS), note: 'no-time-in-message' };
  if (at <= now) return { notBefore: new Date(now + GATE_MARGIN_MS), note: 'time-in-the-past' };
  if (at - now > GATE_FAR_FUTURE_MS) return { notBefore: new Date(at), note: 'far-future' };
  return { notBefore: new Date(at) };
}

function rfc3339ToMs(m: RegExpExecArray): number {
  const [, y, mo, d, h, mi, s, frac, zone] = m as unknown as [string, string, string, string, string, string, string, string | undefined, string];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return NaN;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return NaN;
  let offsetMin = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return NaN;
    offsetMin = sign * (oh * 60 + om);
  }
  const ms = frac === undefined ? 0 : Math.floor(Number(`0${frac}`) * 1000);
  // A leap second (:60) is read as the next second.
  return Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59)) + (second === 60 ? 1000 : 0) + ms - offsetMin * 60_000;
}

/** How long the service's sync gate lasts after a sync or a key change ("synced or changed within the last hour", as its 409 says). */
export const SYNC_GATE_PERIOD_MS = 3_600_000;
/**
 * Slack when matching a gate's start with a send time: gate times and Date headers have
 * second resolution, and a skew under 2 s is not corrected (SERVER_CLOCK_MIN_SKEW_MS).
 * Small, so that another pipeline's sync seconds earlier is not taken for ours.
 */
export const LOST_ANSWER_ALLOWANCE_MS = 5_000;

/**
 * Which of the given requests started a sync gate: the gate time the service named, less
 * the gate's period, falls while that request was out (from when it was sent to when it
 * ended, on the service's clock, with {@link LOST_ANSWER_ALLOWANCE_MS} either side). Then
 * the service accepted a sync (or a key change) at that moment, which re-notified the
 * key's associated resources. Only a time the service named counts: not our hour-long
 * fallback, nor a time in the past or far away. Returns the index of the request, or
 * undefined when none matches.
 */
export function gateStartedDuring(gate: GateTime, requests: Readonly<ArrayLike<{ readonly fromMs: number; readonly toMs: number }>>, periodMs: number = SYNC_GATE_PERIOD_MS): number | undefined {
  if (gate.note !== undefined) return undefined;
  const started = gate.notBefore.getTime() - periodMs;
  if (!Number.isFinite(started)) return undefined;
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i]!;
    if (started >= r.fromMs - LOST_ANSWER_ALLOWANCE_MS && started <= r.toMs + LOST_ANSWER_ALLOWANCE_MS) return i;
  }
  return undefined;
}

/** Inputs of {@link gateDecision}. */
export interface GateContext {
  readonly now: number;
  /** Start of the logical call, epoch ms (the --max-wait window starts here). */
  readonly start: number;
  /** --max-wait in ms; 0 means never wait for the gate. */
  readonly maxWaitMs: number;
  /** Gate waits already done in this call (spaces out repeated 409s). */
  readonly gateWaits: number;
  readonly marginMs?: number;
}

export type GateDecision =
  | { readonly kind: 'wait'; readonly untilMs: number }
  | { readonly kind: 'stop' };

/**
 * Wait for the gate when it opens (plus a skew margin) within --max-wait of the start of
 * the call; otherwise stop now. Repeated 409s after waiting are spaced at least
 * 5 s, 10 s, 20 s ... (capped at a minute) apart, so a service whose clock disagrees
 * with ours is never called in a tight loop.
 */
export function gateDecision(notBefore: Date, ctx: GateContext): GateDecision {
  const margin = ctx.marginMs ?? GATE_MARGIN_MS;
  const minPause = Math.min(GATE_MIN_RETRY_CAP_MS, margin * 2 ** Math.min(ctx.gateWaits, 20));
  const untilMs = Math.max(notBefore.getTime() + margin, ctx.now + minPause);
  if (ctx.maxWaitMs <= 0 || untilMs > ctx.start + ctx.maxWaitMs) return { kind: 'stop' };
  return { kind: 'wait', untilMs };
}
