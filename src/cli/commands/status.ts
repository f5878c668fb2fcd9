/** `key-sync status`: which resources did not pick up a key change, per key. */
import type { StatusConfig } from '../parse-command';
import { statusJson, statusTable, type StatusContext } from '../output/status';
import { gatherStatus, statusExitCode } from '../status-runner';
import { withClient, type RunIo } from './context';

export function runStatus(config: StatusConfig, keys: readonly string[], io: RunIo): Promise<number> {
  return withClient(config, io, { maxConcurrentRequests: config.concurrency }, async ({ client, now, out, err, extraCaCerts }) => {
    for (const n of config.notes) err.write(`key-sync: ${n}\n`);
    const run = await gatherStatus(client, config.allRegistered ? 'all-registered' : keys, {
      instanceId: config.instanceId,
      ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
      graceMs: config.graceHours * 3_600_000,
      now,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
    const code = statusExitCode(run.keys, run.listing);
    const context: StatusContext = { instanceId: config.instanceId, credentialEnv: config.credentials.envName, extraCaCerts, graceHours: config.graceHours, ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }) };
    if (config.json) out.json(statusJson(run, context, code));
    else out.write(statusTable(run, context, code));
    return code;
  });
}
