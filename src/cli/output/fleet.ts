/** A fleet sync's outcome: the final table, the --json object, and progress. Pure except FleetProgress, which writes to its sink. */
import type { FleetCounts, FleetResult } from '../fleet-runner';
import type { SyncResult } from '../../client/kms-client';
import { EXIT_OK, exitCodeFor } from './exit-codes';
import type { TextSink } from './sink';
import { syncJson, syncMessage, type SyncSubject } from './sync';
import { duration, plural, utc } from './words';

/** The overall outcome: that of the key with the worst exit code (failed wins ties). */
export function fleetOutcome(r: FleetResult): 'synced' | 'gated' | 'failed' {
  if (r.keys.length === 0 || r.exitCode === EXIT_OK) return 'synced';
  const worst = r.keys.filter((k) => exitCodeFor(k.result) === r.exitCode);
  return worst.some((k) => k.result.outcome === 'failed') ? 'failed' : 'gated';
}

/** The same key under two names (an alias and its UUID), synced once. */
export interface SameKey {
  readonly given: string;
  readonly keyId: string;
}

export interface FleetContext {
  readonly instanceId: string;
  readonly keyRing?: string;
  readonly credentialEnv: string;
  readonly extraCaCerts: boolean;
}

function subject(keyId: string, c: FleetContext): SyncSubject {
  return { keyId, instanceId: c.instanceId, credentialEnv: c.credentialEnv, extraCaCerts: c.extraCaCerts, ...(c.keyRing === undefined ? {} : { keyRing: c.keyRing }) };
}

/** A key `sync --if-behind` left alone: its verdict and why (see output/if-behind.ts). */
export interface SkippedKey {
  readonly keyId: string;
  readonly verdict: string;
  readonly message: string;
  /** Its --json object, as a single `sync --if-behind` prints it. */
  readonly json: Record<string, unknown>;
}

/** The subject of one key of a fleet, as its row and its report line name it. */
export const fleetSubject = subject;

/** The --json object of a fleet sync: per-key objects exactly as a single sync prints them. */
export function fleetJson(r: FleetResult, c: FleetContext, extra: { source: string; concurrency: number; registrations?: number; sameKeys?: readonly SameKey[]; skipped?: readonly SkippedKey[] }): Record<string, unknown> {
  return {
    outcome: fleetOutcome(r),
    instanceId: c.instanceId,
    source: extra.source,
    concurrency: extra.concurrency,
    ...(extra.registrations === undefined ? {} : { registrations: extra.registrations }),
    ...(extra.sameKeys === undefined || extra.sameKeys.length === 0 ? {} : { sameKeys: extra.sameKeys }),
    counts: { total: r.counts.total + (extra.skipped?.length ?? 0), synced: r.counts.synced, gated: r.counts.gated, failed: r.counts.failed, ...(extra.skipped === undefined ? {} : { skipped: extra.skipped.length }) },
    elapsedMs: Math.round(r.elapsedMs),
    exitCode: r.exitCode,
    keys: [...r.keys.map((k) => syncJson(k.result, subject(k.keyId, c))), ...(extra.skipped ?? []).map((k) => k.json)],
  };
}

/** One row's detail: the correlation id, the gate time, or the failure reason. */
function detail(r: SyncResult, keyId: string, c: FleetContext): string {
  switch (r.outcome) {
    case 'synced':
      return `correlation id ${r.correlationId}`;
    case 'gated':
      return r.gate === undefined ? syncMessage(r, subject(keyId, c)) : `gate opens ${utc(r.gate.notBefore)} (in ${duration(r.gate.opensInMs)}); retry later`;
    case 'failed':
      return `${r.code ?? ''}: ${syncMessage(r, subject(keyId, c))}${r.correlationId === '' ? '' : ` [correlation id ${r.correlationId}]`}`;
  }
}

/** The final human table: one row per key in input order, then a summary line. */
export function fleetTable(r: FleetResult, c: FleetContext, skipped: readonly SkippedKey[] = []): string {
  const rows = [
    ...r.keys.map((k) => [k.keyId, k.result.outcome === 'failed' && k.result.retryLater ? 'failed (retry later)' : k.result.outcome, k.result.status === undefined ? '-' : String(k.result.status), detail(k.result, k.keyId, c)] as const),
    ...skipped.map((k) => [k.keyId, `skipped (${k.verdict})`, '-', k.message] as const),
  ];
  const head = ['KEY', 'OUTCOME', 'HTTP', 'DETAIL'] as const;
  const w0 = Math.max(head[0].length, ...rows.map((x) => x[0].length));
  const w1 = Math.max(head[1].length, ...rows.map((x) => x[1].length));
  const w2 = Math.max(head[2].length, ...rows.map((x) => x[2].length));
  const line = (x: readonly [string, string, string, string]): string => `${x[0].padEnd(w0)}  ${x[1].padEnd(w1)}  ${x[2].padEnd(w2)}  ${x[3]}`;
  const n = r.counts;
  const summary = `key-sync: ${plural(n.total + skipped.length, 'key')} of instance ${c.instanceId}: ${n.synced} synced, ${n.gated} gated, ${n.failed} failed${skipped.length === 0 ? '' : `, ${skipped.length} not behind (skipped)`} in ${(r.elapsedMs / 1000).toFixed(1)} s (exit ${r.exitCode})`;
  return `${[line(head), ...rows.map(line)].join('\n')}\n${summary}\n`;
}

/** "3/4 done: 2 synced, 1 gated, 0 failed, 1 waiting for the gate" */
export function fleetStatus(c: FleetCounts): string {
  return `${c.done}/${c.total} done: ${c.synced} synced, ${c.gated} gated, ${c.failed} failed${c.waitingForGate > 0 ? `, ${c.waitingForGate} waiting for the gate` : ''}${c.backoffs > 0 ? `, ${plural(c.backoffs, 'backoff')}` : ''}`;
}

/**
 * Fleet progress on stderr: a bar redrawn in place on a TTY (at most every 100 ms), plain
 * status lines otherwise (at most every `intervalMs`, default 5 s), so a CI log stays
 * short; the final state is always printed last, so the log never ends at "1/2 done".
 */
export class FleetProgress {
  private lastAt = -Infinity;
  private open = false;
  private last: FleetCounts | undefined;
  private drawn: FleetCounts | undefined;

  constructor(
    private readonly out: TextSink,
    private readonly isTTY: boolean,
    private readonly now: () => number,
    private readonly intervalMs = 5000,
  ) {}

  readonly update = (c: FleetCounts): void => {
    this.last = c;
    const t = this.now();
    if (t - this.lastAt < (this.isTTY ? 100 : this.intervalMs)) return;
    this.lastAt = t;
    this.draw(c);
  };

  /** Text the caller prints (a plain line). */
  note(text: string): void {
    this.end();
    this.out.write(`${text}\n`);
  }

  /** Draws the last state if it was not shown yet, and ends the line. */
  finish(): void {
    if (this.last !== undefined && this.last !== this.drawn) this.draw(this.last);
    this.end();
  }

  private end(): void {
    if (this.open) this.out.write('\n');
    this.open = false;
  }

  private draw(c: FleetCounts): void {
    this.drawn = c;
    const status = fleetStatus(c);
    if (this.isTTY) {
      const width = 30;
      const filled = c.total === 0 ? width : Math.round((c.done / c.total) * width);
      this.out.write(`\r\u001b[2Kkey-sync: [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${status}`);
      this.open = true;
    } else {
      this.out.write(`key-sync: ${status}\n`);
    }
  }
}
