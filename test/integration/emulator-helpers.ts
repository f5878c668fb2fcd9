// Shared helpers for the emulator integration tests (not a test file itself).
import { request } from 'undici';

export const KP_INSTANCE = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
export const HPCS_INSTANCE = '6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73';
export const PAYMENTS_KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
export const ANALYTICS_KEY = 'c7e2a9f4-1b6d-4c38-9e05-a3f8d2b1c6e9';
export const DEMO_KEY = 'ks-emulator-demo-key';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function call(
  url: string,
  method: 'GET' | 'POST' | 'DELETE' | 'PUT',
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer; signal?: AbortSignal } = {},
): Promise<Answer> {
  const res = await request(url + path, {
    method,
    headers: opts.headers ?? {},
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

export async function token(url: string, apiKey = DEMO_KEY): Promise<string> {
  const r = await call(url, 'POST', '/identity/token', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=${encodeURIComponent('urn:ibm:params:oauth:grant-type:apikey')}&apikey=${encodeURIComponent(apiKey)}`,
  });
  if (r.status !== 200) throw new Error(`token: ${r.status} ${r.text}`);
  return r.json.access_token as string;
}

export function kms(
  url: string,
  tok: string,
  method: 'GET' | 'POST',
  path: string,
  instance = KP_INSTANCE,
  extra: Record<string, string> = {},
): Promise<Answer> {
  return call(url, method, path, { headers: { authorization: `Bearer ${tok}`, 'bluemix-instance': instance, ...extra } });
}

export function decodeJwtPayload(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}
