/**
 * Pure parsing of a rotate request's body. A key whose material the service generated is
 * rotated with an empty body (IBM's clients also send `{}` or `null`); an imported key
 * needs new key material: `{"payload": "<base64 AES key>"}`, optionally with the
 * `encryptedNonce`, `iv` and `encryptionAlgorithm` of a secure import. The material is
 * checked for shape only, never kept, and never echoed in a message (it is a secret).
 */

/** What the body asks for, or why it is refused. */
export type RotateBody =
  | { readonly ok: true; readonly payload: boolean }
  | { readonly ok: false; readonly message: string; readonly field: string };

const FIELDS: ReadonlySet<string> = new Set(['payload', 'encryptedNonce', 'iv', 'encryptionAlgorithm']);
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const PREFIX = 'Invalid body data was passed: Please ensure the data passed had valid formatting with no invalid characters';

function bad(field: string, detail: string): RotateBody {
  return { ok: false, field, message: `${PREFIX}: ${detail}` };
}

/** Parses the rotate body (`undefined` or empty: no payload). */
export function parseRotateBody(body: Buffer | undefined): RotateBody {
  if (body === undefined || body.length === 0) return { ok: true, payload: false };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return bad('body', 'the body is not UTF-8 JSON');
  }
  if (text.trim() === '') return { ok: true, payload: false };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return bad('body', 'the body is not JSON; send nothing, or {"payload": "<base64 key material>"} for an imported key');
  }
  if (json === null) return { ok: true, payload: false };
  if (typeof json !== 'object' || Array.isArray(json)) return bad('body', 'the body must be a JSON object');
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!FIELDS.has(k)) return bad(k, `json: unknown field "${k.slice(0, 40)}"`);
  }
  for (const k of ['encryptedNonce', 'iv', 'encryptionAlgorithm']) {
    if (o[k] !== undefined && typeof o[k] !== 'string') return bad(k, `"${k}" must be a string`);
  }
  const payload = o.payload;
  if (payload === undefined || payload === '') return { ok: true, payload: false };
  if (typeof payload !== 'string' || payload.length > 1000 || !BASE64.test(payload) || payload.length % 4 !== 0) {
    return bad('payload', '"payload" must be base64-encoded key material');
  }
  const bytes = Buffer.from(payload, 'base64').length;
  if (bytes !== 16 && bytes !== 24 && bytes !== 32) return bad('payload', `"payload" must decode to a 128, 192 or 256-bit key; got ${bytes * 8} bits`);
  return { ok: true, payload: true };
}
