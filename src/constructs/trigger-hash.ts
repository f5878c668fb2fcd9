/**
 * The sync trigger hash, pure part (no cdktf import): the canonical document of what was
 * declared about a key, its canonical JSON, and its SHA-256.
 *
 * The canonical JSON is byte-for-byte what Terraform's `jsonencode` prints for the same
 * document (object keys sorted, no white space, Go's escaping of `<`, `>`, `&`,
 * U+2028 and U+2029). So when some input is a Terraform token and the hash is rendered as
 * `sha256(jsonencode({...}))` instead, Terraform computes the SAME digest as the literal
 * form once the token's value is known: moving a value from a literal to a token (or back)
 * does not by itself re-run a sync.
 *
 * Covered: instance id, endpoint (resolved base URL), key id, key ring, lifecycle markers,
 * association CRNs (as a sorted set) and extra triggers. Not covered: anything that only
 * tunes waiting (`maxWaitSeconds`, `verifyRegistrations`) and the CLI version.
 */
import { createHash } from 'node:crypto';

/** Version of the canonical document; bump only to force every key to re-sync. */
export const SYNC_HASH_VERSION = 1;

/** Everything the hash covers. Strings may be Terraform tokens (see key-sync.ts). */
export interface SyncHashInput {
  readonly instanceId: string;
  /** The instance's resolved base URL. */
  readonly endpoint: string;
  readonly keyId: string;
  readonly keyRing?: string;
  readonly lifecycle?: { readonly state?: string; readonly rotation?: string };
  /** Association CRNs in any order. */
  readonly associations: readonly string[];
  /** Extra user triggers. */
  readonly triggers?: Readonly<Record<string, string>>;
}

/** The canonical document that is hashed. Optional fields are omitted when unset. */
export interface SyncHashDocument {
  readonly v: number;
  readonly instanceId: string;
  readonly endpoint: string;
  readonly keyId: string;
  readonly keyRing?: string;
  readonly lifecycle: { readonly rotation?: string; readonly state?: string };
  readonly associations: readonly string[];
  readonly triggers: Readonly<Record<string, string>>;
}

/**
 * Code-unit order, which for the ASCII values we accept is the byte order Terraform's
 * `sort()` uses.
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Builds the canonical document. `sortAssociations: false` leaves the CRN list in the
 * given order (the token form sorts it with Terraform's `sort()` instead).
 */
export function syncHashDocument(input: SyncHashInput, sortAssociations = true): SyncHashDocument {
  const lifecycle: { rotation?: string; state?: string } = {};
  if (input.lifecycle?.rotation !== undefined) lifecycle.rotation = input.lifecycle.rotation;
  if (input.lifecycle?.state !== undefined) lifecycle.state = input.lifecycle.state;
  const triggers: Record<string, string> = {};
  for (const k of Object.keys(input.triggers ?? {}).sort(compareStrings)) triggers[k] = input.triggers![k];
  const associations = sortAssociations ? [...input.associations].sort(compareStrings) : [...input.associations];
  return {
    v: SYNC_HASH_VERSION,
    instanceId: input.instanceId,
    endpoint: input.endpoint,
    keyId: input.keyId,
    ...(input.keyRing !== undefined ? { keyRing: input.keyRing } : {}),
    lifecycle,
    associations,
    triggers,
  };
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort(compareStrings)) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/**
 * JSON with object keys sorted at every level and no white space, escaped like Go's
 * `encoding/json` (which Terraform's `jsonencode` uses): `<`, `>`, `&`, U+2028 and U+2029
 * become `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`. Those characters only occur
 * inside strings, so replacing them in the output is safe.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value))
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** SHA-256 hex of a string's UTF-8 bytes (what Terraform's `sha256()` returns). */
export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** The literal trigger hash of inputs that are all known at synth. */
export function literalSyncHash(input: SyncHashInput): string {
  return sha256Hex(canonicalJson(syncHashDocument(input)));
}

/**
 * Escapes a literal string for use inside a quoted HCL string in a Terraform expression
 * that cdktf renders (cdktf 0.21 itself only escapes newlines and `${`): backslash,
 * double quote and the `%{` template directive opener.
 */
export function escapeHclQuoted(s: string): string {
  return s.replace(/\\/g, () => '\\\\').replace(/"/g, () => '\\"').replace(/%\{/g, () => '%%{');
}

/**
 * Escapes literal text placed directly in a Terraform string attribute (not inside an
 * expression): `${` and `%{` would start an interpolation or a directive.
 */
export function escapeTemplateLiteral(s: string): string {
  return s.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/** Quotes a literal value as one /bin/sh word: `'...'`, with `'` written as `'\''`. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
