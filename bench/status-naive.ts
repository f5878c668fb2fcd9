/**
 * The naive way to know which resources lag, for the status part of the bench: for each
 * key, one key read and one listing of its registrations (what a script over IBM's API
 * would do), with the same client, concurrency and retry rules as `key-sync status`.
 * Prints {"ms": wall, "keys": n} on stdout. Usage: tsx bench/status-naive.ts URL INSTANCE N
 */
import { KmsClient } from '../src/client/kms-client';

async function main(): Promise<void> {
  const [url, instanceId, n] = process.argv.slice(2) as [string, string, string];
  const apiKey = process.env['IBMCLOUD_API_KEY'] ?? '';
  const client = new KmsClient({ baseUrl: url, credentials: { kind: 'api-key', apiKey, iamBaseUrl: url, envName: 'IBMCLOUD_API_KEY' }, maxConcurrentRequests: 8 });
  const keys = Array.from({ length: Number(n) }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
  const t0 = Date.now();
  let lagging = 0;
  await Promise.all(keys.map(async (k) => {
    const key = await client.getKey(k, { instanceId });
    const regs = await client.listRegistrations({ instanceId, keyId: k, pageSize: 5000 });
    if (key.outcome !== 'read' || regs.outcome !== 'listed') throw new Error(`key ${k}: ${key.code ?? regs.code}`);
    lagging += regs.registrations.filter((r) => r.keyVersion?.id !== key.key?.keyVersion?.id).length;
  }));
  process.stdout.write(`${JSON.stringify({ ms: Date.now() - t0, keys: keys.length, lagging })}\n`);
  await client.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
