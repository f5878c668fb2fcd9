/**
 * `key-sync status` and `sync --if-behind` against the emulator: registrations that lag
 * after a rotation (catching up, then behind), caught up, no registrations, a key that
 * cannot be read; exit codes 0 / 3 / 1 / 2; only the behind keys are synced (POSTs
 * counted); the request economy of an instance-wide status.
 */
import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import { DEFAULT_SEED, type Seed } from '../../src/emulator/seed';
import { CANARY_API_KEY, HPCS_INSTANCE, HPCS_KEY, KP_INSTANCE, KP_KEY, cliEnv, requests, runCli } from '../helpers/cli';

const H = 3_600_000;
const T0 = Date.parse('2026-12-01T10:00:00Z');
const LONELY = '11111111-2222-4333-8444-555555555555';

let emu: RunningEmulator;

/** The default seed plus a key with no registrations; registrations acknowledge a rotation 10 h late. */
async function start(): Promise<RunningEmulator> {
  const seed: Seed = {
    ...DEFAULT_SEED,
    keys: [...DEFAULT_SEED.keys, { id: LONELY, instanceId: KP_INSTANCE, name: 'lonely-root' }],
    apiKeys: [...DEFAULT_SEED.apiKeys, CANARY_API_KEY],
  };
  return startEmulator({ port: 0, now: T0, gateSeconds: 0, registrationAckSeconds: 10 * 3600, seed });
}

beforeEach(async () => {
  emu = await start();
});
afterEach(async () => emu.close());

function rotate(keyId: string): void {
  const key = emu.state.keys.get(keyId);
  if (key === undefined) throw new Error(`no key ${keyId}`);
  expect(emu.state.action(key, 'rotate', emu.clock.now()).ok).toBe(true);
}

const env = (): Record<string, string> => cliEnv(emu, { KEY_SYNC_TIME_SCALE: '1' });
const status = (...args: string[]) => runCli(['status', '--instance-id', KP_INSTANCE, ...args], env());
const json = (stdout: string): Record<string, unknown> => JSON.parse(stdout) as Record<string, unknown>;
const keysOf = (j: Record<string, unknown>) => j['keys'] as Array<Record<string, unknown>>;

test('no rotation: current (exit 0); a key with nothing registered: no-registrations', async () => {
  const r = await status('--key-id', KP_KEY, '--key-id', LONELY, '--json');
  expect(r.code).toBe(0);
  const keys = keysOf(json(r.stdout));
  expect(keys.map((k) => [k['keyId'], k['verdict'], k['registrations'], k['onCurrentVersion']])).toEqual([[KP_KEY, 'current', 2, 2], [LONELY, 'no-registrations', 0, 0]]);
});

test('after a rotation: catching up within the grace period (exit 0), behind past it (exit 3), current once acknowledged', async () => {
  rotate(KP_KEY);
  emu.clock.advance(H);
  let r = await status('--key-id', 'payments-root', '--json');
  expect(r.code).toBe(0);
  expect(keysOf(json(r.stdout))[0]).toMatchObject({ keyId: 'payments-root', uuid: KP_KEY, verdict: 'catching-up', registrations: 2, onCurrentVersion: 0 });

  emu.clock.advance(4 * H);
  r = await status('--key-id', 'payments-root', '--json');
  expect(r.code).toBe(3);
  const k = keysOf(json(r.stdout))[0]!;
  expect(k).toMatchObject({ verdict: 'behind', state: 1, registrations: 2, onCurrentVersion: 0 });
  const lagging = k['lagging'] as Array<Record<string, unknown>>;
  expect(lagging).toHaveLength(2);
  expect(lagging[0]).toMatchObject({ resourceCrn: expect.stringContaining('payments-ledger'), keyVersionId: KP_KEY });
  // Measured on the service's clock (its Date header, whole seconds): 5 h, within a second.
  expect(Math.abs(Number(lagging[0]!['behindForMs']) - 5 * H)).toBeLessThan(1500);
  expect((k['currentVersion'] as { id: string }).id).not.toBe(KP_KEY);

  // The human table names the lagging resources and how long since the key changed.
  const text = await status('--key-id', 'payments-root');
  expect(text.code).toBe(3);
  expect(text.stdout).toMatch(/^payments-root\s+behind\s+active\s+\S+ \(since 2026-12-01T10:00:00Z\)\s+0\/2\s+2026-12-01T10:00:00Z$/m);
  expect(text.stdout).toMatch(/^ {4}crn:v1:\S+bucket:payments-ledger: on version 4a1e9c37\S+, 5 h after the key changed$/m);

  emu.state.acknowledge({ keyId: KP_KEY }, emu.clock.now());
  r = await status('--key-id', 'payments-root', '--json');
  expect(r.code).toBe(0);
  expect(keysOf(json(r.stdout))[0]).toMatchObject({ verdict: 'current', onCurrentVersion: 2 });
});

test('a key that cannot be read: unknown with the reason, exit 1; --grace-hours moves the line', async () => {
  rotate(KP_KEY);
  emu.clock.advance(2 * H);
  const r = await status('--key-id', KP_KEY, '--key-id', '00000000-0000-4000-8000-000000000000', '--grace-hours', '1', '--json');
  expect(r.code).toBe(1);
  const keys = keysOf(json(r.stdout));
  expect(keys[0]).toMatchObject({ verdict: 'behind' });
  expect(keys[1]).toMatchObject({ verdict: 'unknown', code: 'KS_NOT_FOUND', retryLater: false });
  expect(String(keys[1]!['message'])).toMatch(/was not found in instance .*\(404/);
});

test('--all-registered: one instance-wide listing (one page) plus one read per key', async () => {
  rotate(KP_KEY);
  emu.clock.advance(5 * H);
  const r = await runCli(['status', '--instance-id', KP_INSTANCE, '--all-registered', '--json'], env());
  expect(r.code).toBe(3);
  const j = json(r.stdout);
  expect(j['requests']).toEqual({ keyReads: 1, listings: 1 });
  expect(requests(emu, 'registrations.all')).toHaveLength(1);
  expect(requests(emu, 'registrations.key')).toHaveLength(0);
});

test('sync --if-behind: syncs only the keys that are behind; the others are reported with their verdict and get no POST', async () => {
  rotate(KP_KEY);
  emu.clock.advance(5 * H);
  // KP_KEY behind; LONELY has no registrations; HPCS_KEY lives in another instance (not here).
  const fleet = await runCli(['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY, '--key-id', LONELY, '--if-behind', '--json'], env());
  expect(fleet.code).toBe(0);
  const j = json(fleet.stdout);
  expect(j['counts']).toEqual({ total: 2, synced: 1, gated: 0, failed: 0, skipped: 1 });
  expect(keysOf(j).map((k) => [k['keyId'], k['outcome']])).toEqual([[KP_KEY, 'synced'], [LONELY, 'skipped']]);
  expect(keysOf(j)[1]).toMatchObject({ verdict: 'no-registrations' });
  expect(requests(emu, 'keys.sync').map((e) => e.status)).toEqual([204]);

  // One key: a current key is not synced (exit 0, outcome skipped).
  emu.state.acknowledge({ keyId: KP_KEY }, emu.clock.now());
  const one = await runCli(['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY, '--if-behind'], env());
  expect(one.code).toBe(0);
  expect(one.stdout).toMatch(/^key-sync: not synced \(not needed\), key 4a1e9c37\S+ \(instance \S+\): all 2 registrations on the current version; --if-behind syncs only keys that are behind \[verdict current\]$/m);
  expect(requests(emu, 'keys.sync')).toHaveLength(1);
});

test('sync --if-behind --all-registered across an instance: only behind keys; exit code of the syncs', async () => {
  const e = emu;
  rotate(HPCS_KEY);
  e.clock.advance(5 * H);
  const r = await runCli(['sync', '--instance-id', HPCS_INSTANCE, '--all-registered', '--if-behind'], env());
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^c7e2a9f4\S+\s+synced\s+204/m);
  expect(r.stderr).toContain('1 behind (syncing), 0 not behind, 0 whose status could not be read');
  expect(requests(e, 'keys.sync')).toHaveLength(1);
});

describe('bad input: exit 2 before any request', () => {
  test.each<[string[], RegExp]>([
    [[], /say which keys: --key-id ID \(repeatable\), --keys-file FILE or --all-registered/],
    [['--key-id', KP_KEY, '--grace-hours=-1'], /--grace-hours "-1" is not a number of hours/],
    [['--key-id', KP_KEY, '--grace-hours', '200'], /--grace-hours "200" is outside 0-168/],
    [['--all-registered', '--key-id', KP_KEY], /--all-registered reports on every key that has a registration; give it without --key-id/],
    [['--key-id', 'not a key!'], /--key-id "not a key!" is neither a key UUID nor a valid alias/],
  ])('status %j', async (args, re) => {
    const r = await status(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(emu.log().filter((l) => l.route !== 'admin')).toHaveLength(0);
  });

  test('sync --grace-hours without --if-behind', async () => {
    const r = await runCli(['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY, '--grace-hours', '2'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--grace-hours goes with --if-behind');
    expect(emu.log()).toHaveLength(0);
  });
});
