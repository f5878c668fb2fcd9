/**
 * Bearer tokens for key-service requests: the IAM API-key exchange (one at a time, run
 * through the attempt engine under the budget of the call that needs it), the token
 * cache, and the memory of refusals that every call would meet again (IAM refused the
 * API key; IAM's certificate), so a fleet asks IAM once, not once per key.
 */
import { TokenCache, tokenFromIamResponse, IAM_GRANT_TYPE, IAM_TOKEN_PATH, type Credentials } from './iam';
import { REFUSAL_MEMORY_MS, type Call, type Engine, type TokenSource } from './engine';
import type { Failure } from './failure';
import type { Sanitizer } from './sanitize';
import { displayUrl } from '../domain/endpoints';

type TokenAnswer = { readonly ok: true; readonly token: string } | { readonly ok: false; readonly failure: Failure; readonly remembered: boolean };

export class IamTokens implements TokenSource {
  private readonly cache: TokenCache;
  private inFlight: Promise<TokenAnswer> | undefined;
  private refusal: { readonly failure: Failure; readonly until: number } | undefined;

  constructor(
    readonly credentials: Credentials,
    private readonly engine: Engine,
    private readonly sanitizer: Sanitizer,
    private readonly userAgent: string,
  ) {
    this.cache = new TokenCache(credentials);
  }

  get canRefresh(): boolean {
    return this.cache.canRefresh;
  }

  invalidate(): void {
    this.cache.invalidate();
  }

  token(call: Call): Promise<TokenAnswer> {
    const now = this.engine.now();
    const cached = this.cache.current(now);
    if (cached !== undefined) return Promise.resolve({ ok: true, token: cached });
    if (this.refusal !== undefined && now < this.refusal.until) return Promise.resolve({ ok: false, failure: this.refusal.failure, remembered: true });
    this.inFlight ??= this.exchange(call).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async exchange(call: Call): Promise<TokenAnswer> {
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
        const t = tokenFromIamResponse(body, this.engine.now());
        if (t === undefined) return { ok: false, remembered: false, failure: { kind: 'bad-response', service: 'iam', endpoint, status: r.answer.status, what: 'token', detail: 'wrong-shape' } };
        this.sanitizer.add(t.accessToken);
        this.cache.store(t);
        return { ok: true, token: t.accessToken };
      }
      case 'fail': {
        // Only answers about the credentials or the endpoint itself are remembered: one odd
        // answer (a bad body, huge headers, an outage) is not held against later calls.
        const f = r.failure;
        if (f.kind === 'refused' || (f.kind === 'unusable-connection' && f.problem !== 'headers')) {
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
