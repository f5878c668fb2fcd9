/**
 * What a run report (KEY_SYNC_REPORT) says, decided: its lines parsed defensively (a cut
 * or foreign line is counted as unreadable, never a crash), each key's last run, and the
 * exit code of `key-sync report`. Pure.
 *
 * The rules:
 * - a run is judged by its exit code: 0 succeeded, 75 retry later, anything else failed;
 * - a key that ran several times counts by its last run in the file (appends land in the
 *   order the runs ended); a key is (command, instance, key id), UUIDs in any case;
 * - exit 1 when any key's last run failed or any line is unreadable (the run it stood
 *   for is unknown, so the report cannot vouch for it); else 75 when any key is to retry
 *   later; else 0 (also for a file with no runs at all);
 * - "retry after" is the latest `notBefore` among the keys to retry later.
 */
import { isUuid } from '../domain';
import { EXIT_FAILED, EXIT_OK, EXIT_RETRY_LATER } from './output/exit-codes';

/** Lines longer than this are not ours (we write < 4 KiB); they are not even parsed. */
export const REPORT_READ_LINE_MAX_BYTES = 16 * 1024;

/** One run read back from a line. */
export interface ReportRun {
  /** 1-based line number in the file. */
  readonly line: number;
  readonly time?: Date;
  readonly command: string;
  readonly instanceId: string;
  readonly keyId: string;
  readonly keyRing?: string;
  readonly outcome: string;
  readonly exitCode: number;
  readonly notBefore?: Date;
  readonly clockSkewMs?: number;
  readonly correlationId?: string;
  readonly attempts?: number;
  readonly status?: number;
  readonly code?: string;
  readonly reasonCode?: string;
  readonly message: string;
}

/** A line that is not a run. */
export interface UnreadableLine {
  readonly line: number;
  readonly problem: 'not-json' | 'not-an-object' | 'too-long' | 'missing-field' | 'bad-field';
  readonly field?: string;
}

export type Verdict = 'succeeded' | 'retry-later' | 'failed';

export interface KeySummary {
  /** The last run of the key (the one that counts). */
  readonly last: ReportRun;
  /** How many runs of the key the file holds. */
  readonly runs: number;
  readonly verdict: Verdict;
}

export interface ReportSummary {
  /** Failed first, then retry later, then succeeded; in file order within each. */
  readonly keys: readonly KeySummary[];
  readonly unreadable: readonly UnreadableLine[];
  /** Runs read (lines that are runs). */
  readonly runs: number;
  readonly counts: { readonly succeeded: number; readonly retryLater: number; readonly failed: number };
  /** Keys to retry later whose last run named no time (transient failures, interrupted runs). */
  readonly retryLaterWithoutTime: number;
  /** The latest notBefore among the keys to retry later (service clock), with that run's clock skew. */
  readonly retryAfter?: { readonly at: Date; readonly clockSkewMs: number; readonly keyId: string };
  readonly exitCode: number;
}

export function verdictOf(exitCode: number): Verdict {
  return exitCode === EXIT_OK ? 'succeeded' : exitCode === EXIT_RETRY_LATER ? 'retry-later' : 'failed';
}

type Clean = (text: string) => string;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function date(v: unknown): Date | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? new Date(t) : undefined;
}

function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
}

/** One line -> a run or why it is not one. `clean` makes every string safe to print. */
export function parseReportLine(text: string, line: number, clean: Clean): ReportRun | UnreadableLine {
  if (Buffer.byteLength(text) > REPORT_READ_LINE_MAX_BYTES) return { line, problem: 'too-long' };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { line, problem: 'not-json' };
  }
  if (!isObject(v)) return { line, problem: 'not-an-object' };
  for (const f of ['command', 'instanceId', 'keyId', 'outcome'] as const) {
    if (v[f] === undefined) return { line, problem: 'missing-field', field: f };
    if (typeof v[f] !== 'string' || clean(v[f]) === '') return { line, problem: 'bad-field', field: f };
  }
  if (v['exitCode'] === undefined) return { line, problem: 'missing-field', field: 'exitCode' };
  const exitCode = int(v['exitCode']);
  if (exitCode === undefined || exitCode < 0 || exitCode > 255) return { line, problem: 'bad-field', field: 'exitCode' };
  const str = (k: string): string | undefined => (typeof v[k] === 'string' && clean(v[k]) !== '' ? clean(v[k]) : undefined);
  const time = date(v['time']);
  const notBefore = date(v['notBefore']);
  const clockSkewMs = int(v['clockSkewMs']);
  const attempts = int(v['attempts']);
  const status = int(v['status']);
  const keyRing = str('keyRing');
  const correlationId = str('correlationId');
  const code = str('code');
  const reasonCode = str('reasonCode');
  return {
    line,
    command: clean(v['command'] as string),
    instanceId: clean(v['instanceId'] as string),
    keyId: clean(v['keyId'] as string),
    outcome: clean(v['outcome'] as string),
    exitCode,
    message: str('message') ?? '',
    ...(time === undefined ? {} : { time }),
    ...(keyRing === undefined ? {} : { keyRing }),
    ...(notBefore === undefined ? {} : { notBefore }),
    ...(clockSkewMs === undefined ? {} : { clockSkewMs }),
    ...(correlationId === undefined ? {} : { correlationId }),
    ...(attempts === undefined ? {} : { attempts }),
    ...(status === undefined ? {} : { status }),
    ...(code === undefined ? {} : { code }),
    ...(reasonCode === undefined ? {} : { reasonCode }),
  };
}

/** Every line of a report file's text (blank lines are skipped). */
export function parseReport(text: string, clean: Clean): { runs: ReportRun[]; unreadable: UnreadableLine[] } {
  const runs: ReportRun[] = [];
  const unreadable: UnreadableLine[] = [];
  const lines = text.split('\n');
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    const r = parseReportLine(l, i + 1, clean);
    if ('problem' in r) unreadable.push(r);
    else runs.push(r);
  });
  return { runs, unreadable };
}

function keyOf(r: ReportRun): string {
  return `${r.command}\n${r.instanceId.toLowerCase()}\n${isUuid(r.keyId) ? r.keyId.toLowerCase() : r.keyId}`;
}

const ORDER: Record<Verdict, number> = { failed: 0, 'retry-later': 1, succeeded: 2 };

/** Each key's last run, the counts, "retry after" and the exit code. */
export function summarize(runs: readonly ReportRun[], unreadable: readonly UnreadableLine[]): ReportSummary {
  const byKey = new Map<string, { last: ReportRun; runs: number; first: number }>();
  runs.forEach((r, i) => {
    const k = keyOf(r);
    const seen = byKey.get(k);
    byKey.set(k, { last: r, runs: (seen?.runs ?? 0) + 1, first: seen?.first ?? i });
  });
  const keys = [...byKey.values()]
    .map((k) => ({ last: k.last, runs: k.runs, verdict: verdictOf(k.last.exitCode), first: k.first }))
    .sort((a, b) => ORDER[a.verdict] - ORDER[b.verdict] || a.first - b.first)
    .map(({ first: _first, ...k }) => k);
  const count = (v: Verdict): number => keys.filter((k) => k.verdict === v).length;
  const counts = { succeeded: count('succeeded'), retryLater: count('retry-later'), failed: count('failed') };
  let retryAfter: ReportSummary['retryAfter'];
  let retryLaterWithoutTime = 0;
  for (const k of keys) {
    if (k.verdict !== 'retry-later') continue;
    const at = k.last.notBefore;
    if (at === undefined) retryLaterWithoutTime++;
    else if (retryAfter === undefined || at.getTime() > retryAfter.at.getTime()) retryAfter = { at, clockSkewMs: k.last.clockSkewMs ?? 0, keyId: k.last.keyId };
  }
  const exitCode = counts.failed > 0 || unreadable.length > 0 ? EXIT_FAILED : counts.retryLater > 0 ? EXIT_RETRY_LATER : EXIT_OK;
  return { keys, unreadable, runs: runs.length, counts, retryLaterWithoutTime, ...(retryAfter === undefined ? {} : { retryAfter }), exitCode };
}
