/**
 * `key-sync registrations` as a child process against the emulator: paging through more
 * than one 5000-item page, the CRN filter, --json and human output.
 */
import type { RunningEmulator } from '../../src/emulator/server';
import { DEFAULT_SEED } from '../../src/emulator/seed';
import { KP_INSTANCE, KP_KEY, cliEnv, expectNoSecrets, requests, runCli, startCanaryEmulator, type CliRun } from '../helpers/cli';

const ACCOUNT = '1234567890abcdef1234567890abcdef';
const BULK = 5003;
let emu: RunningEmulator;
const runs: CliRun[] = [];

beforeAll(async () => {
  const extra = Array.from({ length: BULK }, (_, i) => ({
    keyId: KP_KEY,
    resourceCrn: `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:bulk-${String(i).padStart(5, '0')}`,
  }));
  emu = await startCanaryEmulator({ seed: { registrations: [...(DEFAULT_SEED.registrations ?? []), ...extra] } });
});
afterAll(async () => {
  for (const r of runs) expectNoSecrets(r);
  await emu.close();
});
beforeEach(() => emu.clearLog());

async function cli(args: readonly string[]): Promise<CliRun> {
  const r = await runCli(args, cliEnv(emu));
  runs.push(r);
  return r;
}

test('one key, --json: pages through every registration (5000 + rest)', async () => {
  const r = await cli(['registrations', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY, '--json']);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout) as { outcome: string; count: number; pages: number; totalCount: number; registrations: Array<{ resourceCrn: string }> };
  expect(j).toMatchObject({ outcome: 'listed', count: BULK + 2, pages: 2, totalCount: BULK + 2 });
  expect(new Set(j.registrations.map((g) => g.resourceCrn)).size).toBe(BULK + 2);
  const pages = requests(emu, 'registrations.key');
  expect(pages.map((p) => p.path)).toEqual([
    `/api/v2/keys/${KP_KEY}/registrations?limit=5000&offset=0&totalCount=true`,
    `/api/v2/keys/${KP_KEY}/registrations?limit=5000&offset=5000&totalCount=true`,
  ]);
  expect(new Set(pages.map((p) => p.correlationId)).size).toBe(1);
});

test('all keys with a CRN filter, human output', async () => {
  const r = await cli(['registrations', '--instance-id', KP_INSTANCE, '--crn', `crn:v1:bluemix:public:databases-for-postgresql:us-south:a/${ACCOUNT}:*::`]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84 {2}crn:v1:bluemix:public:databases-for-postgresql:us-south:.*\nkey-sync: 1 registration for instance 0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20 \(1 page, correlation id [0-9a-f-]{36}\)\n$/);
  expect(requests(emu, 'registrations.all')).toHaveLength(1);
});

test('unknown key: exit 1 with a clear message', async () => {
  const r = await cli(['registrations', '--instance-id', KP_INSTANCE, '--key-id', '00000000-0000-4000-8000-000000000000']);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/listing registrations failed, key 00000000-0000-4000-8000-000000000000 .*not found.*\[HTTP 404, KS_NOT_FOUND/);
});

test('503 on a page is retried', async () => {
  emu.injectFaults('registrations.key', [{ status: 503 }]);
  const r = await cli(['registrations', '--instance-id', KP_INSTANCE, '--key-id', 'payments-root', '--json']);
  expect(r.code).toBe(0);
  expect(requests(emu, 'registrations.key').map((p) => p.status)).toEqual([503, 200, 200]);
});
