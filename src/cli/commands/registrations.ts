/** `key-sync registrations`: one key's or every key's registrations, all pages. */
import type { RegistrationsConfig } from '../parse-command';
import { exitCodeFor } from '../output/exit-codes';
import { ProgressPrinter } from '../output/progress';
import { registrationsJson, registrationsText, type ListingSubject } from '../output/registrations';
import { withClient, type RunIo } from './context';

export function runRegistrations(config: RegistrationsConfig, io: RunIo): Promise<number> {
  return withClient(config, io, {}, async ({ client, out, err, extraCaCerts }) => {
    const progress = new ProgressPrinter(err, io.isTTY, 'key-sync');
    for (const n of config.notes) progress.note(`key-sync: ${n}`);
    const r = await client.listRegistrations({
      instanceId: config.instanceId,
      ...(config.keyId === undefined ? {} : { keyId: config.keyId }),
      ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
      ...(config.crnQuery === undefined ? {} : { crnQuery: config.crnQuery }),
      pageSize: 5000,
      onProgress: progress.onProgress,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
    progress.finish();
    const subject: ListingSubject = {
      instanceId: config.instanceId,
      credentialEnv: config.credentials.envName,
      extraCaCerts,
      canNarrow: true,
      ...(config.keyId === undefined ? {} : { keyId: config.keyId }),
      ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
    };
    if (config.json) out.json(registrationsJson(r, subject));
    else (r.outcome === 'listed' ? out : err).write(registrationsText(r, subject));
    return exitCodeFor(r);
  });
}
