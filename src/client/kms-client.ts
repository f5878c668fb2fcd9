/**
 * The key-management client: the operations (sync, registrations listing, key read)
 * built on the attempt engine. Everything it depends on is injected (undici dispatcher,
 * clock, sleep, random, UUIDs); every decision is the pure policy's; results are typed
 * values (no sentences: the CLI's output layer writes those).
 *
 * One client serves any number of calls (keys) against one instance endpoint: they share
 * the dispatcher (one keep-alive pool per origin), the token (one IAM exchange in flight
 * at a time) and the pacing (a 429 or 5xx seen by one call delays every call).
 *
 * Methods never throw for HTTP outcomes: they return tagged results.
 */
import { randomUUID as nodeRandomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { RetryBudget } from './budget';
import { KeySyncError } from './errors';
import { callInfo, failed, type CallInfo, type CallOptions, type GateInfo } from './call-info';
import { Call, Engine, type ExchangeOutcome } from './engine';
import type { Failure, LastOutcome } from './failure';
import { waitForGate } from './gate-wait';
import { secretsOf, type Credentials } from './iam';
import { IamTokens } from './iam-tokens';
import { pageThrough, LISTING_BOUNDS, type PageBounds } from './paging';
import { runRotation, type KeyRead, type RotateOptions, type RotateResult, type RotationDeps } from './rotation';
import { notifiedByRotation, rotatedAtOf } from './rotation-policy';
import { RequestSlots, realSleep, type Sleep } from './pacing';
import { parseKey, parseRegistrationsPage, type KeyInfo, type KeyVersion, type Registration } from './resources';
import { DEFAULT_RETRY_LIMITS, GATE_REASON_CODE, SYNC_GATE_PERIOD_MS, gateDecision, gateStartedDuring, type RetryLimits } from './retry-policy';
import { createSanitizer, type Sanitizer } from './sanitize';
import type { TokenStore } from './token-store';
import { AbortedError, Transport, isAborted } from './transport';
import { checkEndpointUrl, displayUrl } from '../domain/endpoints';

export type { CallInfo, CallOptions, GateInfo } from './call-info';
export type { ProgressEvent } from './engine';
export type { RotateOptions, RotateResult } from './rotation';
export type { Registration, KeyInfo, KeyVersion } from './resources';
export type { Sleep } from './pacing';
export { realSleep } from './pacing';

export interface KmsClientOptions {
  /** Key-management base URL, e.g. https://us-south.kms.cloud.ibm.com (checked again here). */
  readonly baseUrl: string;
  readonly credentials: Credentials;
  /** Default: one keep-alive undici `Agent` owned (and closed) by this client. */
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
  /** Bounds of a registrations listing. Default {@link LISTING_BOUNDS}. */
  readonly listingBounds?: Partial<PageBounds>;
  /**
   * IAM tokens shared across processes (see token-store.ts): the CLI opens one so that the
   * processes of one apply exchange the API key once. Default: this client's own only.
   */
  readonly tokenStore?: TokenStore;
}


export interface SyncOptions extends CallOptions {
  /** --max-wait: how long the call may wait for the time gate, from its start; 0 = never. */
  readonly maxWaitSeconds: number;
  /**
   * --rotation-requested-at: the requested-at time of the key's declared rotation, which
   * runs before this sync. When the service time-gates the sync, the key is read: if it
   * was rotated for that request and the gate is that rotation's, the rotation has
   * notified the associated resources and the sync succeeds (see rotation-policy.ts).
   */
  readonly rotationRequestedAt?: Date;
}

export interface SyncResult extends CallInfo {
  readonly outcome: 'synced' | 'gated' | 'failed';
  readonly maxWaitSeconds: number;
  /** When gated (or interrupted in a gate wait). */
  readonly gate?: GateInfo;
  /**
   * Set when the service refused the sync (409 REQ_TOO_EARLY_ERR) because of the rotation
   * made for `rotationRequestedAt`, which notified the resources: outcome `synced`.
   */
  readonly notifiedByRotation?: { readonly rotatedAt: string; readonly keyVersion?: KeyVersion; readonly gate: GateInfo };
  /**
   * Set when a request of this call got no answer the service could not have acted on (a
   * reset, a timeout after sending, a 5xx) and the retry met a gate that started after
   * that request went out: the sync was accepted (outcome `synced`), and is not sent again.
   */
  readonly acceptedUnanswered?: { readonly last: LastOutcome; readonly gateStartedAt: Date; readonly gate: GateInfo };
}

export interface ListRegistrationsOptions extends CallOptions {
  /** One key's registrations; omit for all keys of the instance. */
  readonly keyId?: string;
  /** `urlEncodedResourceCRNQuery`: a CRN, `*` wildcards allowed (we URL-encode it). */
  readonly crnQuery?: string;
  readonly preventKeyDeletion?: boolean;
  /** Page size, 1-5000. Default 200. */
  readonly pageSize?: number;
  /** Longest the whole listing may take, ms. Default: the listing bound (10 min). */
  readonly maxMs?: number;
}

export interface RegistrationsResult extends CallInfo {
  readonly outcome: 'listed' | 'failed';
  /** Every registration when listed; none when the listing failed (never a partial list). */
  readonly registrations: readonly Registration[];
  readonly totalCount?: number;
  readonly pages: number;
}

export interface KeyResult extends CallInfo {
  readonly outcome: 'read' | 'failed';
  readonly key?: KeyInfo;
  /** The service's clock minus ours at the answer, ms. */
  readonly clockSkewMs: number;
}

/** Largest page the API accepts. */
export const MAX_PAGE_SIZE = 5000;

export class KmsClient {
  private readonly base: URL;
  private readonly basePath: string;
  private readonly now: () => number;
  private readonly uuid: () => string;
  private readonly limits: RetryLimits;
  private readonly progressIntervalMs: number;
  private readonly userAgent: string;
  private readonly transport: Transport;
  private readonly engine: Engine;
  private readonly tokens: IamTokens;
  private readonly listingBounds: PageBounds;
  private readonly random: () => number;
  /** Redacts the API key, every token obtained, and credential-shaped text. */
  readonly sanitizer: Sanitizer;

  constructor(opts: KmsClientOptions) {
    const check = checkEndpointUrl(opts.baseUrl);
    if (!check.ok) throw new KeySyncError('KS_USAGE', `endpoint ${displayUrl(opts.baseUrl)} ${check.problem}; ${check.fix}`);
    if (opts.credentials.kind === 'api-key') {
      const iam = checkEndpointUrl(opts.credentials.iamBaseUrl);
      if (!iam.ok) throw new KeySyncError('KS_USAGE', `IAM endpoint ${displayUrl(opts.credentials.iamBaseUrl)} ${iam.problem}; ${iam.fix}`);
    }
    this.base = new URL(check.url);
    this.basePath = this.base.pathname.replace(/\/+$/, '');
    this.now = opts.now ?? Date.now;
    this.uuid = opts.randomUUID ?? nodeRandomUUID;
    this.limits = { ...DEFAULT_RETRY_LIMITS, ...opts.limits };
    this.progressIntervalMs = opts.progressIntervalMs ?? 15_000;
    this.userAgent = opts.userAgent ?? 'key-sync';
    this.listingBounds = { ...LISTING_BOUNDS, ...opts.listingBounds };
    this.random = opts.random ?? Math.random;
    this.sanitizer = createSanitizer(secretsOf(opts.credentials));
    this.transport = new Transport({ ...(opts.dispatcher === undefined ? {} : { dispatcher: opts.dispatcher }), connectTimeoutMs: this.limits.attemptTimeoutMs });
    this.engine = new Engine({
      transport: this.transport,
      now: this.now,
      sleep: opts.sleep ?? realSleep,
      random: this.random,
      limits: this.limits,
      sanitizer: this.sanitizer,
      ...(opts.maxConcurrentRequests === undefined ? {} : { slots: new RequestSlots(opts.maxConcurrentRequests) }),
    });
    this.tokens = new IamTokens(opts.credentials, this.engine, this.sanitizer, this.userAgent, opts.credentials.kind === 'api-key' ? opts.tokenStore : undefined);
  }

  /** Closes the dispatcher if this client created it (lets the process exit). */
  async close(): Promise<void> {
    await this.transport.close();
  }

  private newCall(opts: CallOptions): Call {
    const now = this.now();
    return new Call(this.uuid(), new RetryBudget(this.limits, now), now, opts.signal, opts.onProgress);
  }

  private headers(opts: CallOptions, call: Call): Record<string, string> {
    const h: Record<string, string> = {
      accept: 'application/json',
      'bluemix-instance': opts.instanceId,
      'correlation-id': call.correlationId,
      'user-agent': this.userAgent,
    };
    if (opts.keyRing !== undefined) h['x-kms-key-ring'] = opts.keyRing;
    return h;
  }

  private keyPath(keyId: string, rest: string): string {
    return `${this.basePath}/api/v2/keys/${encodeURIComponent(keyId)}${rest}`;
  }

  // -------------------------------------------------------------------------------------
  // Sync

  /** Asks the service to re-notify a key's associated resources. Never throws for HTTP outcomes. */
  async sync(keyId: string, opts: SyncOptions): Promise<SyncResult> {
    const call = this.newCall(opts);
    const maxWaitSeconds = Math.max(0, opts.maxWaitSeconds);
    const maxWaitMs = maxWaitSeconds * 1000;
    let gate: GateInfo | undefined;
    let rotationChecked = false;
    const done = (r: Omit<SyncResult, keyof CallInfo | 'maxWaitSeconds' | 'gate'> & Partial<CallInfo>): SyncResult => ({
      ...callInfo(call),
      maxWaitSeconds,
      ...(gate === undefined ? {} : { gate }),
      ...r,
    });
    try {
      for (;;) {
        const r: ExchangeOutcome = await this.engine.run({
          what: 'sync',
          service: 'key-service',
          auth: this.tokens,
          idempotent: true,
          syncGate: true,
          request: { origin: this.base.origin, path: this.keyPath(keyId, '/actions/sync'), method: 'POST', headers: this.headers(opts, call), readSuccessBody: false },
        }, call);
        switch (r.kind) {
          case 'done':
            call.phase = 'done';
            return done({ outcome: 'synced', retryLater: false });
          case 'fail':
            return done({ outcome: 'failed', ...failed(r.failure, r.remembered) });
          case 'uncertain':
            throw new Error('internal: a sync is idempotent');
          case 'gated': {
            // The gate time is on the service's clock: decide on that clock (shifting our
            // start by the skew), then wait on ours.
            const skew = r.skewMs;
            const serverNow = this.now() + skew;
            gate = { notBefore: r.notBefore, ...(r.note === undefined ? {} : { note: r.note }), opensInMs: r.notBefore.getTime() - serverNow, clockSkewMs: skew };
            // Did one of this call's unanswered requests start this gate (on the service's clock)?
            const lost = gateStartedDuring(r, call.unanswered.map((u) => ({ fromMs: u.sentAt + skew, toMs: u.endedAt + skew })));
            const unanswered = lost === undefined ? undefined : call.unanswered[lost];
            // If not, they were refused (the gate was closed): a later gate is someone else's.
            call.unanswered = [];
            if (unanswered !== undefined) {
              // Accepted while its answer was lost: sending it again would only meet this gate
              // (or, once it opens, notify the resources a second time).
              call.phase = 'done';
              return done({
                outcome: 'synced',
                retryLater: false,
                status: 409,
                reasonCode: r.said.reasonCode ?? GATE_REASON_CODE,
                acceptedUnanswered: { last: unanswered.last, gateStartedAt: new Date(r.notBefore.getTime() - SYNC_GATE_PERIOD_MS), gate },
              });
            }
            if (opts.rotationRequestedAt !== undefined && !rotationChecked) {
              // Is this the gate of the rotation just made for the declared generation?
              rotationChecked = true;
              const prev = call.phase;
              call.phase = 'reading-key';
              const read = await this.readKeyIn(call, keyId, opts);
              call.phase = prev;
              if (read.ok && notifiedByRotation(read.key, { requestedAtMs: opts.rotationRequestedAt.getTime(), skewMs: read.skewMs }, r.notBefore)) {
                call.phase = 'done';
                const rotatedAt = read.key.lastRotateDate ?? new Date(rotatedAtOf(read.key) ?? 0).toISOString();
                return done({
                  outcome: 'synced',
                  retryLater: false,
                  status: 409,
                  reasonCode: r.said.reasonCode ?? GATE_REASON_CODE,
                  notifiedByRotation: { rotatedAt, ...(read.key.keyVersion === undefined ? {} : { keyVersion: read.key.keyVersion }), gate },
                });
              }
            }
            const d = gateDecision(r.notBefore, { now: serverNow, start: call.start + skew, maxWaitMs, gateWaits: call.gateWaits });
            if (d.kind === 'stop') return done({ outcome: 'gated', code: 'KS_GATED', reasonCode: r.said.reasonCode ?? GATE_REASON_CODE, retryLater: true });
            call.gateWaits++;
            await waitForGate(this.engine, call, { gate: 'sync', notBefore: r.notBefore, untilMs: d.untilMs - skew, maxWaitEnd: call.start + maxWaitMs, skewMs: skew, ...(r.note === undefined ? {} : { note: r.note }) }, this.progressIntervalMs);
            // A fresh transient budget after each gate wait (the gate wait is bounded on its own).
            call.budget.restart(this.now());
            break;
          }
        }
      }
    } catch (e) {
      if (e instanceof AbortedError || isAborted(opts.signal)) return done({ outcome: 'failed', ...failed({ kind: 'aborted', phase: call.phase }, false) });
      throw e;
    }
  }

  // -------------------------------------------------------------------------------------
  // Key read

  /** Reads a key's metadata (never its material). Never throws for HTTP outcomes. */
  async getKey(keyId: string, opts: CallOptions): Promise<KeyResult> {
    const call = this.newCall(opts);
    let skew = 0;
    const done = (r: Omit<KeyResult, keyof CallInfo | 'clockSkewMs'> & Partial<CallInfo>): KeyResult => ({ ...callInfo(call), clockSkewMs: skew, ...r });
    try {
      const r = await this.readKeyIn(call, keyId, opts);
      if (!r.ok) return done({ outcome: 'failed', ...failed(r.failure, r.remembered) });
      skew = r.skewMs;
      call.phase = 'done';
      return done({ outcome: 'read', key: r.key, retryLater: false });
    } catch (e) {
      if (e instanceof AbortedError || isAborted(opts.signal)) return done({ outcome: 'failed', ...failed({ kind: 'aborted', phase: call.phase }, false) });
      throw e;
    }
  }

  /** One key read inside `call` (GET .../metadata). @throws AbortedError when the call's signal aborts */
  private async readKeyIn(call: Call, keyId: string, opts: CallOptions): Promise<KeyRead> {
    const r = await this.engine.run({
      what: 'key',
      service: 'key-service',
      auth: this.tokens,
      idempotent: true,
      syncGate: false,
      request: { origin: this.base.origin, path: this.keyPath(keyId, '/metadata'), method: 'GET', headers: this.headers(opts, call), readSuccessBody: true },
    }, call);
    if (r.kind !== 'done') return { ok: false, failure: outcomeFailure(r), remembered: r.kind === 'fail' && r.remembered };
    const key = parseKey(r.answer.text, this.sanitizer);
    if (key === undefined) {
      return { ok: false, failure: { kind: 'bad-response', service: 'key-service', endpoint: displayUrl(this.base.origin), status: r.answer.status, what: 'key', detail: 'wrong-shape' }, remembered: false };
    }
    return { ok: true, key, skewMs: r.answer.skewMs };
  }

  // -------------------------------------------------------------------------------------
  // Rotation

  /**
   * Rotates a root key once for a declared generation (see rotation.ts): nothing is done
   * when the key was rotated since `requestedAt`; the once-an-hour gate is waited out
   * within `maxWaitSeconds`; an unanswered rotate request is checked by reading the key,
   * never repeated blind. Never throws for HTTP outcomes.
   */
  async rotate(keyId: string, opts: RotateOptions): Promise<RotateResult> {
    const deps: RotationDeps = {
      engine: this.engine,
      now: this.now,
      random: this.random,
      limits: this.limits,
      progressIntervalMs: this.progressIntervalMs,
      endpoint: displayUrl(this.base.origin),
      newCall: (o) => this.newCall(o),
      callInfo,
      failed,
      readKey: (call, id, o) => this.readKeyIn(call, id, o),
      rotateExchange: (call, id, o) => ({
        what: 'rotate',
        service: 'key-service',
        auth: this.tokens,
        // Every version is billed: an unanswered request is never repeated blind.
        idempotent: false,
        syncGate: false,
        request: { origin: this.base.origin, path: this.keyPath(id, '/actions/rotate'), method: 'POST', headers: this.headers(o, call), readSuccessBody: false },
      }),
    };
    return runRotation(deps, keyId, opts);
  }

  // -------------------------------------------------------------------------------------
  // Registrations

  /** Lists registrations (one key's or all keys'), paging through every page, bounded. */
  async listRegistrations(opts: ListRegistrationsOptions): Promise<RegistrationsResult> {
    const call = this.newCall(opts);
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(opts.pageSize ?? 200)));
    const path = opts.keyId === undefined ? `${this.basePath}/api/v2/keys/registrations` : this.keyPath(opts.keyId, '/registrations');
    const endpoint = displayUrl(this.base.origin);
    let pages = 0;
    let totalCount: number | undefined;
    const done = (r: Omit<RegistrationsResult, keyof CallInfo | 'pages'> & Partial<CallInfo>): RegistrationsResult => ({
      ...callInfo(call),
      pages,
      ...(totalCount === undefined ? {} : { totalCount }),
      ...r,
    });
    try {
      const listed = await pageThrough<Registration, { failure: Failure; remembered: boolean }>(async (offset) => {
        let query = `limit=${pageSize}&offset=${offset}&totalCount=true`;
        if (opts.preventKeyDeletion !== undefined) query += `&preventKeyDeletion=${String(opts.preventKeyDeletion)}`;
        if (opts.crnQuery !== undefined) query += `&urlEncodedResourceCRNQuery=${encodeURIComponent(opts.crnQuery)}`;
        // One retry budget for the whole listing (see budget.ts); the correlation id is the listing's.
        call.budget.startPage(this.now());
        const r = await this.engine.run({
          what: 'registrations',
          service: 'key-service',
          auth: this.tokens,
          idempotent: true,
          syncGate: false,
          request: { origin: this.base.origin, path: `${path}?${query}`, method: 'GET', headers: this.headers(opts, call), readSuccessBody: true },
        }, call);
        if (r.kind !== 'done') return { ok: false, failure: { failure: outcomeFailure(r), remembered: r.kind === 'fail' && r.remembered } };
        call.budget.endPage();
        pages++;
        const page = parseRegistrationsPage(r.answer.text, this.sanitizer);
        if (page === undefined) {
          return { ok: false, failure: { failure: { kind: 'bad-response', service: 'key-service', endpoint, status: r.answer.status, what: 'registrations', detail: 'wrong-shape' }, remembered: false } };
        }
        if (page.totalCount !== undefined) totalCount = page.totalCount;
        return { ok: true, page: { items: page.items, bytes: r.answer.bytes, ...(page.totalCount === undefined ? {} : { totalCount: page.totalCount }) } };
      }, { bounds: opts.maxMs === undefined ? this.listingBounds : { ...this.listingBounds, maxMs: opts.maxMs }, now: this.now, identity: registrationIdentity });
      switch (listed.kind) {
        case 'listed':
          call.phase = 'done';
          return done({ outcome: 'listed', registrations: listed.items, retryLater: false });
        case 'failed':
          return done({ outcome: 'failed', registrations: [], ...failed(listed.failure.failure, listed.failure.remembered) });
        case 'stopped':
          return done({ outcome: 'failed', registrations: [], ...failed({ kind: 'listing', endpoint, problem: listed.problem }, false) });
      }
    } catch (e) {
      if (e instanceof AbortedError || isAborted(opts.signal)) return done({ outcome: 'failed', registrations: [], ...failed({ kind: 'aborted', phase: call.phase }, false) });
      throw e;
    }
  }
}

/** The same registration on two pages (a listing that shifted) is kept once. */
function registrationIdentity(r: Registration): string {
  return r.keyId !== undefined && r.resourceCrn !== undefined ? `${r.keyId}\u0000${r.resourceCrn}` : JSON.stringify(r);
}

/** The failure of an exchange that did not finish (reads have no gate and are idempotent). */
function outcomeFailure(r: Exclude<ExchangeOutcome, { kind: 'done' }>): Failure {
  if (r.kind === 'fail') return r.failure;
  throw new Error(`internal: a read came back ${r.kind}`);
}

