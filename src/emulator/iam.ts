import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { signJwt, verifyJwt, type JwtClaims, type JwtVerification } from './jwt';
import { iamError, jsonReply, type Reply } from './reply';

/** The only grant type the emulated IAM accepts for API keys. */
export const APIKEY_GRANT = 'urn:ibm:params:oauth:grant-type:apikey';

const MAX_REFRESH_TOKENS = 10_000;

/**
 * Emulated IAM: exchanges API keys for HS256 JWT access tokens whose `iat`/`exp` follow the
 * emulator clock, and verifies them for the key API. Refresh tokens are opaque and map
 * back to the API key (the `refresh_token` grant works too).
 */
export class TokenIssuer {
  private readonly secret = randomBytes(32);
  private readonly refreshTokens = new Map<string, string>();

  constructor(
    private readonly ttlSeconds: number,
    private readonly knowsApiKey: (apiKey: string) => boolean,
    private readonly issuer: string,
    /** Bearer tokens accepted as they are (tests of the IBMCLOUD_IAM_TOKEN path); never expire. */
    private readonly staticTokens: ReadonlySet<string> = new Set(),
  ) {}

  /** Handles `POST /identity/token` given the request's content type and body. */
  handle(contentType: string | undefined, body: Buffer, nowMs: number): Reply {
    if (!contentType || !/^application\/x-www-form-urlencoded\b/i.test(contentType)) {
      return iamError(400, 'BXNIM0109E', `Unsupported content type '${(contentType ?? '').slice(0, 60)}'. Use Content-Type: application/x-www-form-urlencoded.`);
    }
    const form = new URLSearchParams(body.toString('latin1'));
    const grant = form.get('grant_type');
    let apiKey: string | null;
    if (grant === APIKEY_GRANT) {
      apiKey = form.get('apikey');
      if (!apiKey) return iamError(400, 'BXNIM0109E', 'Property missing or empty. Provide the apikey parameter.');
      if (!this.knowsApiKey(apiKey)) return iamError(400, 'BXNIM0415E', 'Provided API key could not be found.');
    } else if (grant === 'refresh_token') {
      const rt = form.get('refresh_token');
      apiKey = rt === null ? null : (this.refreshTokens.get(rt) ?? null);
      if (apiKey === null || !this.knowsApiKey(apiKey)) return iamError(400, 'BXNIM0407E', 'Provided refresh token is not valid.');
    } else {
      return iamError(400, 'BXNIM0103E', `Unsupported grant_type '${(grant ?? '').slice(0, 60)}'. Use grant_type=${APIKEY_GRANT}.`);
    }
    return jsonReply(200, this.issue(apiKey, nowMs));
  }

  /** Issues a token response for a known API key. */
  issue(apiKey: string, nowMs: number): object {
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + this.ttlSeconds;
    // A stable, non-reversible id per API key: never the key itself.
    const subject = `ServiceId-${createHash('sha256').update(apiKey).digest('hex').slice(0, 8)}-emulator`;
    const accessToken = signJwt(
      {
        iam_id: `iam-${subject}`,
        id: `iam-${subject}`,
        realmid: 'iam',
        jti: randomUUID(),
        identifier: subject,
        sub: subject,
        sub_type: 'ServiceId',
        account: { valid: true, bss: '1234567890abcdef1234567890abcdef' },
        iat,
        exp,
        iss: this.issuer,
        grant_type: APIKEY_GRANT,
        scope: 'ibm openid',
        client_id: 'default',
        acr: 1,
        amr: ['pwd'],
      },
      this.secret,
    );
    const refreshToken = randomBytes(48).toString('base64url');
    if (this.refreshTokens.size >= MAX_REFRESH_TOKENS) {
      const oldest = this.refreshTokens.keys().next();
      if (!oldest.done) this.refreshTokens.delete(oldest.value);
    }
    this.refreshTokens.set(refreshToken, apiKey);
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      ims_user_id: 0,
      token_type: 'Bearer',
      expires_in: this.ttlSeconds,
      expiration: exp,
      scope: 'ibm openid',
    };
  }

  /** Verifies an access token against the emulator clock. */
  verify(token: string, nowMs: number): JwtVerification {
    if (this.staticTokens.has(token)) {
      return { ok: true, claims: { iss: this.issuer, sub: 'static-token', iat: 0, exp: Number.MAX_SAFE_INTEGER } satisfies JwtClaims };
    }
    return verifyJwt(token, this.secret, Math.floor(nowMs / 1000));
  }
}
