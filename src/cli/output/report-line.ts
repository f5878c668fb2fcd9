/**
 * The run report's line (KEY_SYNC_REPORT): one JSON object per key a run acted on, built
 * from the typed result and the very message the CLI prints (words are written once, in
 * sync.ts), redacted, and cut so that a line stays under {@link REPORT_LINE_MAX_BYTES}.
 * Also the notes printed when the file could not be written. Pure.
 *
 * Any command that acts on a key builds a {@link ReportEntry} (sync here; rotate the same
 * way, with its own outcomes and exit codes): `key-sync report` judges a run by its
 * `exitCode` alone (0 done, 75 retry later, anything else permanent), so a new command's
 * outcomes need no change there.
 */
import type { CallInfo, RegistrationsResult, SyncResult } from '../../client/kms-client';
import type { ReportFileProblem } from '../report-file';
import { exitCodeFor } from './exit-codes';
import { registrationsMessage, type ListingSubject } from './registrations';
import { syncMessage, type SyncSubject } from './sync';
import { rotateMessage, type RotateSubject } from './rotate';
import type { RotateResult } from '../../client/rotation';

/** The version of the line's shape; `key-sync report` reads lines of this version. */
export const REPORT_LINE_VERSION = 1;
/**
 * Longest line written, newline included. Far below what one write() of a regular file
 * opened O_APPEND keeps whole anyway; it bounds the file and what the report reads.
 */
export const REPORT_LINE_MAX_BYTES = 4000;

/** What one run did to one key. Every string is redacted before it is written. */
export interface ReportEntry {
  /** When the run ended (this machine's clock). */
  readonly time: Date;
  /** `sync`, `rotate`, ... */
  readonly command: string;
  readonly instanceId: string;
  /** The key as given (UUID or alias). */
  readonly keyId: string;
  readonly keyRing?: string;
  /** The command's own outcome word (`synced`, `gated`, `failed`, `rotated`, ...). */
  readonly outcome: string;
  /** The exit code this key's outcome stands for (0, 75 or 1). */
  readonly exitCode: number;
  readonly retryLater: boolean;
  /** When gated: the earliest time the service allows the action (service clock). */
  readonly notBefore?: Date;
  /** The service's clock minus this machine's, ms, when not 0 (for "in how long"). */
  readonly clockSkewMs?: number;
  readonly correlationId: string;
  /** Requests sent to the key service. */
  readonly attempts: number;
  readonly status?: number;
  readonly code?: string;
  readonly reasonCode?: string;
  /** The sentence the CLI printed about this key. */
  readonly message: string;
}

/** The fields every call result gives a report entry. */
export function callFields(r: CallInfo): Pick<ReportEntry, 'correlationId' | 'attempts' | 'retryLater' | 'status' | 'code' | 'reasonCode'> {
  return {
    correlationId: r.correlationId,
    attempts: r.attempts,
    retryLater: r.retryLater,
    ...(r.status === undefined ? {} : { status: r.status }),
    ...(r.code === undefined ? {} : { code: r.code }),
    ...(r.reasonCode === undefined ? {} : { reasonCode: r.reasonCode }),
  };
}

/** The report entry of one key's sync (single or fleet). */
export function syncReportEntry(r: SyncResult, s: SyncSubject, time: Date): ReportEntry {
  return keyEntry('sync', r, s, r.outcome !== 'synced' ? r.gate : undefined, syncMessage(r, s), time);
}

/** The entry of one command's result for one key; `gate` when it stopped at (or in) one. */
function keyEntry(
  command: string,
  r: CallInfo & { readonly outcome: string },
  s: { readonly instanceId: string; readonly keyId: string; readonly keyRing?: string },
  gate: { readonly notBefore: Date; readonly clockSkewMs: number } | undefined,
  message: string,
  time: Date,
): ReportEntry {
  return {
    time,
    command,
    instanceId: s.instanceId,
    keyId: s.keyId,
    ...(s.keyRing === undefined ? {} : { keyRing: s.keyRing }),
    outcome: r.outcome,
    exitCode: exitCodeFor(r),
    ...callFields(r),
    ...(gate === undefined ? {} : { notBefore: gate.notBefore, ...(gate.clockSkewMs === 0 ? {} : { clockSkewMs: gate.clockSkewMs }) }),
    message,
  };
}

/**
 * A fleet whose key listing failed acted on no key, yet the run failed: this entry says
 * so, under a name no key can have (aliases are letters, digits, `_` and `-`).
 */
export const ALL_REGISTERED_KEYS = '(all registered keys)';

/** The report entry of a `sync --all-registered` whose listing failed (so no key was synced). */
export function listingFailedReportEntry(r: RegistrationsResult, s: ListingSubject, time: Date): ReportEntry {
  return {
    time,
    command: 'sync',
    instanceId: s.instanceId,
    keyId: ALL_REGISTERED_KEYS,
    ...(s.keyRing === undefined ? {} : { keyRing: s.keyRing }),
    outcome: 'failed',
    exitCode: exitCodeFor(r),
    ...callFields(r),
    message: `no key synced: ${registrationsMessage(r, s)}`,
  };
}

/** The JSON object of an entry, in a stable field order. */
function lineObject(e: ReportEntry, message: string): Record<string, unknown> {
  return {
    v: REPORT_LINE_VERSION,
    time: e.time.toISOString(),
    command: e.command,
    instanceId: e.instanceId,
    keyId: e.keyId,
    ...(e.keyRing === undefined ? {} : { keyRing: e.keyRing }),
    outcome: e.outcome,
    exitCode: e.exitCode,
    retryLater: e.retryLater,
    ...(e.notBefore === undefined ? {} : { notBefore: e.notBefore.toISOString() }),
    ...(e.clockSkewMs === undefined ? {} : { clockSkewMs: Math.round(e.clockSkewMs) }),
    correlationId: e.correlationId,
    attempts: e.attempts,
    ...(e.status === undefined ? {} : { status: e.status }),
    ...(e.code === undefined ? {} : { code: e.code }),
    ...(e.reasonCode === undefined ? {} : { reasonCode: e.reasonCode }),
    message,
  };
}

/**
 * The line of an entry, newline included: every string passed through `redact`, the
 * message cut (with "…") so that the line stays under {@link REPORT_LINE_MAX_BYTES}.
 * The message is redacted before it is cut: a cut through a secret would hide it from
 * the sanitizer.
 */
export function reportLine(e: ReportEntry, redact: (text: string) => string): string {
  const render = (message: string): string => `${JSON.stringify(lineObject(e, message), (_k, v: unknown) => (typeof v === 'string' ? redact(v) : v))}\n`;
  const chars = [...redact(e.message)];
  const full = render(chars.join(''));
  if (Buffer.byteLength(full) <= REPORT_LINE_MAX_BYTES) return full;
  // The most characters (whole code points) that fit with "…": a binary search, since a
  // character takes 1 to 6 bytes once JSON-escaped and UTF-8 encoded.
  const cut = (keep: number): string => render(keep === 0 ? '' : `${chars.slice(0, keep).join('')}…`);
  let lo = 0;
  let hi = chars.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (Buffer.byteLength(cut(mid)) <= REPORT_LINE_MAX_BYTES) lo = mid;
    else hi = mid - 1;
  }
  return cut(lo);
}

/** The note on stderr when the report file was not (fully) written; the exit code stays the run's. */
export function reportFileNote(file: string, p: ReportFileProblem): string {
  const prefix = `key-sync: note: the run report KEY_SYNC_REPORT=${file}`;
  switch (p.kind) {
    case 'symlink':
      return `${prefix} was not written: it is a symbolic link, and key-sync never writes through one; point KEY_SYNC_REPORT at the real file`;
    case 'not-a-file':
      return `${prefix} was not written: it is not a regular file; point KEY_SYNC_REPORT at a file (it is created if missing)`;
    case 'open-failed':
      return `${prefix} could not be opened (${p.code}); check that its directory exists and is writable (use an absolute path: Terraform runs key-sync in the stack directory)`;
    case 'write-failed':
      return `${prefix} is missing ${p.lines === 1 ? 'the line' : `${p.lines} lines`} of this run (${p.code})`;
    case 'short-write':
      return `${prefix} got only ${p.written} of ${p.length} bytes of a line (the disk may be full); \`key-sync report\` will count it as unreadable`;
    case 'loose-permissions':
      return `${prefix} can be read or written by others (mode ${p.mode.toString(8).padStart(4, '0')}); key-sync leaves its mode alone: \`chmod 600 ${file}\` (it creates the file 0600 itself)`;
  }
}

/** The report entry of a rotation. */
export function rotateReportEntry(r: RotateResult, s: RotateSubject, time: Date): ReportEntry {
  return keyEntry('rotate', r, s, r.outcome === 'gated' || r.outcome === 'failed' ? r.gate : undefined, rotateMessage(r, s), time);
}
