/**
 * Fleet sync: many keys through one client (one keep-alive pool, one token, one shared
 * hold-off after a 429/5xx) with a bounded number of requests in flight.
 *
 * Keys are started by `concurrency` workers. A key whose sync meets the time gate hands
 * its worker back as soon as it starts waiting (the client reports `gate-wait`), so gated
 * keys wait side by side, each within --max-wait, while the workers go on with the other
 * keys. The client's request slots (maxConcurrentRequests = concurrency) bound what is in
 * flight when gated keys come back. One key's failure never stops the others.
 */
import type { KmsClient, ProgressEvent, SyncResult } from '../client/kms-client';
import { EXIT_FAILED, EXIT_OK, EXIT_RETRY_LATER, exitCodeFor, syncJson, utcTime, duration, type TextSink } from './output';

export interface FleetOptions {
  readonly instanceId: string;
  readonly keyRing?: string;
  readonly maxWaitSeconds: number;
  readonly concurrency: number;
  readonly signal?: AbortSignal;
  /** Called whenever the counts change (progress output). */
  readonly onChange?: (c: FleetCounts) => void;
}

export interface FleetCounts {
  readonly total: number;
  readonly done: number;
  readonly synced: number;
  readonly gated: number;
  readonly failed: number;
  /** Keys waiting for their time gate right now. */
  readonly waitingForGate: number;
  /** Backoffs seen so far (all keys). */
  readonly backoffs: number;
}

export interface FleetKeyResult {
  readonly keyId: string;
  readonly result: SyncResult;
}

export interface FleetResult {
  readonly keys: readonly FleetKeyResult[];
  readonly counts: FleetCounts;
  readonly exitCode: number;
  readonly elapsedMs: number;
}

/** The worst exit code: 1 over 75 over 0 (2 never happens here). */
export function worstExitCode(codes: Iterable<number>): number {
  let worst = EXIT_OK;
  for (const c of codes) {
    if (c === EXIT_FAILED) return EXIT_FAILED;
    if (c === EXIT_RETRY_LATER) worst = EXIT_RETRY_LATER;
    else if (c !== EXIT_OK && worst === EXIT_OK) worst = c;
  }
  return worst;
}

/** A result for a key never started (interrupted first). */
function notStarted(): SyncResult {
  return {
    outcome: 'failed',
    correlationId: '',
    attempts: 0,
    waitedMs: 0,
    code: 'KS_ABORTED',
    retryLater: true,
    phase: 'starting',
    message: 'interrupted before this key was started; not synced. The next run will retry it',
  };
}

/** Syncs `keyIds` (distinct, validated) with bounded concurrency. Never throws for HTTP outcomes. */
export async function syncFleet(client: KmsClient, keyIds: readonly string[], opts: FleetOptions, now: () => number): Promise<FleetResult> {
  const start = now();
  const results: (SyncResult | undefined)[] = new Array<SyncResult | undefined>(keyIds.length);
  let synced = 0;
  let gated = 0;
  let failed = 0;
  let waitingForGate = 0;
  let backoffs = 0;
  const counts = (): FleetCounts => ({ total: keyIds.length, done: synced + gated + failed, synced, gated, failed, waitingForGate, backoffs });
  const changed = (): void => opts.onChange?.(counts());
  const background: Promise<void>[] = [];
  let next = 0;

  /** Starts key i; resolves when it is done or has started waiting for its gate. */
  const startKey = (i: number): Promise<void> => {
    const keyId = keyIds[i] ?? '';
    let handBack!: () => void;
    const handedBack = new Promise<void>((resolve) => {
      handBack = resolve;
    });
    let waiting = false;
    const onProgress = (e: ProgressEvent): void => {
      if (e.kind === 'backoff') {
        backoffs++;
        changed();
      } else if (e.kind === 'gate-wait' && e.first && !waiting) {
        waiting = true;
        waitingForGate++;
        changed();
        handBack();
      }
    };
    const run = client
      .sync(keyId, {
        instanceId: opts.instanceId,
        ...(opts.keyRing === undefined ? {} : { keyRing: opts.keyRing }),
        maxWaitSeconds: opts.maxWaitSeconds,
        onProgress,
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      })
      .catch((e: unknown): SyncResult => ({
        // sync() returns results for HTTP outcomes; anything thrown is a bug: keep going.
        outcome: 'failed',
        correlationId: '',
        attempts: 0,
        waitedMs: 0,
        retryLater: false,
        phase: 'done',
        message: `internal error (${e instanceof Error ? e.name : typeof e})`,
      }))
      .then((r) => {
        results[i] = r;
        if (waiting) waitingForGate--;
        if (r.outcome === 'synced') synced++;
        else if (r.outcome === 'gated') gated++;
        else failed++;
        changed();
        handBack();
      });
    background.push(run);
    return handedBack;
  };

  const worker = async (): Promise<void> => {
    while (next < keyIds.length && opts.signal?.aborted !== true) {
      const i = next++;
      await startKey(i);
    }
  };
  const workers: Promise<void>[] = [];
  for (let w = 0; w < Math.min(opts.concurrency, keyIds.length); w++) workers.push(worker());
  await Promise.all(workers);
  await Promise.all(background);

  const keys = keyIds.map((keyId, i) => ({ keyId, result: results[i] ?? notStarted() }));
  synced = keys.filter((k) => k.result.outcome === 'synced').length;
  gated = keys.filter((k) => k.result.outcome === 'gated').length;
  failed = keys.length - synced - gated;
  return { keys, counts: counts(), exitCode: worstExitCode(keys.map((k) => exitCodeFor(k.result))), elapsedMs: now() - start };
}

/** The overall outcome: that of the key with the worst exit code (failed wins ties). */
export function fleetOutcome(r: FleetResult): 'synced' | 'gated' | 'failed' {
  if (r.keys.length === 0) return 'synced';
  if (r.exitCode === EXIT_OK) return 'synced';
  const worst = r.keys.filter((k) => exitCodeFor(k.result) === r.exitCode);
  return worst.some((k) => k.result.outcome === 'failed') ? 'failed' : 'gated';
}

/** The --json object of a fleet sync: per-key objects exactly as a single sync prints them. */
export function fleetJson(r: FleetResult, instanceId: string, extra: { source: string; concurrency: number; registrations?: number }): Record<string, unknown> {
  return {
    outcome: fleetOutcome(r),
    instanceId,
    source: extra.source,
    concurrency: extra.concurrency,
    ...(extra.registrations === undefined ? {} : { registrations: extra.registrations }),
    counts: { total: r.counts.total, synced: r.counts.synced, gated: r.counts.gated, failed: r.counts.failed },
    elapsedMs: Math.round(r.elapsedMs),
    exitCode: r.exitCode,
    keys: r.keys.map((k) => syncJson(k.result, { keyId: k.keyId, instanceId })),
  };
}

/** One row's detail: the correlation id, the gate time, or the failure reason. */
function detail(r: SyncResult, now: number): string {
  switch (r.outcome) {
    case 'synced':
      return `correlation id ${r.correlationId}`;
    case 'gated':
      return r.notBefore === undefined
        ? r.message
        : `gate opens ${utcTime(r.notBefore)} (in ${duration(r.notBefore.getTime() - now)}); retry later`;
    default:
      return `${r.code ?? ''}: ${r.message}${r.correlationId === '' ? '' : ` [correlation id ${r.correlationId}]`}`;
  }
}

/** The final human table: one row per key in input order, then a summary line. */
export function fleetTable(r: FleetResult, instanceId: string, now: number): string {
  const rows = r.keys.map((k) => [k.keyId, k.result.outcome === 'failed' && k.result.retryLater ? 'failed (retry later)' : k.result.outcome, k.result.status === undefined ? '-' : String(k.result.status), detail(k.result, now)] as const);
  const head = ['KEY', 'OUTCOME', 'HTTP', 'DETAIL'] as const;
  const w0 = Math.max(head[0].length, ...rows.map((x) => x[0].length));
  const w1 = Math.max(head[1].length, ...rows.map((x) => x[1].length));
  const w2 = Math.max(head[2].length, ...rows.map((x) => x[2].length));
  const line = (x: readonly [string, string, string, string]): string => `${x[0].padEnd(w0)}  ${x[1].padEnd(w1)}  ${x[2].padEnd(w2)}  ${x[3]}`;
  const c = r.counts;
  const summary = `key-sync: ${c.total} key${c.total === 1 ? '' : 's'} of instance ${instanceId}: ${c.synced} synced, ${c.gated} gated, ${c.failed} failed in ${(r.elapsedMs / 1000).toFixed(1)} s (exit ${r.exitCode})`;
  return `${[line(head), ...rows.map(line)].join('\n')}\n${summary}\n`;
}

/**
 * Fleet progress on stderr: a bar redrawn in place on a TTY (at most every 100 ms), plain
 * status lines otherwise (at most every `intervalMs`, default 5 s), so a CI log stays short.
 */
export class FleetProgress {
  private lastAt = -Infinity;
  private open = false;
  private last: FleetCounts | undefined;

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
    this.finish();
    this.out.write(`${text}\n`);
  }

  /** Draws the last state once more on a TTY and ends the line. */
  finish(): void {
    if (this.isTTY && this.open && this.last !== undefined) this.draw(this.last);
    if (this.open) this.out.write('\n');
    this.open = false;
  }

  private draw(c: FleetCounts): void {
    const status = `${c.done}/${c.total} done: ${c.synced} synced, ${c.gated} gated, ${c.failed} failed${c.waitingForGate > 0 ? `, ${c.waitingForGate} waiting for the gate` : ''}${c.backoffs > 0 ? `, ${c.backoffs} backoff${c.backoffs === 1 ? '' : 's'}` : ''}`;
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
