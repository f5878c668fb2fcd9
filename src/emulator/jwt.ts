import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Minimal HS256 JSON Web Tokens, enough for an emulated IAM: clients (IBM's SDK among
 * them) decode `iat` and `exp` from the access token, and the emulated key API verifies
 * the signature and expiry. Pure apart from the HMAC.
 */

/** Claims the emulator puts in an access token. Extra claims are allowed. */
export interface JwtClaims {
  readonly iat: number;
  readonly exp: number;
  readonly [claim: string]: unknown;
}

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

/** Signs `claims` with HS256 under `secret` and returns the compact JWT. */
export function signJwt(claims: JwtClaims, secret: Buffer): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'emulator' }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** Why a token was refused. */
export type JwtFailure = 'malformed' | 'bad-signature' | 'expired';

/** Result of {@link verifyJwt}. */
export type JwtVerification =
  | { readonly ok: true; readonly claims: JwtClaims }
  | { readonly ok: false; readonly reason: JwtFailure };

/**
 * Verifies an HS256 token signed by {@link signJwt} and checks `exp` against `nowSeconds`
 * (the emulator clock, not real time). Never throws.
 */
export function verifyJwt(token: string, secret: Buffer, nowSeconds: number): JwtVerification {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) {
    return { ok: false, reason: 'malformed' };
  }
  const [header, payload, signature] = parts as [string, string, string];
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad-signature' };
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof claims !== 'object' || claims === null) return { ok: false, reason: 'malformed' };
  const { iat, exp } = claims as Record<string, unknown>;
  if (typeof iat !== 'number' || typeof exp !== 'number') return { ok: false, reason: 'malformed' };
  if (nowSeconds >= exp) return { ok: false, reason: 'expired' };
  return { ok: true, claims: claims as JwtClaims };
}
