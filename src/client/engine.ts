/**
 * The attempt engine: every HTTP exchange of the client (the IAM token exchange, a sync,
 * a rotation, a key read, each page of a listing) runs through {@link Engine.run}, so
 * they all get the same deadlines, bounds, pacing, token handling and sanitizing. The
 * loop asks the pure policy (retry-policy.ts) what to do after each attempt and returns
 * a tagged outcome; it writes no sentences.
 */
import { parseErrorBody, type ParsedErrorBody } from './errors';
import type { CallPhase, Failure, LastOutcome, ServerSaid, Service } from './failure';
import { HoldOff, type RequestSlots, type Sleep } from './pacing';
import { classify, parseRetryAfter, provesNotActedOn, referenceTime, type AttemptOutcome, type GateNote, type RetryLimits } from './retry-policy';
import type { RetryBudget } from './budget';
import type { Sanitizer } from './sanitize';
import { AbortedError, isAborted, type AttemptResult, type Headers, type HttpRequest, type Transport } from './transport';
import { displayUrl } from '../domain/endpoints';

/** What an exchange is, for progress output. */
export type ExchangeName = 'sync' | 'rotate' | 'key' | 'registrations' | 'versions' | 'iam';

/** Progress of a call, for output while it waits. */
export type ProgressEvent =
  | { readonly kind: 'attempt'; readonly attempt: number; readonly what: ExchangeName }
  | {
      readonly kind: 'backoff';
      readonly what: ExchangeName;
      readonly endpoint: string;
      readonly delayMs: number;
      /** The attempt that failed (1-based) and the most this call makes. */
      readonly attempt: number;
      readonly maxAttempts: number;
      readonly cause: LastOutcome;
    }
  /** A rotate request went unanswered (timeout, reset, 5xx): the key is read to see whether it rotated. */
  | { readonly kind: 'rotation-check'; readonly last: LastOutcome }
  | {
      readonly kind: 'gate-wait';
      readonly gate: 'sync' | 'rotation';
      readonly notBefore: Date;
      /** How far away notBefore is, ms, on the service's clock (print this, not notBefore - now). */
      readonly opensInMs: number;
      /** Service clock minus ours, ms (0: our clock was used). */
      readonly clockSkewMs: number;
      readonly remainingMs: number;
      /** Time left of --max-wait, ms. */
      readonly maxWaitLeftMs: number;
      readonly first: boolean;
      readonly note?: GateNote;
    };

/** Supplies the bearer token of key-service requests (iam-tokens.ts). */
export interface TokenSource {
  /** A token, or why there is none (then the call ends with that failure). */
  token(call: Call): Promise<{ readonly ok: true; readonly token: string } | { readonly ok: false; readonly failure: Failure; readonly remembered: boolean }>;
  /** Whether a refused token can be replaced by a new one (an API key can; a static token cannot). */
  readonly canRefresh: boolean;
  /** Whether a token is at hand without asking IAM (then there is nothing to overlap with). */
  hasToken(now: number): boolean;
  /** Drops `refused` after a 401 (a token obtained since stays: the 401 may be a late one). */
  invalidate(refused: string): void;
}

/** One HTTP exchange to run. */
export interface Exchange {
  readonly what: ExchangeName;
  readonly service: Service;
  readonly request: HttpRequest;
  /** Key-service requests carry a bearer token from here; IAM's token request none. */
  readonly auth?: TokenSource;
  /** Whether the request may be repeated after the service may have acted on it. */
  readonly idempotent: boolean;
  /** 409 REQ_TOO_EARLY_ERR is the sync time gate (a sync only). */
  readonly syncGate: boolean;
}

/** A 2xx, with the service's clock as its Date header tells it. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly bytes: number;
  /** The service's clock minus ours, ms (0 when they agree within the header's resolution). */
  readonly skewMs: number;
}

export type ExchangeOutcome =
  | { readonly kind: 'done'; readonly answer: Answer }
  | { readonly kind: 'gated'; readonly notBefore: Date; readonly note?: GateNote; readonly said: ServerSaid; readonly skewMs: number }
  /** Not idempotent, and the service may or may not have acted on it: look before repeating. */
  | { readonly kind: 'uncertain'; readonly last: LastOutcome }
  | { readonly kind: 'fail'; readonly failure: Failure; readonly remembered: boolean };

/** State of one logical call (which may span a token exchange, several pages, gate waits). */
export class Call {
  /** Requests sent to the key service. */
  attempts = 0;
  /** Requests sent to IAM. */
  iamAttempts = 0;
  waitedMs = 0;
  phase: CallPhase = 'starting';
  lastStatus: number | undefined;
  refreshedAfter401 = false;
  /** Gate waits so far (they space out repeated 409s: see gateDecision). */
  gateWaits = 0;
  /** When (our clock) the latest key-service request went out. */
  lastSentAt: number | undefined;
  /**
   * The sync requests of this call that the service may have accepted without their answer
   * reaching us (a reset, a timeout after sending, a 5xx): when each went out and when it
   * ended, on our clock. Cleared by a gate that none of them started (they were refused).
   */
  unanswered: Array<{ readonly sentAt: number; readonly endedAt: number; readonly last: LastOutcome }> = [];
  readonly start: number;

  constructor(
    readonly correlationId: string,
    readonly budget: RetryBudget,
    now: number,
    readonly signal: AbortSignal | undefined,
    readonly onProgress: ((e: ProgressEvent) => void) | undefined,
  ) {
    this.start = now;
  }
}

/** How long a refusal of a whole endpoint (its TLS) is answered from memory. */
export const REFUSAL_MEMORY_MS = 5 * 60_000;

export interface EngineDeps {
  readonly transport: Transport;
  readonly now: () => number;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly limits: RetryLimits;
  readonly sanitizer: Sanitizer;
  readonly slots?: RequestSlots;
}

export class Engine {
  readonly holdOff: HoldOff<LastOutcome>;
  /** Origins whose connection was refused for good (TLS), until when. */
  private readonly refusedOrigins = new Map<string, { readonly failure: Failure; readonly until: number }>();

  constructor(private readonly deps: EngineDeps) {
    this.holdOff = new HoldOff<LastOutcome>(deps.now);
  }

  get now(): () => number {
    return this.deps.now;
  }

  get limits(): RetryLimits {
    return this.deps.limits;
  }

  /** Sleeps on the call's signal, counting the time as waited. */
  async sleep(call: Call, ms: number): Promise<void> {
    await this.deps.sleep(ms, call.signal);
    call.waitedMs += ms;
  }

  /** The service's words in an error body, sanitized. */
  said(parsed: ParsedErrorBody | undefined): ServerSaid {
    if (parsed === undefined) return {};
    const s = this.deps.sanitizer;
    // A body cut at its size cap may end in a piece of a secret the service echoed.
    const cut = parsed.truncated;
    const reasonCode = s.text(parsed.reasonCode, 100, cut);
    const message = s.text(parsed.message, undefined, cut);
    const requestId = s.text(parsed.requestId, 100, cut);
    return {
      ...(reasonCode === undefined ? {} : { reasonCode }),
      ...(message === undefined ? {} : { message }),
      ...(requestId === undefined ? {} : { requestId }),
    };
  }

  /**
   * Runs one exchange until the policy says done, gated, uncertain or fail. Transient
   * failures are retried within the call's budget; a 401 is answered by one token refresh.
   * @throws AbortedError when the call's signal aborts
   */
  async run(ex: Exchange, call: Call): Promise<ExchangeOutcome> {
    const endpoint = displayUrl(ex.request.origin);
    for (;;) {
      const refused = this.refusedOrigins.get(ex.request.origin);
      if (refused !== undefined && this.deps.now() < refused.until) return { kind: 'fail', failure: refused.failure, remembered: true };
      let headers = ex.request.headers;
      let sentToken: string | undefined;
      if (ex.auth !== undefined) {
        // Set the key service's connection up while IAM answers (a TCP and TLS round trip
        // saved on a slow network).
        if (!ex.auth.hasToken(this.deps.now())) this.deps.transport.preconnect(ex.request.origin);
        const prev = call.phase;
        call.phase = 'token';
        const t = await ex.auth.token(call);
        call.phase = prev;
        if (!t.ok) return { kind: 'fail', failure: t.failure, remembered: t.remembered };
        sentToken = t.token;
        headers = { ...headers, authorization: `Bearer ${t.token}` };
      }
      const result = await this.send({ ...ex.request, headers }, ex, call);
      if (result === 'refused-meanwhile') continue;
      if (result.kind === 'held-past-budget') {
        // Another call's backoff holds this origin past this call's budget: retry later now.
        return { kind: 'fail', remembered: false, failure: { kind: 'gave-up', service: ex.service, endpoint, why: 'deadline', attempts: ex.service === 'iam' ? call.iamAttempts : call.attempts, budgetMs: this.deps.limits.budgetMs, last: result.cause, reachedKeyService: call.attempts > 0 } };
      }
      const localNow = this.deps.now();
      const ref = referenceTime(result.kind === 'response' ? headerOf(result.headers, 'date') : undefined, localNow);
      let parsed: ParsedErrorBody | undefined;
      let outcome: AttemptOutcome;
      if (result.kind === 'response') {
        if (ex.service === 'key-service') call.lastStatus = result.status;
        const ok = result.status >= 200 && result.status <= 299;
        if (ok && !(ex.request.readSuccessBody && (result.readFailed || result.truncated))) {
          return { kind: 'done', answer: { status: result.status, headers: result.headers, text: result.text, bytes: result.bytes, skewMs: ref.skewMs } };
        }
        if (ok && result.truncated) {
          // Past the cap: the same request would get the same answer. Not retried.
          const what = ex.what === 'iam' ? 'token' : ex.what === 'versions' ? 'versions' : ex.what === 'key' ? 'key' : 'registrations';
          return { kind: 'fail', remembered: false, failure: { kind: 'bad-response', service: ex.service, endpoint, status: result.status, what, detail: 'cut-at-cap' } };
        }
        if (ok) {
          // A 2xx body we need that did not arrive in time is a timeout; cut short, a network failure.
          outcome = result.timedOut ? { kind: 'timeout', phase: 'response' } : { kind: 'network', code: 'BODY_READ_FAILED' };
        } else {
          parsed = parseErrorBody(result.text, headerOf(result.headers, 'content-type'), result.truncated);
          const retryAfter = headerOf(result.headers, 'retry-after');
          // A 409 to a sync is decided by its body (the gate or a permanent conflict); one
          // cut short with no reason code in what arrived cannot tell which: ask again (a
          // repeated sync is harmless) rather than call it permanent.
          const unreadable409 = ex.syncGate && result.status === 409 && parsed.reasonCode === undefined && (parsed.truncated || result.readFailed);
          outcome = unreadable409 ? { kind: 'network', code: 'BODY_READ_FAILED' } : {
            kind: 'response',
            status: result.status,
            ...(retryAfter === undefined ? {} : { retryAfter }),
            ...(parsed.reasonCode === undefined ? {} : { reasonCode: parsed.reasonCode }),
            ...(parsed.message === undefined ? {} : { message: parsed.message }),
          };
        }
      } else {
        outcome = result.kind === 'timeout' ? { kind: 'timeout', phase: result.phase } : result.code === undefined ? { kind: 'network' } : { kind: 'network', code: result.code };
      }
      const d = classify(outcome, {
        now: localNow,
        serverNow: ref.now,
        budgetStart: call.budget.windowStart,
        retriesUsed: call.budget.retriesUsed,
        canRefreshToken: ex.auth?.canRefresh === true && !call.refreshedAfter401,
        gateApplies: ex.syncGate,
        idempotent: ex.idempotent,
        random: this.deps.random,
        limits: this.deps.limits,
      });
      switch (d.kind) {
        case 'done':
          // classify() says done only for 2xx, which returned above.
          throw new Error('internal: classify() said done for a non-2xx outcome');
        case 'gated':
          return { kind: 'gated', notBefore: d.notBefore, ...(d.note === undefined ? {} : { note: d.note }), said: this.said(parsed), skewMs: ref.skewMs };
        case 'uncertain':
          return { kind: 'uncertain', last: lastOf(d.last) };
        case 'fail': {
          const r = d.reason;
          const said = this.said(parsed);
          switch (r.kind) {
            case 'status':
              return {
                kind: 'fail',
                remembered: false,
                failure: { kind: 'refused', service: ex.service, endpoint, status: r.status, afterTokenRefresh: call.refreshedAfter401, staticToken: ex.auth !== undefined && !ex.auth.canRefresh, ...said },
              };
            case 'network': {
              const failure: Failure = { kind: 'unusable-connection', service: ex.service, endpoint, problem: r.problem, code: r.code };
              // A refused certificate or a non-TLS port is the endpoint's, not this request's.
              if (r.problem !== 'headers') this.refusedOrigins.set(ex.request.origin, { failure, until: this.deps.now() + REFUSAL_MEMORY_MS });
              return { kind: 'fail', remembered: false, failure };
            }
            case 'retries-exhausted':
            case 'deadline':
              return {
                kind: 'fail',
                remembered: false,
                failure: {
                  kind: 'gave-up',
                  service: ex.service,
                  endpoint,
                  why: r.kind === 'deadline' ? 'deadline' : 'attempts',
                  attempts: ex.service === 'iam' ? call.iamAttempts : call.attempts,
                  budgetMs: this.deps.limits.budgetMs,
                  last: lastOf(r.last),
                  reachedKeyService: call.attempts > 0,
                  ...said,
                },
              };
            default:
              return assertNever(r);
          }
        }
        case 'retry':
          if (d.refreshToken) {
            call.refreshedAfter401 = true;
            if (sentToken !== undefined) ex.auth?.invalidate(sentToken);
            continue;
          }
          call.budget.spendRetry();
          // A sync retried after an answer that does not prove it was refused: the retry's
          // gate may show that it was accepted (kms-client.ts, gateStartedSince).
          // (A 4xx, even one whose body was cut short, is a refusal.)
          const refusal = result.kind === 'response' && result.status >= 400 && result.status <= 499;
          if (ex.syncGate && !refusal && !provesNotActedOn(outcome) && call.lastSentAt !== undefined) call.unanswered.push({ sentAt: call.lastSentAt, endedAt: localNow, last: lastOf(outcome) });
          call.onProgress?.({
            kind: 'backoff',
            what: ex.what,
            endpoint,
            delayMs: d.delayMs,
            attempt: ex.service === 'iam' ? call.iamAttempts : call.attempts,
            maxAttempts: this.deps.limits.maxRetries + 1,
            cause: lastOf(outcome),
          });
          this.holdOff.extend(ex.request.origin, d.delayMs, lastOf(outcome));
          break;
        default:
          return assertNever(d);
      }
    }
  }

  /**
   * One attempt: the shared hold-off, a request slot, then the transport. While this call
   * waited, another may have found the endpoint unusable: then nothing is sent.
   */
  private async send(req: HttpRequest, ex: Exchange, call: Call): Promise<AttemptResult | 'refused-meanwhile' | { readonly kind: 'held-past-budget'; readonly cause: LastOutcome }> {
    const held = await this.waitHoldOff(ex, call);
    if (held !== undefined) return held;
    const slots = this.deps.slots;
    if (slots !== undefined) await slots.acquire(call.signal);
    try {
      // A hold-off may have started while this call waited for its slot.
      if (slots !== undefined) {
        const again = await this.waitHoldOff(ex, call);
        if (again !== undefined) return again;
      }
      if (isAborted(call.signal)) throw new AbortedError();
      const refused = this.refusedOrigins.get(req.origin);
      if (refused !== undefined && this.deps.now() < refused.until) return 'refused-meanwhile';
      // Interrupted during an IAM attempt: "getting a token"; during a key-service one: the
      // request may or may not have been acted on.
      call.phase = ex.service === 'iam' ? 'token' : 'request';
      if (ex.service === 'iam') call.iamAttempts++;
      else {
        call.attempts++;
        call.lastSentAt = this.deps.now();
      }
      call.onProgress?.({ kind: 'attempt', attempt: ex.service === 'iam' ? call.iamAttempts : call.attempts, what: ex.what });
      const timeout = call.budget.attemptTimeoutMs(this.deps.now());
      return await this.deps.transport.attempt(req, timeout, call.signal);
    } finally {
      slots?.release();
    }
  }

  /**
   * Sleeps out the origin's hold-off, unless it ends past this call's retry budget (then
   * the call stops: retry later). Meanwhile the phase says what an interruption reports:
   * backing off, or, for IAM, still getting a token.
   */
  private async waitHoldOff(ex: Exchange, call: Call): Promise<{ readonly kind: 'held-past-budget'; readonly cause: LastOutcome } | undefined> {
    const { ms, cause } = this.holdOff.pending(ex.request.origin);
    if (ms <= 0) return undefined;
    if (cause !== undefined && this.deps.now() + ms > call.budget.windowStart + this.deps.limits.budgetMs) return { kind: 'held-past-budget', cause };
    const prev = call.phase;
    call.phase = ex.service === 'iam' ? 'token' : 'backoff';
    await this.deps.sleep(ms, call.signal);
    call.waitedMs += ms;
    call.phase = prev;
    return undefined;
  }
}

export function headerOf(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** An attempt outcome as a message needs it. */
export function lastOf(o: AttemptOutcome): LastOutcome {
  if (o.kind === 'timeout') return { kind: 'timeout', phase: o.phase ?? 'response' };
  if (o.kind === 'network') return o.code === undefined ? { kind: 'network' } : { kind: 'network', code: o.code };
  // "with Retry-After" only for a header that says something (garbage is ignored).
  return { kind: 'status', status: o.status, retryAfter: parseRetryAfter(o.retryAfter, 0) !== undefined };
}

/** For exhaustive switches: a new union member is a compile error here. */
export function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
