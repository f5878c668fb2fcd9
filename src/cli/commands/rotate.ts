/** `key-sync rotate`: one rotation of a root key for a declared generation. */
import type { RotateConfig } from '../parse-command';
import { exitCodeFor } from '../output/exit-codes';
import { ProgressPrinter } from '../output/progress';
import { rotateJson, rotateLine, type RotateSubject } from '../output/rotate';
import { rotateReportEntry } from '../output/report-line';
import { withClient, type RunIo } from './context';
import { recordRuns } from './record-runs';

export function runRotate(config: RotateConfig, io: RunIo): Promise<number> {
  return withClient(config, io, {}, async ({ client, out, err, extraCaCerts }) => {
    const progress = new ProgressPrinter(err, io.isTTY, `key-sync: key ${config.keyId}`);
    for (const n of config.notes) progress.note(`key-sync: ${n}`);
    const subject: RotateSubject = {
      keyId: config.keyId,
      instanceId: config.instanceId,
      credentialEnv: config.credentials.envName,
      extraCaCerts,
      ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
    };
    const result = await client.rotate(config.keyId, {
      instanceId: config.instanceId,
      ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
      generation: config.generation,
      requestedAt: config.requestedAt,
      maxWaitSeconds: config.maxWaitSeconds,
      ...(config.service === undefined ? {} : { service: config.service }),
      onProgress: progress.onProgress,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
    progress.finish();
    const ok = result.outcome === 'rotated' || result.outcome === 'already-rotated';
    if (config.json) out.json(rotateJson(result, subject));
    else (ok ? out : err).write(`${rotateLine(result, subject)}\n`);
    recordRuns(io.env ?? process.env, [rotateReportEntry(result, subject, new Date((io.now ?? Date.now)()))], client.sanitizer, err);
    return exitCodeFor(result);
  });
}
