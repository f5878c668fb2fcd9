/**
 * Bearer tokens for key-service requests: the IAM API-key exchange (one at a time, run
 * through the attempt engine under the budget of the call that needs it), the token
 * cache (in this process, and optionally shared with the other key-sync processes of an
 * apply through token-store.ts), and the memory of refusals that every call would meet
 * again (IAM refused the API key; IAM's certificate), so a fleet asks IAM once, not once
 * per key.
 */
import { TokenCache, tokenFromIamResponse, IAM_GRANT_TYPE, IAM_TOKEN_PATH, type CachedToken, type Credentials } from './iam';
import { Call, REFUSAL_MEMORY_MS, type Engine, type TokenSource } from './engine';
import { AbortedError } from './transport';
import type { Failure } from './failure';
import type { Sanitizer } from './sanitize';
import { displayUrl } from '../domain/endpoints';
import { realSleep } from './pacing';
import { DEFAULT_PEER_WAIT_MS, sharedToken, type TokenStore } from './token-store';

type TokenAnswer = { readonly ok: true; readonly token: string } | { readonly ok: false; readonly failure: Failure; readonly remembered: boolean };

/** The one IAM exchange in flight, and who waits for it. */
interface InFlight {
  readonly promise: Promise<TokenAnswer>;
  readonly controller: AbortController;
  readonly call: Call;
  waiters: number;
}

/** Carries a failed exchange through sharedToken(), which expects a throw. */
class ExchangeFailed extends Error {
  constructor(readonly answer: Extract<TokenAnswer, { ok: false }>) {
    super('IAM exchange failed');
  }
}

export class IamTokens implements TokenSource {
  private readonly cache: TokenCache;
  private inFlight: InFlight | undefined;
  private refusal: { readonly failure: Failure; readonly until: number } | undefined;

  constructor(
    readonly credentials: Credentials,
    private readonly engine: Engine,
    private readonly sanitizer: Sanitizer,
    private readonly userAgent: string,
    /** Tokens shared with the other processes of this user (API keys only). */
    private readonly store?: TokenStore,
  ) {
    this.cache = new TokenCache(credentials);
  }

  get canRefresh(): boolean {
    return this.cache.canRefresh;
  }

  hasToken(now: number): boolean {
    return this.cache.current(now) !== undefined;
  }

  invalidate(refused: string): void {
    const cred = this.credentials;
    // The shared entry goes only if it still holds the refused token (a peer may have stored a newer one).
    if (cred.kind === 'api-key') this.store?.invalidate(cred.apiKey, cred.iamBaseUrl, refused);
    if (this.cache.current(this.engine.now()) === refused) this.cache.invalidate();
  }

  token(call: Call): Promise<TokenAnswer> {
    const now = this.engine.now();
    const cached = this.cache.current(now);
    if (cached !== undefined) return Promise.resolve({ ok: true, token: cached });
    if (this.refusal !== undefined && now < this.refusal.until) return Promise.resolve({ ok: false, failure: this.refusal.failure, remembered: true });
    if (this.inFlight === undefined) {
      // One exchange for every call that needs a token now. It runs under its own signal,
      // aborted only when every call waiting for it has been (one caller's interruption
      // does not fail the others), and under the first caller's budget.
      const controller = new AbortController();
      const exchangeCall = new Call(call.correlationId, call.budget, now, controller.signal, call.onProgress);
      // (What the key service has seen of this call: a failed exchange says whether it got anything.)
      exchangeCall.attempts = call.attempts;
      const flight: InFlight = {
        controller,
        call: exchangeCall,
        waiters: 0,
        promise: this.obtain(exchangeCall).finally(() => {
          if (this.inFlight === flight) this.inFlight = undefined;
        }),
      };
      flight.promise.catch(() => undefined);
      this.inFlight = flight;
    }
    return this.wait(this.inFlight, call);
  }

  /** Waits for `flight` as `call`: its own signal ends its wait; it is charged the exchange's attempts. */
  private wait(flight: InFlight, call: Call): Promise<TokenAnswer> {
    flight.waiters++;
    return new Promise<TokenAnswer>((resolve, reject) => {
      const leave = (): void => {
        call.signal?.removeEventListener('abort', onAbort);
        flight.waiters--;
      };
      const onAbort = (): void => {
        leave();
        if (flight.waiters === 0) flight.controller.abort();
        reject(new AbortedError());
      };
      if (call.signal?.aborted === true) {
        onAbort();
        return;
      }
      call.signal?.addEventListener('abort', onAbort, { once: true });
      flight.promise.then((answer) => {
        leave();
        call.iamAttempts += flight.call.iamAttempts;
        call.waitedMs += flight.call.waitedMs;
        resolve(answer);
      }, (e: unknown) => {
        leave();
        call.iamAttempts += flight.call.iamAttempts;
        reject(e);
      });
    });
  }

  /** A token from the shared store, a peer process's exchange, or our own exchange. */
  private async obtain(call: Call): Promise<TokenAnswer> {
    const cred = this.credentials;
    if (this.store === undefined || cred.kind !== 'api-key') return this.exchange(call);
    try {
      const r = await sharedToken(this.store, cred.apiKey, cred.iamBaseUrl, async () => {
        const t = await this.exchangeToken(call);
        if (!t.ok) throw new ExchangeFailed(t);
        return t.token;
      }, {
        now: this.engine.now,
        // Polling for a peer's entry uses real time (the client's clock may be a test's).
        sleep: (ms) => realSleep(ms, call.signal),
        // A peer's exchange is one IAM round trip: wait a few seconds for it at most.
        waitMs: Math.min(DEFAULT_PEER_WAIT_MS, Math.max(0, call.budget.windowStart + this.engine.limits.budgetMs - this.engine.now())),
        ...(call.signal === undefined ? {} : { signal: call.signal }),
      });
      if (r.source !== 'exchange') {
        this.sanitizer.add(r.token.accessToken);
        this.cache.store({ accessToken: r.token.accessToken, expiresAt: r.token.expiresAt, obtainedAt: this.engine.now() });
      }
      return { ok: true, token: r.token.accessToken };
    } catch (e) {
      if (e instanceof ExchangeFailed) return e.answer;
      throw e;
    }
  }

  private async exchange(call: Call): Promise<TokenAnswer> {
    const t = await this.exchangeToken(call);
    return t.ok ? { ok: true, token: t.token.accessToken } : t;
  }

  /** The IAM exchange itself; the token with its expiry. */
  private async exchangeToken(call: Call): Promise<{ readonly ok: true; readonly token: CachedToken } | Extract<TokenAnswer, { ok: false }>> {
    const cred = this.credentials;
    // TokenCache always holds a static token, so only an API key gets here.
    if (cred.kind !== 'api-key') throw new Error('internal: a static token cannot be exchanged');
    const iam = new URL(cred.iamBaseUrl);
    const endpoint = displayUrl(iam.origin);
    const r = await this.engine.run({
      what: 'iam',
      service: 'iam',
      idempotent: true,
      syncGate: false,
      request: {
        origin: iam.origin,
        path: `${iam.pathname.replace(/\/+$/, '')}${IAM_TOKEN_PATH}`,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': this.userAgent },
        body: `grant_type=${encodeURIComponent(IAM_GRANT_TYPE)}&apikey=${encodeURIComponent(cred.apiKey)}`,
        readSuccessBody: true,
      },
    }, call);
    switch (r.kind) {
      case 'done': {
        let body: unknown;
        try {
          body = JSON.parse(r.answer.text);
        } catch {
          return { ok: false, remembered: false, failure: { kind: 'bad-response', service: 'iam', endpoint, status: r.answer.status, what: 'token', detail: 'not-json' } };
        }
        // An IAM answer's refresh token is never used, but a server may echo it: know it.
        const refresh = (body as { refresh_token?: unknown } | undefined)?.refresh_token;
        if (typeof refresh === 'string') this.sanitizer.add(refresh);
        const t = tokenFromIamResponse(body, this.engine.now());
        if (t === undefined) return { ok: false, remembered: false, failure: { kind: 'bad-response', service: 'iam', endpoint, status: r.answer.status, what: 'token', detail: 'wrong-shape' } };
        this.sanitizer.add(t.accessToken);
        this.cache.store(t);
        return { ok: true, token: t };
      }
      case 'fail': {
        // Only IAM refusing the credentials is remembered here (the engine remembers an
        // endpoint whose TLS is refused): one odd answer (a bad body, huge headers, an
        // outage) is not held against later calls.
        const f = r.failure;
        if (f.kind === 'refused') {
          this.refusal = { failure: f, until: this.engine.now() + REFUSAL_MEMORY_MS };
        }
        return { ok: false, failure: f, remembered: r.remembered };
      }
      case 'gated':
      case 'uncertain':
        // IAM has no gate and its exchange is idempotent: the engine cannot say these.
        throw new Error(`internal: the IAM exchange came back ${r.kind}`);
    }
  }
}
