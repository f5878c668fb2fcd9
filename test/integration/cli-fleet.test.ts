/**
 * Fleet sync through the bundled CLI (a child process) against the emulator: mixed
 * outcomes with the worst exit code, --keys-file errors before any request,
 * --all-registered, the shared backoff after a 429, bounded concurrency, --json shape.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SEED, type SeedKey, type SeedRegistration } from '../../src/emulator/seed';
import type { RunningEmulator } from '../../src/emulator/server';
import { DEFAULT_CONCURRENCY } from '../../src/cli/parse-command';
import { KP_INSTANCE, KP_KEY, apiRequests, cliEnv, expectNoSecrets, requests, runCli, startCanaryEmulator, type CliRun } from '../helpers/cli';

const MISSING = '11111111-2222-4333-8444-555555555555';
const GATED = 'gated-root';
/** Extra Key Protect keys fleet-00 ... fleet-11, plus one whose gate is closed at start. */
const FLEET: string[] = Array.from({ length: 12 }, (_, i) => `fleet-${String(i).padStart(2, '0')}`);
const ACCOUNT = '1234567890abcdef1234567890abcdef';

let emu: RunningEmulator;
let dir: string;
let last: CliRun | undefined;

beforeEach(async () => {
  last = undefined;
  dir = mkdtempSync(path.join(os.tmpdir(), 'ks-fleet-'));
  const keys: SeedKey[] = [
    ...DEFAULT_SEED.keys,
    ...FLEET.map((alias, i): SeedKey => ({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, instanceId: KP_INSTANCE, name: alias, aliases: [alias] })),
    { id: '00000000-0000-4000-8000-999999999999', instanceId: KP_INSTANCE, name: GATED, aliases: [GATED], lastSyncDate: new Date().toISOString() },
  ];
  const registrations: SeedRegistration[] = [
    ...(DEFAULT_SEED.registrations ?? []),
    { keyId: 'fleet-03', resourceCrn: `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:fleet-03` },
    { keyId: 'fleet-07', resourceCrn: `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:fleet-07` },
  ];
  emu = await startCanaryEmulator({ seed: { keys, registrations } });
});
afterEach(async () => {
  if (last !== undefined) expectNoSecrets(last);
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(args: readonly string[], extraEnv: Record<string, string> = {}): Promise<CliRun> {
  last = await runCli(['sync', '--instance-id', KP_INSTANCE, ...args], cliEnv(emu, extraEnv));
  return last;
}

function keysFile(text: string): string {
  const f = path.join(dir, 'keys.txt');
  writeFileSync(f, text);
  return f;
}

/** Requests' [arrival, end] in real ms (the emulator clock runs in real time here). */
function intervals(route: Parameters<typeof requests>[1]): [number, number][] {
  return requests(emu, route).map((e) => {
    const t = Date.parse(e.time);
    return [t, t + e.durationMs];
  });
}

test('mixed outcomes: 404 + gated + synced -> exit 1, every key in the table, one IAM exchange', async () => {
  const r = await cli(['--key-id', KP_KEY, '--key-id', MISSING, '--key-id', GATED, '--key-id', 'fleet-00', '--max-wait', '0']);
  expect(r.code).toBe(1);
  const rows = r.stdout.trimEnd().split('\n');
  expect(rows[0]).toMatch(/^KEY\s+OUTCOME\s+HTTP\s+DETAIL$/);
  expect(rows[1]).toMatch(new RegExp(`^${KP_KEY}\\s+synced\\s+204\\s+correlation id [0-9a-f-]{36}$`));
  expect(rows[2]).toMatch(new RegExp(`^${MISSING}\\s+failed\\s+404\\s+KS_NOT_FOUND: key ${MISSING} was not found`));
  expect(rows[3]).toMatch(/^gated-root\s+gated\s+409\s+gate opens \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in (59 min[^)]*|1 h)\); retry later$/);
  expect(rows[4]).toMatch(/^fleet-00\s+synced\s+204/);
  expect(rows[5]).toMatch(/^key-sync: 4 keys of instance \S+: 2 synced, 1 gated, 1 failed in [\d.]+ s \(exit 1\)$/);
  expect(requests(emu, 'iam.token')).toHaveLength(1);
  expect(requests(emu, 'keys.sync')).toHaveLength(4);
});

test('gated and synced only -> exit 75; all synced -> exit 0', async () => {
  expect((await cli(['--key-id', GATED, '--key-id', 'fleet-01', '--max-wait', '0'])).code).toBe(75);
  expect((await cli(['--key-id', 'fleet-02', '--key-id', 'fleet-03'])).code).toBe(0);
});

test('--json: outcome, counts and per-key objects in the single-sync shape', async () => {
  const r = await cli(['--key-id', 'fleet-00', '--key-id', MISSING, '--key-id', GATED, '--max-wait', '0', '--json', '--concurrency', '2']);
  expect(r.code).toBe(1);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  const j = JSON.parse(lines[0] ?? '') as { keys: Record<string, unknown>[] } & Record<string, unknown>;
  expect(j).toMatchObject({ outcome: 'failed', instanceId: KP_INSTANCE, source: 'key-id', concurrency: 2, counts: { total: 3, synced: 1, gated: 1, failed: 1 }, exitCode: 1 });
  expect(j.keys.map((k) => [k['keyId'], k['outcome'], k['status'], k['exitCode']])).toEqual([['fleet-00', 'synced', 204, 0], [MISSING, 'failed', 404, 1], [GATED, 'gated', 409, 75]]);
  for (const k of j.keys) expect(Object.keys(k)).toEqual(expect.arrayContaining(['outcome', 'keyId', 'instanceId', 'status', 'correlationId', 'attempts', 'waitedMs', 'message', 'retryLater', 'exitCode']));
  expect(j.keys[2]?.['notBefore']).toMatch(/^\d{4}-\d\d-\d\dT/);
  // The correlation ids are the ones the service saw.
  expect(requests(emu, 'keys.sync').map((e) => e.correlationId).sort()).toEqual(j.keys.map((k) => k['correlationId']).sort());
});

test('--keys-file: comments and blanks ignored; a bad line is exit 2 naming the line, before any request', async () => {
  const ok = await cli(['--keys-file', keysFile(`# payments\n${KP_KEY}\n\nfleet-05   # trailing comment\n`)]);
  expect(ok.code).toBe(0);
  expect(requests(emu, 'keys.sync').map((e) => e.path).sort()).toEqual([`/api/v2/keys/${KP_KEY}/actions/sync`, '/api/v2/keys/fleet-05/actions/sync']);
  emu.clearLog();
  const bad = await cli(['--keys-file', keysFile(`${KP_KEY}\n# fine\nfleet 05\n`)]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--keys-file \S+keys\.txt line 3: "fleet 05" is neither a key UUID nor a valid alias/);
  const missing = await cli(['--keys-file', path.join(dir, 'nope.txt')]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/--keys-file \S+nope\.txt cannot be read \(ENOENT\)/);
  const empty = await cli(['--keys-file', keysFile('# none\n')]);
  expect(empty.code).toBe(2);
  expect(empty.stderr).toContain('lists no keys');
  expect(apiRequests(emu)).toHaveLength(0);
});

test('--all-registered: lists registrations and syncs each distinct registered key once', async () => {
  const r = await cli(['--all-registered', '--json']);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout) as { keys: { keyId: string }[] } & Record<string, unknown>;
  expect(j).toMatchObject({ source: 'all-registered', registrations: 4, counts: { total: 3, synced: 3 } });
  expect(j.keys.map((k) => k.keyId).sort()).toEqual(['00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000007', KP_KEY].sort());
  expect(requests(emu, 'keys.sync')).toHaveLength(3);
  expect(requests(emu, 'registrations.all').length).toBeGreaterThanOrEqual(1);
  expect(r.stderr).toMatch(/4 registrations name 3 keys of instance/);
});

test('shared backoff: one 429 with Retry-After pauses every worker; requests stay bounded', async () => {
  emu.injectFaults('keys.sync', [{ status: 429, headers: { 'retry-after': '1' } }]);
  const keys = FLEET.slice(0, 6);
  // Real time (scale 1) so the hold-off is visible in the emulator's log.
  const r = await cli([...keys.flatMap((k) => ['--key-id', k]), '--concurrency', '2'], { KEY_SYNC_TIME_SCALE: '1' });
  expect(r.code).toBe(0);
  const syncs = requests(emu, 'keys.sync');
  expect(syncs).toHaveLength(keys.length + 1);
  const throttled = syncs.find((e) => e.status === 429);
  expect(throttled).toBeDefined();
  const at429 = Date.parse(throttled?.time ?? '') + (throttled?.durationMs ?? 0);
  // Requests sent after the 429 was answered waited out the hold-off (~1 s), not only the
  // throttled key's retry. One other request may already have been on its way before the
  // client read the 429 (under load it can reach the emulator just after): never more.
  const later = syncs.filter((e) => Date.parse(e.time) > at429);
  expect(later.length).toBeGreaterThanOrEqual(keys.length - 2);
  const early = later.filter((e) => Date.parse(e.time) - at429 < 800);
  expect(early.length).toBeLessThanOrEqual(1);
  expect(later.length - early.length).toBeGreaterThanOrEqual(keys.length - 3);
}, 20_000);

test('--concurrency bounds the requests in flight (a slow service, 12 keys, 3 at a time)', async () => {
  emu.injectFaults('keys.sync', [{ delayMs: 150, times: 100 }]);
  const r = await cli([...FLEET.flatMap((k) => ['--key-id', k]), '--concurrency', '3']);
  expect(r.code).toBe(0);
  const iv = intervals('keys.sync');
  expect(iv).toHaveLength(12);
  let maxOverlap = 0;
  for (const [t] of iv) maxOverlap = Math.max(maxOverlap, iv.filter(([a, b]) => a <= t && t < b).length);
  expect(maxOverlap).toBeLessThanOrEqual(3);
  expect(maxOverlap).toBeGreaterThanOrEqual(2);
  // 12 keys, 3 at a time, 150 ms each: at least 4 rounds.
  const span = Math.max(...iv.map(([, b]) => b)) - Math.min(...iv.map(([a]) => a));
  expect(span).toBeGreaterThanOrEqual(4 * 150 - 20);
});

test('non-TTY progress: status lines, not one line per key', async () => {
  const r = await cli(FLEET.flatMap((k) => ['--key-id', k]));
  expect(r.code).toBe(0);
  const status = r.stderr.split('\n').filter((l) => /done: \d+ synced/.test(l));
  expect(status.length).toBeGreaterThanOrEqual(1);
  expect(status.length).toBeLessThan(FLEET.length);
});

test('IAM refuses the API key: asked once for the whole fleet, every key failed with the reason', async () => {
  emu.injectFaults('iam.token', [{ status: 400, times: 1000 }]);
  const r = await cli(FLEET.flatMap((k) => ['--key-id', k]));
  expect(r.code).toBe(1);
  const rows = r.stdout.trimEnd().split('\n').slice(1, -1);
  expect(rows).toHaveLength(FLEET.length);
  for (const row of rows) expect(row).toMatch(/^fleet-\d\d\s+failed\s+-\s+KS_IAM_REFUSED: IAM refused the API key from IBMCLOUD_API_KEY \(400/);
  // Without remembering the refusal, every wave of concurrent keys asked IAM again. The
  // keys after the first wave say that their answer is the remembered one.
  expect(requests(emu, 'iam.token')).toHaveLength(1);
  expect(rows.filter((row) => row.includes('(the answer to an earlier request of this run; not asked again for 5 minutes)')).length).toBeGreaterThanOrEqual(FLEET.length - DEFAULT_CONCURRENCY);
  expect(requests(emu, 'keys.sync')).toHaveLength(0);
});
