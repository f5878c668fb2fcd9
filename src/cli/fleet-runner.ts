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
import { exitCodeFor, worstExitCode } from './output/exit-codes';

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

/** A result for a key never started (interrupted first). */
function notStarted(maxWaitSeconds: number): SyncResult {
  return {
    outcome: 'failed',
    correlationId: '',
    attempts: 0,
    iamAttempts: 0,
    waitedMs: 0,
    maxWaitSeconds,
    failure: { kind: 'aborted', phase: 'starting' },
    code: 'KS_ABORTED',
    retryLater: true,
    phase: 'starting',
  };
}

/**
 * Syncs `keyIds` (distinct, validated) with bounded concurrency. Never throws for HTTP
 * outcomes. `known`: results decided before the fleet ran (keys whose status could not be
 * read by `--if-behind`), reported with the others and counted in the exit code.
 */
export async function syncFleet(client: KmsClient, keyIds: readonly string[], opts: FleetOptions, now: () => number, known: readonly FleetKeyResult[] = []): Promise<FleetResult> {
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
      // sync() returns results for HTTP outcomes; anything thrown is a bug: this key fails
      // (exit 1) and the others go on.
      .catch((e: unknown): SyncResult => ({
        outcome: 'failed',
        correlationId: '',
        attempts: 0,
        iamAttempts: 0,
        waitedMs: 0,
        maxWaitSeconds: opts.maxWaitSeconds,
        failure: { kind: 'internal', name: e instanceof Error ? e.name : typeof e },
        code: 'KS_INTERNAL',
        retryLater: false,
        phase: 'done',
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

  const keys = [...keyIds.map((keyId, i) => ({ keyId, result: results[i] ?? notStarted(opts.maxWaitSeconds) })), ...known];
  synced = keys.filter((k) => k.result.outcome === 'synced').length;
  gated = keys.filter((k) => k.result.outcome === 'gated').length;
  failed = keys.length - synced - gated;
  return { keys, counts: { ...counts(), total: keys.length, done: keys.length }, exitCode: worstExitCode(keys.map((k) => exitCodeFor(k.result))), elapsedMs: now() - start };
}

