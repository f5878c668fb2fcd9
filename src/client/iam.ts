/**
 * IAM credentials, the token answer and the in-process token cache. Pure: reading the
 * environment is a function of an `env` record, and the cache takes the time as an
 * argument. The exchange itself runs through the attempt engine (iam-tokens.ts), under
 * the budget of the call that needs the token.
 */
import { checkEndpointUrl, displayUrl } from '../domain/endpoints';

export const DEFAULT_IAM_ENDPOINT = 'https://iam.cloud.ibm.com';
export const IAM_TOKEN_PATH = '/identity/token';
export const IAM_GRANT_TYPE = 'urn:ibm:params:oauth:grant-type:apikey';

/** Where the bearer token comes from. Never printed. */
export type Credentials =
  | { readonly kind: 'api-key'; readonly apiKey: string; readonly iamBaseUrl: string; readonly envName: string }
  | { readonly kind: 'token'; readonly token: string; readonly envName: string };

export type CredentialsResult =
  | { readonly ok: true; readonly credentials: Credentials }
  | { readonly ok: false; readonly problem: string; readonly fix: string };

/** Printable ASCII without spaces: what may go into an HTTP header as a credential. */
export const HEADER_SAFE = /^[\x21-\x7e]+$/;

function pick(env: Readonly<Record<string, string | undefined>>, names: readonly string[]): [string, string] | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v.trim() !== '') return [n, v.trim()];
  }
  return undefined;
}

/**
 * Reads credentials from the environment: `IBMCLOUD_API_KEY` (else `IC_API_KEY`),
 * exchanged at `IBMCLOUD_IAM_API_ENDPOINT` (default https://iam.cloud.ibm.com); or a
 * ready token in `IBMCLOUD_IAM_TOKEN` (else `IC_IAM_TOKEN`), "Bearer " prefix stripped.
 * An API key wins over a token (it can be refreshed). Messages never contain the values.
 */
export function credentialsFromEnv(env: Readonly<Record<string, string | undefined>>): CredentialsResult {
  const key = pick(env, ['IBMCLOUD_API_KEY', 'IC_API_KEY']);
  if (key !== undefined) {
    const [envName, apiKey] = key;
    if (!HEADER_SAFE.test(apiKey)) {
      return { ok: false, problem: `${envName} contains spaces or control characters`, fix: `set ${envName} to the API key exactly as IBM Cloud issued it` };
    }
    const rawIam = env['IBMCLOUD_IAM_API_ENDPOINT'];
    let iamBaseUrl = DEFAULT_IAM_ENDPOINT;
    if (rawIam !== undefined && rawIam.trim() !== '') {
      const check = checkEndpointUrl(rawIam.trim());
      if (!check.ok) {
        return { ok: false, problem: `IBMCLOUD_IAM_API_ENDPOINT "${displayUrl(rawIam.trim())}" ${check.problem}`, fix: check.fix };
      }
      // Accept the endpoint with or without the /identity/token path.
      iamBaseUrl = check.url.endsWith(IAM_TOKEN_PATH) ? check.url.slice(0, -IAM_TOKEN_PATH.length) : check.url;
    }
    return { ok: true, credentials: { kind: 'api-key', apiKey, iamBaseUrl, envName } };
  }
  const tok = pick(env, ['IBMCLOUD_IAM_TOKEN', 'IC_IAM_TOKEN']);
  if (tok !== undefined) {
    const [envName, raw] = tok;
    const token = raw.replace(/^bearer\s+/i, '');
    if (token === '' || !HEADER_SAFE.test(token)) {
      return { ok: false, problem: `${envName} is not a bearer token (it has spaces or control characters)`, fix: `set ${envName} to the output of \`ibmcloud iam oauth-tokens --output json\` (.iam_token), with or without "Bearer "` };
    }
    return { ok: true, credentials: { kind: 'token', token, envName } };
  }
  return {
    ok: false,
    problem: 'no IBM Cloud credentials in the environment',
    fix: 'export IBMCLOUD_API_KEY (or IC_API_KEY) with an API key that has the Writer or Manager role on the instance, or IBMCLOUD_IAM_TOKEN (or IC_IAM_TOKEN) with a token',
  };
}

/** The secrets in credentials, for the redactor. */
export function secretsOf(c: Credentials): string[] {
  return c.kind === 'api-key' ? [c.apiKey] : [c.token, `Bearer ${c.token}`];
}

/** A token held by the cache. */
export interface CachedToken {
  readonly accessToken: string;
  /** Epoch ms when it expires; `undefined` when unknown (a static token). */
  readonly expiresAt?: number;
  /** Epoch ms when it was obtained. */
  readonly obtainedAt: number;
}

/** Longest lifetime we believe an IAM answer about (they live an hour). */
export const MAX_TOKEN_LIFETIME_MS = 86_400_000;

/** Refresh when less than this is left ... */
export const REFRESH_BEFORE_MS = 5 * 60_000;
/** ... or less than this fraction of the lifetime, whichever is smaller (short test tokens). */
export const REFRESH_BEFORE_FRACTION = 0.1;

/** Whether a token should be refreshed at `now`. */
export function needsRefresh(t: CachedToken, now: number): boolean {
  if (t.expiresAt === undefined) return false;
  const ttl = Math.max(0, t.expiresAt - t.obtainedAt);
  const early = Math.min(REFRESH_BEFORE_MS, ttl * REFRESH_BEFORE_FRACTION);
  return now >= t.expiresAt - early;
}

/**
 * Reads an IAM token response (`access_token`, `expires_in`, `expiration` in epoch s;
 * `expires_in` wins, see below).
 * Returns `undefined` when it has no usable token.
 */
export function tokenFromIamResponse(body: unknown, now: number): CachedToken | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const accessToken = b['access_token'];
  if (typeof accessToken !== 'string' || !HEADER_SAFE.test(accessToken)) return undefined;
  let expiresAt: number | undefined;
  const expiration = b['expiration'];
  const expiresIn = b['expires_in'];
  // `expires_in` first: it is relative, so a skew between our clock and IAM's does not
  // move it (`expiration` is IAM's absolute time: 2 h of skew made a token look valid
  // for 3 h on our clock, and the key service refused it after a long gate wait).
  if (typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0) {
    expiresAt = now + expiresIn * 1000;
  } else if (typeof expiration === 'number' && Number.isFinite(expiration) && expiration * 1000 > now) {
    expiresAt = expiration * 1000;
  } else {
    // No (future) expiry: assume the usual hour rather than trusting it forever.
    expiresAt = now + 3_600_000;
  }
  // IAM tokens live an hour; never trust an absurd (or Infinity) lifetime past a day.
  expiresAt = Math.min(expiresAt, now + MAX_TOKEN_LIFETIME_MS);
  return { accessToken, expiresAt, obtainedAt: now };
}

/**
 * Token cache for one set of credentials. A static token is always "current"; an API-key
 * token is current until {@link needsRefresh}. `invalidate()` drops it (the 401 path).
 */
export class TokenCache {
  private token: CachedToken | undefined;

  constructor(readonly credentials: Credentials) {
    if (credentials.kind === 'token') this.token = { accessToken: credentials.token, obtainedAt: 0 };
  }

  /** Whether a fresh token can be obtained (only with an API key). */
  get canRefresh(): boolean {
    return this.credentials.kind === 'api-key';
  }

  /** A token usable at `now`, or `undefined` when one must be fetched. */
  current(now: number): string | undefined {
    if (this.token === undefined) return undefined;
    if (this.canRefresh && needsRefresh(this.token, now)) return undefined;
    return this.token.accessToken;
  }

  store(t: CachedToken): void {
    this.token = t;
  }

  invalidate(): void {
    if (this.canRefresh) this.token = undefined;
  }
}
