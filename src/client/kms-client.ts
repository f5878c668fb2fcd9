/**
 * The key-management client: the ONLY module that does HTTP I/O. Everything it depends on
 * is injected (undici dispatcher, clock, sleep, random, UUIDs), and every decision is
 * delegated to the pure policy in retry-policy.ts.
 *
 * One client serves any number of calls (keys) against one instance endpoint: they share
 * the dispatcher (one keep-alive pool per origin), the token cache (one IAM exchange in
 * flight at a time) and a hold-off time, so a 429 or 5xx seen by one call delays the
 * next attempt of every call (a fleet sync slows down as a whole instead of every worker
 * hammering on).
 *
 * Methods never throw for HTTP outcomes: they return tagged results.
 */
import type { Dispatcher } from 'undici';
import { randomUUID as nodeRandomUUID } from 'node:crypto';
import {
  BODY_CAP_BYTES,
  KeySyncError,
  codeForStatus,
  createRedactor,
  parseErrorBody,
  safeServerText,
  type KeySyncErrorCode,
  type ParsedErrorBody,
} from './errors';
import { IAM_GRANT_TYPE, IAM_TOKEN_PATH, TokenCache, secretsOf, tokenFromIamResponse, type Credentials } from './iam';
import { checkEndpointUrl, displayUrl } from '../domain/endpoints';
import {
  DEFAULT_RETRY_LIMITS,
  classify,
  gateDecision,
  referenceTime,
  type AttemptOutcome,
  type FailReason,
  type GateNote,
  type RetryLimits,
} from './retry-policy';

/** Sleeps `ms` (on the client's clock); rejects when `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface KmsClientOptions {
  /** Key-management base URL, e.g. https://us-south.kms.cloud.ibm.com (checked again here). */
  readonly baseUrl: string;
  readonly credentials: Credentials;
  /** Default: one keep-alive `Agent` owned (and closed) by this client. */
  readonly dispatcher?: Dispatcher;
  /** Current time, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Default: a real `setTimeout` sleep. */
  readonly sleep?: Sleep;
  /** Uniform in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  readonly randomUUID?: () => string;
  readonly limits?: Partial<RetryLimits>;
  /** How often a gate wait reports progress (ms on the client's clock). Default 15 s. */
  readonly progressIntervalMs?: number;
  readonly userAgent?: string;
  /**
   * At most this many HTTP requests in flight at once across every call of this client
   * (a fleet sync's --concurrency). A request waits for a free slot before its attempt
   * timeout starts; backoffs and gate waits hold no slot. Default: no limit.
   */
  readonly maxConcurrentRequests?: number;
}

/** Progress of a call, for output while it waits. */
export type ProgressEvent =
  | { readonly kind: 'attempt'; readonly attempt: number; readonly what: 'sync' | 'registrations' | 'iam' }
  | {
      readonly kind: 'backoff';
      readonly delayMs: number;
      /** Retries spent so far in this budget window, including this one. */
      readonly retry: number;
      readonly maxRetries: number;
      /** What went wrong, e.g. "503", "429 (Retry-After)", "connection refused (ECONNREFUSED)". */
      readonly cause: string;
      readonly what: 'sync' | 'registrations' | 'iam';
    }
  | {
      readonly kind: 'gate-wait';
      readonly notBefore: Date;
      /**
       * How far away notBefore is, ms, measured on the service's clock (its `Date`
       * header) when that disagrees with ours; print this rather than notBefore - now.
       */
      readonly opensInMs: number;
      /** Service clock minus ours, ms (0: our clock was used). */
      readonly clockSkewMs: number;
      /** When the next attempt is due, epoch ms on OUR clock (notBefore + margin - skew). */
      readonly retryAt: number;
      readonly remainingMs: number;
      /** Time left of --max-wait, ms. */
      readonly maxWaitLeftMs: number;
      readonly first: boolean;
      readonly note?: GateNote;
    };

export interface SyncOptions {
  readonly instanceId: string;
  readonly keyRing?: string;
  /** --max-wait: how long the call may wait for the time gate, from its start; 0 = never. */
  readonly maxWaitSeconds: number;
  readonly onProgress?: (e: ProgressEvent) => void;
  readonly signal?: AbortSignal;
}

/** Where a call was when it ended (told to the user on SIGINT/SIGTERM). */
export type CallPhase = 'starting' | 'token' | 'request' | 'backoff' | 'gate-wait' | 'done';

export interface SyncResult {
  readonly outcome: 'synced' | 'gated' | 'failed';
  /** Last HTTP status from the key API, if any. */
  readonly status?: number;
  readonly correlationId: string;
  /** Requests sent to the key API (IAM exchanges not counted). */
  readonly attempts: number;
  /** When gated: the earliest time the service allows the sync. */
  readonly notBefore?: Date;
  readonly gateNote?: GateNote;
  /** Time spent waiting (backoff and gate), ms on the client's clock. */
  readonly waitedMs: number;
  /** One or two sentences; redacted; no secrets, ever. */
  readonly message: string;
  /** Set unless synced. */
  readonly code?: KeySyncErrorCode;
  readonly reasonCode?: string;
  /** Not done yet, try again later (exit 75) as opposed to a permanent failure (exit 1). */
  readonly retryLater: boolean;
  /** Where the call was when it ended (relevant for KS_ABORTED). */
  readonly phase: CallPhase;
}

export interface Registration {
  readonly keyId?: string;
  readonly keyName?: string;
  readonly resourceCrn?: string;
  readonly createdBy?: string;
  readonly creationDate?: string;
  readonly updatedBy?: string;
  readonly lastUpdated?: string;
  readonly description?: string;
  readonly preventKeyDeletion?: boolean;
  readonly keyVersion?: { readonly id?: string; readonly creationDate?: string };
  readonly [extra: string]: unknown;
}

export interface ListRegistrationsOptions {
  readonly instanceId: string;
  /** One key's registrations; omit for all keys of the instance. */
  readonly keyId?: string;
  readonly keyRing?: string;
  /** `urlEncodedResourceCRNQuery`: a CRN, `*` wildcards allowed (we URL-encode it). */
  readonly crnQuery?: string;
  readonly preventKeyDeletion?: boolean;
  /** Page size, 1-5000. Default 200. */
  readonly pageSize?: number;
  readonly onProgress?: (e: ProgressEvent) => void;
  readonly signal?: AbortSignal;
}

export interface RegistrationsResult {
  readonly outcome: 'listed' | 'failed';
  readonly registrations: readonly Registration[];
  readonly totalCount?: number;
  readonly pages: number;
  readonly status?: number;
  readonly correlationId: string;
  readonly attempts: number;
  readonly waitedMs: number;
  readonly message: string;
  readonly code?: KeySyncErrorCode;
  readonly retryLater: boolean;
  readonly phase: CallPhase;
}

/** Largest page the API accepts. */
export const MAX_PAGE_SIZE = 5000;
/** Cap of a 2xx JSON body (a 5000-item registrations page is a few MiB). */
const SUCCESS_BODY_CAP_BYTES = 32 * 1024 * 1024;
/** Stop paging after this many pages whatever the server says (a lying server). */
const MAX_PAGES = 10_000;

/** Thrown internally when the caller's signal aborts. */
class Aborted extends Error {}

/** A sent request's raw result. */
type Sent =
  | { readonly kind: 'response'; readonly status: number; readonly headers: Record<string, string | string[] | undefined>; readonly text: string; readonly truncated: boolean; readonly readFailed: boolean }
  | { readonly kind: 'network'; readonly code?: string; readonly detail: string }
  | { readonly kind: 'timeout' };

interface RequestSpec {
  readonly what: 'sync' | 'registrations' | 'iam';
  readonly origin: string;
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Record<string, string>;
  readonly body?: string;
  /** Body needed on 2xx (GET): a failed or capped read is then an error. */
  readonly needBody: boolean;
}

/** Mutable state of one logical call. */
class Call {
  readonly start: number;
  /** Start of the retry budget window (classify's deadline). */
  budgetStart: number;
  /** Start of the window that bounds one attempt's timeout (see sendNow). */
  attemptWindowStart: number;
  /** When the latest attempt was sent (our clock). */
  lastAttemptStart: number;
  retriesUsed = 0;
  attempts = 0;
  refreshedAfter401 = false;
  gateWaits = 0;
  waitedMs = 0;
  phase: CallPhase = 'starting';
  lastStatus: number | undefined;
  constructor(readonly correlationId: string, now: number, readonly signal: AbortSignal | undefined, readonly onProgress: ((e: ProgressEvent) => void) | undefined) {
    this.start = now;
    this.budgetStart = now;
    this.attemptWindowStart = now;
    this.lastAttemptStart = now;
  }
}

/** Outcome of one request through the retry loop. */
type Completed =
  | { readonly kind: 'done'; readonly sent: Extract<Sent, { kind: 'response' }> }
  /** `skewMs`: the service's clock minus ours at the answer (see referenceTime). */
  | { readonly kind: 'gated'; readonly notBefore: Date; readonly note?: GateNote; readonly parsed: ParsedErrorBody; readonly skewMs: number }
  /** `remembered`: an earlier call's answer (see endpointRefusal), no request made. */
  | { readonly kind: 'fail'; readonly reason: FailReason; readonly outcome: AttemptOutcome; readonly parsed?: ParsedErrorBody; readonly remembered?: boolean };

/** A counting semaphore for request slots; a waiter leaves the queue when its signal aborts. */
class Slots {
  private free: number;
  private readonly waiters: Array<() => void> = [];
  constructor(size: number) {
    this.free = size;
  }

  acquire(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(new Aborted('aborted'));
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Aborted('aborted'));
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

/**
 * undici, loaded when a client first needs its own dispatcher. This module is exported from
 * the package root, which every user's `cdktf synth` imports for the constructs; undici's
 * index took ~100 ms of that synth's start-up and a synth never sends a request.
 */
/* eslint-disable-next-line @typescript-eslint/no-require-imports */
const loadUndici = (): typeof import('undici') => require('undici') as typeof import('undici');

/** Real sleep; rejects on abort. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new Aborted('aborted'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new Aborted('aborted'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export class KmsClient {
  private readonly base: URL;
  private readonly basePath: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly now: () => number;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly uuid: () => string;
  private readonly limits: RetryLimits;
  private readonly progressIntervalMs: number;
  private readonly userAgent: string;
  private readonly tokens: TokenCache;
  /** Redacts the API key, every token we obtained, and credential-shaped text. */
  readonly redact: ReturnType<typeof createRedactor>;
  private tokenInFlight: Promise<string> | undefined;
  /**
   * Permanent refusals that every call would meet again (IAM refused the credentials; the
   * endpoint's TLS was not accepted), remembered for REFUSAL_MEMORY_MS: the other keys of
   * a fleet get the same answer without a request each (a bad API key is not sent to IAM
   * once per key), and a long-lived client tries again after that.
   */
  private iamRefusal: { readonly error: KeySyncError; readonly until: number } | undefined;
  private endpointRefusal: { readonly fail: Extract<Completed, { kind: 'fail' }>; readonly until: number } | undefined;
  /** Shared backoff: no call sends before this (epoch ms). */
  private holdOffUntil = 0;
  /** Request slots (maxConcurrentRequests); undefined: unlimited. */
  private readonly slots: Slots | undefined;

  constructor(opts: KmsClientOptions) {
    const check = checkEndpointUrl(opts.baseUrl);
    if (!check.ok) throw new KeySyncError('KS_USAGE', `endpoint ${opts.baseUrl} ${check.problem}; ${check.fix}`);
    if (opts.credentials.kind === 'api-key') {
      const iam = checkEndpointUrl(opts.credentials.iamBaseUrl);
      if (!iam.ok) throw new KeySyncError('KS_USAGE', `IAM endpoint ${opts.credentials.iamBaseUrl} ${iam.problem}; ${iam.fix}`);
    }
    this.base = new URL(check.url);
    this.basePath = this.base.pathname.replace(/\/+$/, '');
    this.ownsDispatcher = opts.dispatcher === undefined;
    this.dispatcher = opts.dispatcher ?? new (loadUndici().Agent)({ keepAliveTimeout: 10_000, connect: { timeout: 30_000 } });
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? realSleep;
    this.random = opts.random ?? Math.random;
    this.uuid = opts.randomUUID ?? nodeRandomUUID;
    this.limits = { ...DEFAULT_RETRY_LIMITS, ...opts.limits };
    this.progressIntervalMs = opts.progressIntervalMs ?? 15_000;
    this.userAgent = opts.userAgent ?? 'key-sync';
    this.tokens = new TokenCache(opts.credentials);
    this.redact = createRedactor(secretsOf(opts.credentials));
    this.slots = opts.maxConcurrentRequests === undefined ? undefined : new Slots(Math.max(1, Math.floor(opts.maxConcurrentRequests)));
  }

  /** Closes the dispatcher if this client created it (lets the process exit). */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.destroy().catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------
  // Sync

  /** Asks the service to re-notify a key's associated resources. Never throws for HTTP outcomes. */
  async sync(keyId: string, opts: SyncOptions): Promise<SyncResult> {
    const call = new Call(this.uuid(), this.now(), opts.signal, opts.onProgress);
    const maxWaitMs = Math.max(0, opts.maxWaitSeconds) * 1000;
    const spec: RequestSpec = {
      what: 'sync',
      origin: this.base.origin,
      path: `${this.basePath}/api/v2/keys/${encodeURIComponent(keyId)}/actions/sync`,
      method: 'POST',
      headers: this.kmsHeaders(opts.instanceId, opts.keyRing, call.correlationId),
      needBody: false,
    };
    const base = (): Pick<SyncResult, 'correlationId' | 'attempts' | 'waitedMs' | 'phase'> & { status?: number } => ({
      correlationId: call.correlationId,
      attempts: call.attempts,
      waitedMs: call.waitedMs,
      phase: call.phase,
      ...(call.lastStatus === undefined ? {} : { status: call.lastStatus }),
    });
    let lastGate: { notBefore: Date; note?: GateNote } | undefined;
    try {
      for (;;) {
        const r = await this.complete(spec, call, true);
        if (r.kind === 'done') {
          call.phase = 'done';
          return {
            ...base(),
            outcome: 'synced',
            retryLater: false,
            message: `sync accepted (${r.sent.status}): the service is re-notifying the key's associated resources`,
          };
        }
        if (r.kind === 'fail') {
          return { ...base(), outcome: 'failed', ...this.failure(r, call, { action: 'sync', keyId, instanceId: opts.instanceId, keyRing: opts.keyRing }) };
        }
        // Gated.
        lastGate = r.note === undefined ? { notBefore: r.notBefore } : { notBefore: r.notBefore, note: r.note };
        // The gate time is on the service's clock: decide on that clock (shifting our
        // start by the skew), then wait on ours.
        const skew = r.skewMs;
        const serverNow = this.now() + skew;
        const d = gateDecision(r.notBefore, { now: serverNow, start: call.start + skew, maxWaitMs, gateWaits: call.gateWaits });
        if (d.kind === 'stop') {
          return {
            ...base(),
            outcome: 'gated',
            notBefore: r.notBefore,
            ...(r.note === undefined ? {} : { gateNote: r.note }),
            code: 'KS_GATED',
            reasonCode: 'REQ_TOO_EARLY_ERR',
            retryLater: true,
            message: gateStopMessage(r.notBefore, serverNow, opts.maxWaitSeconds, r.note, skew),
          };
        }
        call.gateWaits++;
        call.phase = 'gate-wait';
        await this.waitForGate(call, r.notBefore, d.untilMs - skew, call.start + maxWaitMs, r.note, skew);
        // A fresh transient budget after each gate wait (the gate wait is bounded on its own).
        call.budgetStart = this.now();
        call.attemptWindowStart = call.budgetStart;
        call.retriesUsed = 0;
      }
    } catch (e) {
      if (e instanceof Aborted || (isAborted(call.signal) && !(e instanceof KeySyncError))) {
        return {
          ...base(),
          outcome: 'failed',
          code: 'KS_ABORTED',
          retryLater: true,
          ...(lastGate === undefined ? {} : { notBefore: lastGate.notBefore }),
          message: abortedMessage(call, lastGate?.notBefore),
        };
      }
      if (e instanceof KeySyncError) {
        return {
          ...base(),
          outcome: 'failed',
          code: e.code,
          retryLater: e.retryLater,
          ...(e.reasonCode === undefined ? {} : { reasonCode: e.reasonCode }),
          message: this.redact(e.message),
        };
      }
      throw e;
    }
  }

  // -------------------------------------------------------------------------------------
  // Registrations

  /** Lists registrations (one key's or all keys'), paging through every page. */
  async listRegistrations(opts: ListRegistrationsOptions): Promise<RegistrationsResult> {
    const call = new Call(this.uuid(), this.now(), opts.signal, opts.onProgress);
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(opts.pageSize ?? 200)));
    const path = opts.keyId === undefined
      ? `${this.basePath}/api/v2/keys/registrations`
      : `${this.basePath}/api/v2/keys/${encodeURIComponent(opts.keyId)}/registrations`;
    const headers = this.kmsHeaders(opts.instanceId, opts.keyRing, call.correlationId);
    const all: Registration[] = [];
    let totalCount: number | undefined;
    let pages = 0;
    let retrySpentMs = 0;
    const base = (): Pick<RegistrationsResult, 'correlationId' | 'attempts' | 'waitedMs' | 'phase' | 'pages' | 'registrations'> & { status?: number; totalCount?: number } => ({
      correlationId: call.correlationId,
      attempts: call.attempts,
      waitedMs: call.waitedMs,
      phase: call.phase,
      pages,
      registrations: all,
      ...(call.lastStatus === undefined ? {} : { status: call.lastStatus }),
      ...(totalCount === undefined ? {} : { totalCount }),
    });
    try {
      for (let offset = 0; pages < MAX_PAGES; ) {
        let query = `limit=${pageSize}&offset=${offset}&totalCount=true`;
        if (opts.preventKeyDeletion !== undefined) query += `&preventKeyDeletion=${String(opts.preventKeyDeletion)}`;
        if (opts.crnQuery !== undefined) query += `&urlEncodedResourceCRNQuery=${encodeURIComponent(opts.crnQuery)}`;
        // One retry budget for the whole listing (its overall deadline): each page may retry
        // for what the budget has left after what retrying already cost on earlier pages
        // (failed attempts and the waits between them), so a flaky service cannot take a
        // fresh budget per page. Healthy pages cost nothing from it, and each page's
        // first attempt gets the full per-attempt timeout (its retries stay inside the
        // budget), so a long healthy listing is never cut. The correlation id is the listing's.
        const pageStart = this.now();
        call.budgetStart = pageStart - retrySpentMs;
        call.attemptWindowStart = pageStart;
        call.retriesUsed = 0;
        const r = await this.complete({ what: 'registrations', origin: this.base.origin, path: `${path}?${query}`, method: 'GET', headers, needBody: true }, call, false);
        // What this page spent before its successful attempt counts as retrying: failed
        // attempts and the waits after them (and, slightly conservative, a token exchange
        // or a wait for a request slot, if one fell here).
        if (r.kind === 'done') retrySpentMs += Math.max(0, call.lastAttemptStart - pageStart);
        if (r.kind !== 'done') {
          if (r.kind === 'gated') throw new KeySyncError('KS_CONFLICT', 'unexpected 409 REQ_TOO_EARLY_ERR on a registrations listing', { status: 409 });
          return { ...base(), outcome: 'failed', ...this.failure(r, call, { action: 'list', keyId: opts.keyId, instanceId: opts.instanceId, keyRing: opts.keyRing }) };
        }
        pages++;
        const page = parseRegistrationsPage(r.sent.text);
        if (page === undefined) {
          throw new KeySyncError('KS_BAD_RESPONSE', `the registrations listing answered ${r.sent.status} with a body that is not a registrations collection${r.sent.truncated ? ' (cut at the size cap)' : ''}`, { status: r.sent.status });
        }
        all.push(...page.resources);
        if (page.totalCount !== undefined) totalCount = page.totalCount;
        offset += page.resources.length;
        if (page.resources.length < pageSize) break;
        if (totalCount !== undefined && offset >= totalCount) break;
      }
      call.phase = 'done';
      return {
        ...base(),
        outcome: 'listed',
        retryLater: false,
        message: `${all.length} registration${all.length === 1 ? '' : 's'}${opts.keyId === undefined ? ' in the instance' : ' for the key'}`,
      };
    } catch (e) {
      if (e instanceof Aborted || (isAborted(call.signal) && !(e instanceof KeySyncError))) {
        return { ...base(), outcome: 'failed', code: 'KS_ABORTED', retryLater: true, message: listingAbortedMessage(call) };
      }
      if (e instanceof KeySyncError) {
        return { ...base(), outcome: 'failed', code: e.code, retryLater: e.retryLater, message: this.redact(e.message) };
      }
      throw e;
    }
  }

  // -------------------------------------------------------------------------------------
  // The retry loop

  private kmsHeaders(instanceId: string, keyRing: string | undefined, correlationId: string): Record<string, string> {
    const h: Record<string, string> = {
      accept: 'application/json',
      'bluemix-instance': instanceId,
      'correlation-id': correlationId,
      'user-agent': this.userAgent,
    };
    if (keyRing !== undefined) h['x-kms-key-ring'] = keyRing;
    return h;
  }

  /**
   * Sends `spec` until the policy says done, gated or fail: token first (IAM retries share
   * the call's budget), then the request, 401 answered by one token refresh.
   */
  private async complete(spec: RequestSpec, call: Call, gateApplies: boolean): Promise<Completed> {
    for (;;) {
      if (this.endpointRefusal !== undefined && this.now() < this.endpointRefusal.until) return { ...this.endpointRefusal.fail, remembered: true };
      call.phase = 'token';
      const token = await this.token(call);
      await this.waitHoldOff(call);
      call.phase = 'request';
      call.attempts++;
      call.onProgress?.({ kind: 'attempt', attempt: call.attempts, what: spec.what });
      const sent = await this.send({ ...spec, headers: { ...spec.headers, authorization: `Bearer ${token}` } }, call);
      let parsed: ParsedErrorBody | undefined;
      let outcome: AttemptOutcome;
      const localNow = this.now();
      const ref = referenceTime(sent.kind === 'response' ? headerOf(sent.headers, 'date') : undefined, localNow);
      if (sent.kind === 'response') {
        call.lastStatus = sent.status;
        if (sent.status >= 200 && sent.status <= 299) {
          if (spec.needBody && (sent.readFailed || sent.truncated)) outcome = { kind: 'network', code: 'BODY_READ_FAILED' };
          else return { kind: 'done', sent };
        } else {
          parsed = parseErrorBody(sent.text, headerOf(sent.headers, 'content-type'), sent.truncated);
          const retryAfter = headerOf(sent.headers, 'retry-after');
          // A 409 to a sync is decided by its body (the gate or a permanent conflict). A
          // body cut short with no reason code in what arrived cannot tell which: ask
          // again (a repeated sync is harmless) rather than call it permanent.
          const unreadable409 = gateApplies && sent.status === 409 && parsed.reasonCode === undefined && (parsed.truncated || sent.readFailed);
          outcome = unreadable409 ? { kind: 'network', code: 'BODY_READ_FAILED' } : {
            kind: 'response',
            status: sent.status,
            ...(retryAfter === undefined ? {} : { retryAfter }),
            ...(parsed.reasonCode === undefined ? {} : { reasonCode: parsed.reasonCode }),
            ...(parsed.message === undefined ? {} : { message: parsed.message }),
          };
        }
      } else {
        outcome = sent.kind === 'timeout' ? { kind: 'timeout' } : sent.code === undefined ? { kind: 'network' } : { kind: 'network', code: sent.code };
      }
      const d = classify(outcome, {
        now: localNow,
        serverNow: ref.now,
        budgetStart: call.budgetStart,
        retriesUsed: call.retriesUsed,
        canRefreshToken: this.tokens.canRefresh && !call.refreshedAfter401,
        gateApplies,
        random: this.random,
        limits: this.limits,
      });
      switch (d.kind) {
        case 'done':
          // classify() says done only for 2xx, handled above; keep the compiler honest.
          if (sent.kind === 'response') return { kind: 'done', sent };
          throw new Error('internal: classify() said done without a response');
        case 'gated':
          return d.note === undefined
            ? { kind: 'gated', notBefore: d.notBefore, parsed: parsed ?? parseErrorBody(''), skewMs: ref.skewMs }
            : { kind: 'gated', notBefore: d.notBefore, note: d.note, parsed: parsed ?? parseErrorBody(''), skewMs: ref.skewMs };
        case 'fail': {
          const fail: Extract<Completed, { kind: 'fail' }> = parsed === undefined ? { kind: 'fail', reason: d.reason, outcome } : { kind: 'fail', reason: d.reason, outcome, parsed };
          // A refused certificate or a non-TLS port is the endpoint's, not this request's.
          if (d.reason.kind === 'network' && d.reason.problem !== 'headers') this.endpointRefusal = { fail, until: this.now() + REFUSAL_MEMORY_MS };
          return fail;
        }
        case 'retry':
          if (d.refreshToken) {
            call.refreshedAfter401 = true;
            this.tokens.invalidate();
            continue;
          }
          call.retriesUsed++;
          call.onProgress?.({ kind: 'backoff', delayMs: d.delayMs, retry: call.retriesUsed, maxRetries: this.limits.maxRetries, cause: describeOutcome(outcome, d.source === 'retry-after'), what: spec.what });
          this.holdOff(d.delayMs);
          break;
        default:
          return assertNever(d);
      }
    }
  }

  /** A token for the next request, exchanging the API key when needed (deduplicated). */
  private async token(call: Call): Promise<string> {
    const cached = this.tokens.current(this.now());
    if (cached !== undefined) return cached;
    if (this.iamRefusal !== undefined && this.now() < this.iamRefusal.until) {
      const e = this.iamRefusal.error;
      throw new KeySyncError(e.code, `${e.message} (${REMEMBERED})`, { ...(e.status === undefined ? {} : { status: e.status }), ...(e.reasonCode === undefined ? {} : { reasonCode: e.reasonCode }) });
    }
    if (this.tokenInFlight === undefined) {
      this.tokenInFlight = this.exchange(call)
        .catch((e: unknown) => {
          // Only answers about the credentials or the endpoint itself: one odd answer (a
          // bad body, huge headers) is not held against the calls after it.
          if (e instanceof KeySyncError && (e.code === 'KS_IAM_REFUSED' || e.code === 'KS_TLS')) this.iamRefusal = { error: e, until: this.now() + REFUSAL_MEMORY_MS };
          throw e;
        })
        .finally(() => {
          this.tokenInFlight = undefined;
        });
    }
    return this.tokenInFlight;
  }

  /** The IAM API-key exchange, retried (429, 5xx, network) under the calling call's budget. */
  private async exchange(call: Call): Promise<string> {
    const cred = this.tokens.credentials;
    if (cred.kind !== 'api-key') throw new KeySyncError('KS_AUTH', 'the token from the environment was refused and cannot be refreshed; get a new one (IBMCLOUD_IAM_TOKEN) or use IBMCLOUD_API_KEY');
    const iam = new URL(cred.iamBaseUrl);
    const spec: RequestSpec = {
      what: 'iam',
      origin: iam.origin,
      path: `${iam.pathname.replace(/\/+$/, '')}${IAM_TOKEN_PATH}`,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': this.userAgent },
      body: `grant_type=${encodeURIComponent(IAM_GRANT_TYPE)}&apikey=${encodeURIComponent(cred.apiKey)}`,
      needBody: true,
    };
    for (;;) {
      await this.waitHoldOff(call);
      const sent = await this.send(spec, call);
      let outcome: AttemptOutcome;
      let parsed: ParsedErrorBody | undefined;
      if (sent.kind === 'response') {
        if (sent.status >= 200 && sent.status <= 299 && !sent.readFailed && !sent.truncated) {
          let body: unknown;
          try {
            body = JSON.parse(sent.text);
          } catch {
            body = undefined;
          }
          const t = tokenFromIamResponse(body, this.now());
          if (t === undefined) throw new KeySyncError('KS_IAM_BAD_RESPONSE', `IAM at ${iam.origin} answered ${sent.status} without a usable access_token`, { status: sent.status });
          this.redact.add(t.accessToken);
          this.tokens.store(t);
          return t.accessToken;
        }
        parsed = parseErrorBody(sent.text, headerOf(sent.headers, 'content-type'), sent.truncated);
        const retryAfter = headerOf(sent.headers, 'retry-after');
        outcome = sent.status >= 200 && sent.status <= 299
          ? { kind: 'network', code: 'BODY_READ_FAILED' }
          : { kind: 'response', status: sent.status, ...(retryAfter === undefined ? {} : { retryAfter }) };
      } else {
        outcome = sent.kind === 'timeout' ? { kind: 'timeout' } : sent.code === undefined ? { kind: 'network' } : { kind: 'network', code: sent.code };
      }
      const now = this.now();
      const serverNow = referenceTime(sent.kind === 'response' ? headerOf(sent.headers, 'date') : undefined, now).now;
      const d = classify(outcome, {
        now, serverNow, budgetStart: call.budgetStart, retriesUsed: call.retriesUsed, canRefreshToken: false, gateApplies: false, random: this.random, limits: this.limits,
      });
      if (d.kind === 'retry') {
        call.retriesUsed++;
        call.onProgress?.({ kind: 'backoff', delayMs: d.delayMs, retry: call.retriesUsed, maxRetries: this.limits.maxRetries, cause: describeOutcome(outcome, d.source === 'retry-after'), what: 'iam' });
        this.holdOff(d.delayMs);
        continue;
      }
      // classify() says done only for 2xx (handled above) and gated only where the gate
      // applies (not to IAM).
      if (d.kind !== 'fail') throw new KeySyncError('KS_IAM_BAD_RESPONSE', `IAM at ${iam.origin} gave an unexpected answer`);
      const f = d.reason;
      switch (f.kind) {
        case 'network': {
          const p = permanentNetworkProblem(f, iam.origin);
          throw new KeySyncError(p.code, `the IAM token exchange failed: ${p.message}`);
        }
        case 'status': {
          const serverText = safeServerText(parsed?.message, this.redact);
          const code = parsed?.reasonCode === undefined ? '' : ` ${safeServerText(parsed.reasonCode, this.redact) ?? ''}`;
          const requestId = parsed?.requestId === undefined ? '' : `; IAM request id ${safeServerText(parsed.requestId, this.redact) ?? ''}`;
          const st = f.status;
          const said = `${st}${code}${serverText === undefined ? '' : `: ${serverText}`}${requestId}`;
          throw new KeySyncError(
            'KS_IAM_REFUSED',
            st === 400 || st === 401 || st === 403
              ? `IAM refused the API key from ${cred.envName} (${said}); check that the key exists, is not expired or revoked, and belongs to the account that owns the instance`
              : `IAM at ${iam.origin} could not exchange the API key from ${cred.envName} (${said}); check IBMCLOUD_IAM_API_ENDPOINT`,
            { status: st, ...(parsed?.reasonCode === undefined ? {} : { reasonCode: parsed.reasonCode }) },
          );
        }
        case 'retries-exhausted':
        case 'deadline': {
          const why = f.kind === 'deadline'
            ? `the next retry would start past the ${Math.round(this.limits.budgetMs / 1000)} s retry budget`
            : `gave up after ${call.retriesUsed + 1} attempts`;
          throw new KeySyncError(transientCode(f.last), `could not get an IAM token from ${iam.origin}: ${why}; last: ${describeOutcome(f.last, false)}; ${call.attempts === 0 ? 'nothing was sent to the key service' : 'the call could not go on without a new token'}, retry later`);
        }
        default:
          return assertNever(f);
      }
    }
  }

  /** Sets the shared hold-off to at least now + ms. */
  private holdOff(ms: number): void {
    this.holdOffUntil = Math.max(this.holdOffUntil, this.now() + ms);
  }

  /** Sleeps until the shared hold-off has passed. */
  private async waitHoldOff(call: Call): Promise<void> {
    const wait = this.holdOffUntil - this.now();
    if (wait <= 0) return;
    const prev = call.phase;
    call.phase = 'backoff';
    await this.sleep(wait, call.signal);
    call.waitedMs += wait;
    call.phase = prev;
  }

  /** Waits until `untilMs`, reporting progress at least every progress interval. */
  /** `untilMs` and `maxWaitEnd` are on our clock; `skewMs` is the service's clock minus ours. */
  private async waitForGate(call: Call, notBefore: Date, untilMs: number, maxWaitEnd: number, note: GateNote | undefined, skewMs: number): Promise<void> {
    let first = true;
    for (;;) {
      const now = this.now();
      const remaining = untilMs - now;
      if (remaining <= 0) return;
      call.onProgress?.({
        kind: 'gate-wait',
        notBefore,
        opensInMs: notBefore.getTime() - (now + skewMs),
        clockSkewMs: skewMs,
        retryAt: untilMs,
        remainingMs: remaining,
        maxWaitLeftMs: Math.max(0, maxWaitEnd - now),
        first,
        ...(note === undefined ? {} : { note }),
      });
      first = false;
      const step = Math.min(remaining, this.progressIntervalMs);
      await this.sleep(step, call.signal);
      call.waitedMs += step;
    }
  }

  /** One HTTP attempt with the per-attempt timeout; the body is read with a size cap. */
  private async send(spec: RequestSpec, call: Call): Promise<Sent> {
    if (this.slots === undefined) return this.sendNow(spec, call);
    await this.slots.acquire(call.signal);
    try {
      // A hold-off may have started while this call waited for its slot.
      await this.waitHoldOff(call);
      return await this.sendNow(spec, call);
    } finally {
      this.slots.release();
    }
  }

  private async sendNow(spec: RequestSpec, call: Call): Promise<Sent> {
    if (isAborted(call.signal)) throw new Aborted('aborted');
    // Never let an attempt run past its window (the retry budget's for a sync, the page's
    // for a listing), but give it at least a second.
    const sentAt = this.now();
    call.lastAttemptStart = sentAt;
    // A page's first attempt has the page's window; a retry stays inside the retry budget.
    const windowStart = call.retriesUsed === 0 ? call.attemptWindowStart : call.budgetStart;
    const left = windowStart + this.limits.budgetMs - sentAt;
    // (A configured per-attempt timeout shorter than a second is honoured as it is.)
    const timeoutMs = Math.min(this.limits.attemptTimeoutMs, Math.max(1_000, left));
    const ac = new AbortController();
    let timedOut = false;
    const onAbort = (): void => ac.abort();
    call.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, timeoutMs);
    try {
      const res = await this.dispatcher.request({
        origin: spec.origin,
        path: spec.path,
        method: spec.method,
        headers: spec.headers,
        body: spec.body ?? null,
        signal: ac.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const ok = res.statusCode >= 200 && res.statusCode <= 299;
      if (ok && !spec.needBody) {
        // The answer is the status (a sync's 2xx means accepted): do not wait for a body
        // that may be large or trickle in; drop the connection instead.
        res.body.on('error', () => undefined).destroy();
        return { kind: 'response', status: res.statusCode, headers: res.headers as Record<string, string | string[] | undefined>, text: '', truncated: false, readFailed: false };
      }
      const body = await readCapped(res.body, ok ? SUCCESS_BODY_CAP_BYTES : BODY_CAP_BYTES);
      if (isAborted(call.signal) && !ok) throw new Aborted('aborted');
      // A 2xx body we need that did not arrive within the attempt's time: a timeout.
      if (ok && body.readFailed && timedOut) return { kind: 'timeout' };
      return { kind: 'response', status: res.statusCode, headers: res.headers as Record<string, string | string[] | undefined>, ...body };
    } catch (e) {
      if (e instanceof Aborted || isAborted(call.signal)) throw new Aborted('aborted');
      const code = errorCode(e);
      if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return { kind: 'timeout' };
      return code === undefined ? { kind: 'network', detail: this.redact(String((e as Error)?.message ?? e)) } : { kind: 'network', code, detail: this.redact(String((e as Error)?.message ?? e)) };
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The result fields of a failed call, with a message that says what to do. */
  private failure(
    r: Extract<Completed, { kind: 'fail' }>,
    call: Call,
    what: { action: 'sync' | 'list'; keyId?: string | undefined; instanceId: string; keyRing?: string | undefined },
  ): Pick<SyncResult, 'message' | 'code' | 'retryLater'> & { reasonCode?: string } {
    const reason = r.reason;
    const sync = what.action === 'sync';
    const server = safeServerText(r.parsed?.message, this.redact);
    const reasonCode = r.parsed?.reasonCode === undefined ? undefined : safeServerText(r.parsed.reasonCode, this.redact);
    const detail = `${reasonCode === undefined ? '' : ` ${reasonCode}`}${server === undefined ? '' : `: ${server}`}`;
    const rc = reasonCode === undefined ? {} : { reasonCode };
    switch (reason.kind) {
      case 'network': {
        const p = permanentNetworkProblem(reason, this.base.origin);
        // Over-long headers mean an answer came back: the service may have acted on it.
        const tail = !sync
          ? 'the listing did not complete'
          : reason.problem === 'headers'
            ? 'the sync may or may not have been accepted (its answer could not be read)'
            : 'not synced';
        return { code: p.code, retryLater: false, message: this.redact(`${p.message}; ${tail}${r.remembered === true ? ` (${REMEMBERED})` : ''}`) };
      }
      case 'status': {
        const s = reason.status;
        const code = codeForStatus(s);
        const key = what.keyId === undefined ? 'the instance' : `key ${what.keyId}`;
        const where = `instance ${what.instanceId}${what.keyRing === undefined ? '' : ` (key ring ${what.keyRing})`}`;
        const role = sync ? 'the Writer or Manager role' : 'at least the Reader role';
        const doing = sync ? `sync ${key}` : `list the registrations of ${key}`;
        let text: string;
        switch (code) {
          case 'KS_AUTH':
            text = `the key service refused the token for ${key} (401${detail})${call.refreshedAfter401 ? ' even after a token refresh' : ''}; the credentials need ${role} on ${where}`;
            break;
          case 'KS_FORBIDDEN':
            text = `not allowed to ${doing} (403${detail}); the credentials need ${role} on ${where}`;
            break;
          case 'KS_NOT_FOUND':
            text = `${key} was not found in ${where} (404${detail}); check --key-id, --instance-id, --key-ring and the endpoint`;
            break;
          case 'KS_CONFLICT':
            text = `the key service refused to ${doing} (409${detail}); this is not the time gate and will not pass by waiting`;
            break;
          case 'KS_NOT_IMPLEMENTED':
            text = `the endpoint does not implement this call (501${detail}); check --endpoint / --region / --service`;
            break;
          default:
            text = `the key service rejected the request for ${key} (${s}${detail})`;
        }
        return { code, retryLater: false, message: this.redact(text), ...rc };
      }
      case 'retries-exhausted':
      case 'deadline': {
        const last = reason.last;
        const why = reason.kind === 'deadline'
          ? `the next retry would start past the ${Math.round(this.limits.budgetMs / 1000)} s retry budget`
          : `gave up after ${this.limits.maxRetries} retries`;
        const tail = sync ? 'not synced, retry later (the next apply retries it)' : 'the listing did not complete, retry later';
        return {
          code: transientCode(last),
          retryLater: true,
          message: this.redact(`${why}; last: ${describeOutcome(last, false)}${last.kind === 'response' ? detail : ''}; ${tail}`),
          ...rc,
        };
      }
      default:
        return assertNever(reason);
    }
  }
}

/** How long a permanent refusal (IAM, TLS) is answered from memory (see KmsClient). */
const REFUSAL_MEMORY_MS = 5 * 60_000;
const REMEMBERED = 'the answer to an earlier request of this run; not asked again for 5 minutes';

/** For exhaustive switches: a new union member is a compile error here. */
function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}

// ---------------------------------------------------------------------------------------
// Helpers (pure)

/** Reads `aborted` through a call so TypeScript does not narrow it across awaits. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function headerOf(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function errorCode(e: unknown): string | undefined {
  // undici wraps socket errors (UND_ERR_SOCKET with cause ECONNRESET, ...): prefer the
  // system code (E...) found anywhere in the cause chain, else the first code.
  let first: string | undefined;
  let cur: unknown = e;
  for (let i = 0; i < 5 && typeof cur === 'object' && cur !== null; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && c !== '') {
      if (/^E[A-Z_]+$/.test(c)) return c;
      first ??= c;
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return first;
}

async function readCapped(body: AsyncIterable<Uint8Array> & { destroy?: (e?: Error) => void }, cap: number): Promise<{ text: string; truncated: boolean; readFailed: boolean }> {
  const chunks: Buffer[] = [];
  let n = 0;
  let truncated = false;
  let readFailed = false;
  try {
    for await (const chunk of body) {
      const c = Buffer.from(chunk);
      if (n + c.length > cap) {
        chunks.push(c.subarray(0, cap - n));
        n = cap;
        truncated = true;
        break;
      }
      chunks.push(c);
      n += c.length;
    }
  } catch {
    readFailed = true;
  }
  if (truncated || readFailed) body.destroy?.();
  return { text: Buffer.concat(chunks).toString('utf8'), truncated, readFailed };
}

const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed by the server',
  BODY_READ_FAILED: 'the response body could not be read',
};

/**
 * What to tell the user about a connection failure that retrying cannot fix (see
 * PERMANENT_NETWORK_CODES), with the fix. Never suggests turning TLS verification off.
 */
function permanentNetworkProblem(r: Extract<FailReason, { kind: 'network' }>, origin: string): { code: KeySyncErrorCode; message: string } {
  const where = displayUrl(origin);
  switch (r.problem) {
    case 'tls':
      return { code: 'KS_TLS', message: `the TLS certificate of ${where} was not accepted (${r.code}); ${tlsFix(r.code)}` };
    case 'not-tls':
      return { code: 'KS_TLS', message: `${where} did not answer in TLS (${r.code}); check the endpoint's scheme and port` };
    case 'headers':
      return { code: 'KS_BAD_RESPONSE', message: `the response headers from ${where} are larger than Node allows (${r.code}); if a proxy adds large headers, raise the limit with NODE_OPTIONS=--max-http-header-size=65536` };
  }
}

/** What to do about a refused certificate, by why it was refused. */
function tlsFix(code: string): string {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return "the certificate is outside its validity period: check this machine's clock, or have the endpoint's certificate renewed";
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'HOSTNAME_MISMATCH':
      return 'the certificate does not name this host: check the host name in --endpoint (a private endpoint has its own)';
    default:
      // Node reads NODE_EXTRA_CA_CERTS once, at start-up.
      return process.env['NODE_EXTRA_CA_CERTS'] === undefined || process.env['NODE_EXTRA_CA_CERTS'] === ''
        ? 'if your network uses its own certificate authority, point NODE_EXTRA_CA_CERTS at its PEM file (certificate verification stays on)'
        : 'NODE_EXTRA_CA_CERTS is set, but the authority that signed this certificate is not in that file (Node warns on stderr if it could not read it); add it there (certificate verification stays on)';
  }
}

/** A short description of an attempt outcome, for progress and messages. */
export function describeOutcome(o: AttemptOutcome, retryAfter: boolean): string {
  if (o.kind === 'timeout') return 'the attempt timed out';
  if (o.kind === 'network') return o.code === undefined ? 'network error' : `${NETWORK_WORDS[o.code] ?? 'network error'} (${o.code})`;
  return `HTTP ${o.status}${retryAfter ? ' with Retry-After' : ''}`;
}

function transientCode(o: AttemptOutcome): KeySyncErrorCode {
  if (o.kind === 'timeout') return 'KS_TIMEOUT';
  if (o.kind === 'network') return 'KS_NETWORK';
  if (o.status === 429) return 'KS_THROTTLED';
  if (o.status === 408) return 'KS_TIMEOUT';
  return 'KS_HTTP_5XX';
}

/** "in 52 min", "in 1 h 5 min", "in 12 s". */
export function describeDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  const rest = m % 60;
  if (h < 48) return rest === 0 ? `${h} h` : `${h} h ${rest} min`;
  return `${Math.round(h / 24)} days`;
}

/** UTC time as "2026-11-28 21:38:43 UTC". */
export function utc(d: Date): string {
  return `${d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '')} UTC`;
}

/** "; measured on the service's clock, 2 h ahead of this machine's" (empty without skew). */
export function describeSkew(skewMs: number): string {
  if (skewMs === 0) return '';
  return ` (by the key service's clock, which is ${describeDuration(Math.abs(skewMs))} ${skewMs > 0 ? 'ahead of' : 'behind'} this machine's)`;
}

/** `now` is on the service's clock when `skewMs` is not 0. */
function gateStopMessage(notBefore: Date, now: number, maxWaitSeconds: number, note: GateNote | undefined, skewMs = 0): string {
  const away = `${describeDuration(notBefore.getTime() - now)}${describeSkew(skewMs)}`;
  const limit = maxWaitSeconds === 0 ? '--max-wait is 0 (never wait)' : `beyond --max-wait ${maxWaitSeconds} s`;
  const extra = note === 'no-time-in-message'
    ? ' (the service named no time; assuming about an hour)'
    : note === 'far-future'
      ? ' (unusually far away; check the instance\'s recent key operations)'
      : '';
  return `sync time gate closed until ${utc(notBefore)}, in ${away}${extra}; ${limit}; not synced. The next apply will retry it (Terraform taints the resource)`;
}

function abortedMessage(call: Call, notBefore: Date | undefined): string {
  switch (call.phase) {
    case 'gate-wait':
      return `interrupted while waiting for the sync time gate${notBefore === undefined ? '' : ` (opens ${utc(notBefore)})`}; not synced. The next apply will retry it`;
    case 'backoff':
      return `interrupted while backing off after attempt ${call.attempts}; not synced. The next apply will retry it`;
    case 'request':
      return `interrupted during attempt ${call.attempts}, before the service answered; the sync may or may not have been accepted. The next apply will retry it (a repeated sync is harmless; at worst it is gated)`;
    case 'token':
      return 'interrupted while getting an IAM token; nothing was sent to the key service. The next apply will retry it';
    default:
      return 'interrupted before anything was sent; not synced';
  }
}

function listingAbortedMessage(call: Call): string {
  const where = call.phase === 'backoff' ? `while backing off after attempt ${call.attempts}`
    : call.phase === 'request' ? `during attempt ${call.attempts}`
      : call.phase === 'token' ? 'while getting an IAM token'
        : 'before anything was sent';
  return `interrupted ${where}; the registrations listing did not complete`;
}

function parseRegistrationsPage(text: string): { resources: Registration[]; totalCount?: number } | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as { metadata?: { totalCount?: unknown; collectionTotal?: unknown }; resources?: unknown };
  // An empty listing may come without `resources`.
  const resources = d.resources === undefined ? [] : d.resources;
  if (!Array.isArray(resources)) return undefined;
  const regs = resources.filter((r): r is Registration => typeof r === 'object' && r !== null && !Array.isArray(r));
  const tc = d.metadata?.totalCount;
  return typeof tc === 'number' && Number.isInteger(tc) && tc >= 0 ? { resources: regs, totalCount: tc } : { resources: regs };
}
