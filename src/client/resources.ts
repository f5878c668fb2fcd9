/**
 * The resources the key API answers with, read defensively into typed values: a
 * registrations page and a key. Every string is put through the sanitizer here, at the
 * boundary, and fields we do not know are dropped, so nothing a server sends reaches
 * output unexamined. Pure.
 */
import { obj } from './errors';
import type { Sanitizer } from './sanitize';

/** A registration: a cloud resource associated with a root key. */
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
  /** The key version that protects the resource. */
  readonly keyVersion?: KeyVersion;
}

export interface KeyVersion {
  readonly id?: string;
  readonly creationDate?: string;
}

/** A key as `GET /api/v2/keys/{id}` (or `/metadata`) describes it. */
export interface KeyInfo {
  readonly id?: string;
  readonly name?: string;
  /** The key's CRN; its service-name field says which service holds it (`kms` or `hs-crypto`). */
  readonly crn?: string;
  /** 0 pre-activation, 1 active, 2 suspended, 3 deactivated, 5 destroyed. */
  readonly state?: number;
  /** true for a standard key; root keys are not extractable. */
  readonly extractable?: boolean;
  /** Key material imported by the user (its rotation needs new material). */
  readonly imported?: boolean;
  readonly creationDate?: string;
  readonly lastUpdateDate?: string;
  readonly lastRotateDate?: string;
  readonly keyVersion?: KeyVersion;
  readonly keyRingID?: string;
  readonly aliases?: readonly string[];
}

/** Longest field we keep (a CRN is at most 512 characters). */
const FIELD_MAX_CHARS = 1024;

function text(s: Sanitizer, v: unknown): string | undefined {
  return s.text(v, FIELD_MAX_CHARS);
}

function setText<T extends object>(out: T, key: keyof T & string, s: Sanitizer, v: unknown): void {
  const t = text(s, v);
  if (t !== undefined) (out as Record<string, unknown>)[key] = t;
}

function keyVersion(s: Sanitizer, v: unknown): KeyVersion | undefined {
  const o = obj(v);
  if (o === undefined) return undefined;
  const out: { -readonly [K in keyof KeyVersion]: KeyVersion[K] } = {};
  setText(out, 'id', s, o['id']);
  setText(out, 'creationDate', s, o['creationDate']);
  return out;
}

function registration(s: Sanitizer, v: Record<string, unknown>): Registration {
  const out: { -readonly [K in keyof Registration]: Registration[K] } = {};
  for (const k of ['keyId', 'keyName', 'resourceCrn', 'createdBy', 'creationDate', 'updatedBy', 'lastUpdated', 'description'] as const) setText(out, k, s, v[k]);
  if (typeof v['preventKeyDeletion'] === 'boolean') out.preventKeyDeletion = v['preventKeyDeletion'];
  const kv = keyVersion(s, v['keyVersion']);
  if (kv !== undefined) out.keyVersion = kv;
  return out;
}

/** A registrations page, or `undefined` when the body is not a registrations collection. */
export function parseRegistrationsPage(body: string, s: Sanitizer): { readonly items: Registration[]; readonly totalCount?: number } | undefined {
  const d = parseCollection(body);
  if (d === undefined) return undefined;
  const items = d.resources.map((r) => registration(s, r));
  return d.totalCount === undefined ? { items } : { items, totalCount: d.totalCount };
}

/** The first key of a keys collection, or `undefined` when there is none or it is not a key. */
export function parseKey(body: string, s: Sanitizer): KeyInfo | undefined {
  const d = parseCollection(body);
  const k = obj(d?.resources[0]);
  if (k === undefined) return undefined;
  const out: { -readonly [K in keyof KeyInfo]: KeyInfo[K] } = {};
  for (const f of ['id', 'name', 'crn', 'creationDate', 'lastUpdateDate', 'lastRotateDate', 'keyRingID'] as const) setText(out, f, s, k[f]);
  const state = k['state'];
  if (typeof state === 'number' && Number.isInteger(state) && state >= 0 && state <= 9) out.state = state;
  if (typeof k['extractable'] === 'boolean') out.extractable = k['extractable'];
  if (typeof k['imported'] === 'boolean') out.imported = k['imported'];
  const kv = keyVersion(s, k['keyVersion']);
  if (kv !== undefined) out.keyVersion = kv;
  if (Array.isArray(k['aliases'])) {
    out.aliases = k['aliases'].slice(0, 5).flatMap((a) => {
      const t = s.text(a, 100);
      return t === undefined ? [] : [t];
    });
  }
  return out.id === undefined ? undefined : out;
}

/**
 * A KMS collection: `metadata` (an object) and `resources` (an array of objects). A body
 * without them is not one, whatever its status: an error object answered with 200 must
 * not read as an empty listing. `resources` may be absent only when the metadata counts
 * no items.
 */
function parseCollection(body: string): { readonly resources: readonly Record<string, unknown>[]; readonly totalCount?: number } | undefined {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return undefined;
  }
  const d = obj(data);
  const metadata = obj(d?.['metadata']);
  if (d === undefined || metadata === undefined) return undefined;
  const tc = metadata['totalCount'];
  const totalCount = typeof tc === 'number' && Number.isSafeInteger(tc) && tc >= 0 ? tc : undefined;
  const raw = d['resources'];
  if (raw === undefined) {
    const counted = metadata['collectionTotal'] === 0 || totalCount === 0;
    return counted ? { resources: [], ...(totalCount === undefined ? {} : { totalCount }) } : undefined;
  }
  if (!Array.isArray(raw)) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const r of raw) {
    const o = obj(r);
    if (o === undefined) return undefined;
    resources.push(o);
  }
  return totalCount === undefined ? { resources } : { resources, totalCount };
}
