/**
 * Gathers the version status of keys with as few requests as the question allows: the
 * registrations come from one instance-wide listing (all pages) when more than a few keys
 * are asked about, else from each key's own listing; each key is read once for its
 * current version. The verdicts are the pure logic of client/version-status.ts.
 */
import type { CallInfo, KeyInfo, KmsClient, Registration, RegistrationsResult } from '../client/kms-client';
import { versionStatus, type KeyVersionStatus } from '../client/version-status';
import { isUuid } from '../domain';
import { EXIT_FAILED, EXIT_OK, EXIT_RETRY_LATER, exitCodeFor } from './output/exit-codes';

/** At most this many keys are looked up through their own listings; more share one instance-wide listing. */
export const PER_KEY_LISTINGS_UP_TO = 3;

/** Exit code of a status run with at least one key behind and nothing failed. */
export const EXIT_BEHIND = 3;

export interface KeyStatus {
  /** The key as it was given (UUID or alias). */
  readonly keyId: string;
  /** Its UUID, once read. */
  readonly uuid?: string;
  readonly outcome: 'read' | 'failed';
  readonly status?: KeyVersionStatus;
  /** Why it could not be read (the key read or its listing). */
  readonly failedCall?: CallInfo & { readonly what: 'key' | 'registrations' };
}

export interface StatusRun {
  readonly keys: readonly KeyStatus[];
  /** The instance-wide listing, when one was made (its failure fails every key). */
  readonly listing?: RegistrationsResult;
  /** Requests made: key reads and listing requests (pages, retries included). */
  readonly requests: { readonly keyReads: number; readonly listings: number };
}

export interface StatusOptions {
  readonly instanceId: string;
  readonly keyRing?: string;
  readonly graceMs: number;
  readonly signal?: AbortSignal;
  /** Our clock, epoch ms. */
  readonly now: () => number;
}

/** The exit code of a status run: 1 if any read failed for good, else 75 if any could not complete, else 3 if any key is behind, else 0. */
export function statusExitCode(keys: readonly KeyStatus[], listing?: RegistrationsResult): number {
  if (listing !== undefined && listing.outcome !== 'listed') return exitCodeFor(listing);
  const failed = keys.filter((k) => k.failedCall !== undefined).map((k) => exitCodeFor({ outcome: 'failed', retryLater: k.failedCall?.retryLater === true }));
  if (failed.includes(EXIT_FAILED)) return EXIT_FAILED;
  if (failed.includes(EXIT_RETRY_LATER)) return EXIT_RETRY_LATER;
  return keys.some((k) => k.status?.verdict === 'behind') ? EXIT_BEHIND : EXIT_OK;
}

function common(o: StatusOptions): { instanceId: string; keyRing?: string; signal?: AbortSignal } {
  return { instanceId: o.instanceId, ...(o.keyRing === undefined ? {} : { keyRing: o.keyRing }), ...(o.signal === undefined ? {} : { signal: o.signal }) };
}

/**
 * The status of `keys` (or, with 'all-registered', of every key that has a registration).
 * Never throws for HTTP outcomes.
 */
export async function gatherStatus(client: KmsClient, keys: readonly string[] | 'all-registered', o: StatusOptions): Promise<StatusRun> {
  let listing: RegistrationsResult | undefined;
  let listings = 0;
  let byKey: Map<string, Registration[]> | undefined;
  if (keys === 'all-registered' || keys.length > PER_KEY_LISTINGS_UP_TO) {
    listing = await client.listRegistrations({ ...common(o), pageSize: 5000 });
    listings += listing.attempts;
    if (listing.outcome !== 'listed') return { keys: [], listing, requests: { keyReads: 0, listings } };
    byKey = new Map();
    for (const r of listing.registrations) {
      if (r.keyId === undefined) continue;
      const id = r.keyId.toLowerCase();
      const list = byKey.get(id) ?? [];
      list.push(r);
      byKey.set(id, list);
    }
  }
  const targets = keys === 'all-registered' ? [...(byKey?.keys() ?? [])].filter(isUuid) : [...keys];
  let keyReads = 0;
  const results = await Promise.all(targets.map(async (given): Promise<KeyStatus> => {
    const read = await client.getKey(given, common(o));
    keyReads += read.attempts;
    if (read.outcome !== 'read' || read.key === undefined) return { keyId: given, outcome: 'failed', failedCall: { ...read, what: 'key' } };
    const key: KeyInfo = read.key;
    const uuid = key.id ?? given;
    let regs: readonly Registration[];
    if (byKey !== undefined) {
      regs = byKey.get(uuid.toLowerCase()) ?? [];
    } else {
      const own = await client.listRegistrations({ ...common(o), keyId: uuid, pageSize: 5000 });
      listings += own.attempts;
      if (own.outcome !== 'listed') return { keyId: given, uuid, outcome: 'failed', failedCall: { ...own, what: 'registrations' } };
      regs = own.registrations;
    }
    // The grace period is measured on the key service's clock.
    return { keyId: given, uuid, outcome: 'read', status: versionStatus(key, regs, o.now() + read.clockSkewMs, o.graceMs) };
  }));
  return { keys: results, ...(listing === undefined ? {} : { listing }), requests: { keyReads, listings } };
}
