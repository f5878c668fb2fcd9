/**
 * `key-sync sync` for one key: optionally list its registrations first, or (--if-behind)
 * find its version status first and sync only when it is behind; then sync.
 */
import type { SyncResult } from '../../client/kms-client';
import { DEFAULT_RETRY_LIMITS } from '../../client/retry-policy';
import type { SyncConfig } from '../parse-command';
import { exitCodeFor } from '../output/exit-codes';
import { ProgressPrinter } from '../output/progress';
import { registrationsMessage } from '../output/registrations';
import { syncReportEntry } from '../output/report-line';
import { syncJson, syncLine, type SyncSubject } from '../output/sync';
import { plural } from '../output/words';
import { skippedJson, skippedLine, statusFailure } from '../output/if-behind';
import { gatherStatus } from '../status-runner';
import { withClient, type RunIo } from './context';
import { recordRuns } from './record-runs';

export function runSync(config: SyncConfig, io: RunIo): Promise<number> {
  return withClient(config, io, {}, async ({ client, now, out, err, extraCaCerts }) => {
    const progress = new ProgressPrinter(err, io.isTTY, `key-sync: key ${config.keyId}`);
    for (const n of config.notes) progress.note(`key-sync: ${n}`);
    const subject: SyncSubject = {
      keyId: config.keyId,
      instanceId: config.instanceId,
      credentialEnv: config.credentials.envName,
      extraCaCerts,
      ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
    };
    const common = {
      instanceId: config.instanceId,
      ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
      onProgress: progress.onProgress,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    };
    let registrations: number | undefined;
    const report = (result: SyncResult): number => {
      progress.finish();
      const s = registrations === undefined ? subject : { ...subject, registrations };
      if (config.json) out.json(syncJson(result, s));
      else (result.outcome === 'synced' ? out : err).write(`${syncLine(result, s)}\n`);
      recordRuns(io.env ?? process.env, [syncReportEntry(result, s, new Date((io.now ?? Date.now)()))], client.sanitizer, err);
      return exitCodeFor(result);
    };
    if (config.ifBehindGraceHours !== undefined) {
      const run = await gatherStatus(client, [config.keyId], { ...common, graceMs: config.ifBehindGraceHours * 3_600_000, now });
      const k = run.keys[0];
      if (k === undefined || k.failedCall !== undefined) return report(statusFailure(k?.failedCall, config.maxWaitSeconds));
      const context = { instanceId: config.instanceId, credentialEnv: config.credentials.envName, extraCaCerts, graceHours: config.ifBehindGraceHours };
      if (k.status?.verdict !== 'behind') {
        progress.finish();
        if (config.json) out.json(skippedJson(k, context));
        else out.write(`${skippedLine(k, context)}\n`);
        return 0;
      }
      progress.note(`key-sync: key ${config.keyId} is behind (${k.status.lagging.length} of ${plural(k.status.registrations, 'registration')} not on the current version): syncing`);
    }
    if (config.verifyRegistrations) {
      // A check before the sync, not the point of it: it may take no longer than a retry budget.
      const reg = await client.listRegistrations({ ...common, keyId: config.keyId, pageSize: 5000, maxMs: DEFAULT_RETRY_LIMITS.budgetMs });
      if (reg.outcome === 'listed') {
        registrations = reg.registrations.length;
        progress.note(registrations === 0
          ? `key-sync: warning: key ${config.keyId} has no registrations: the sync has nobody to notify (registrations can lag behind reality; syncing anyway)`
          : `key-sync: key ${config.keyId} has ${plural(registrations, 'registration')}`);
      } else if (reg.code === 'KS_ABORTED') {
        return report({
          outcome: 'failed',
          correlationId: reg.correlationId,
          attempts: reg.attempts,
          iamAttempts: reg.iamAttempts,
          waitedMs: reg.waitedMs,
          maxWaitSeconds: config.maxWaitSeconds,
          failure: { kind: 'aborted', phase: 'listing' },
          code: 'KS_ABORTED',
          retryLater: true,
          phase: 'listing',
        });
      } else {
        const why = registrationsMessage(reg, { instanceId: config.instanceId, keyId: config.keyId, credentialEnv: config.credentials.envName, extraCaCerts });
        progress.note(`key-sync: warning: could not list the registrations of key ${config.keyId} (${why}); syncing anyway`);
      }
    }
    return report(await client.sync(config.keyId, {
      ...common,
      maxWaitSeconds: config.maxWaitSeconds,
      ...(config.rotationRequestedAt === undefined ? {} : { rotationRequestedAt: config.rotationRequestedAt }),
    }));
  });
}
