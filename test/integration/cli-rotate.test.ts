/**
 * `key-sync rotate` as a child process (node dist/key-sync.cjs) against the emulator on
 * 127.0.0.1: rotated, already rotated, the once-an-hour gate waited for and beyond
 * --max-wait, retried after the gate, a lost answer, a 5xx before the service acted,
 * keys that cannot be rotated, Key Protect against HPCS rules, and the sync that follows
 * a rotation. Every case counts rotate requests and key versions in the emulator, and a
 * canary API key must never appear in the output. The emulator follows real time (the
 * requested-at times are this machine's, as Terraform's plantimestamp() would be) and is
 * moved forward instead of sleeping; waits are scaled with KEY_SYNC_TIME_SCALE=0.001.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { RunningEmulator } from '../../src/emulator/server';
import type { SeedKey } from '../../src/emulator/seed';
import { HPCS_INSTANCE, KP_INSTANCE, cliEnv, expectNoSecrets, jsonOut, requests, runCli, startCanaryEmulator, type CliRun } from '../helpers/cli';
import { tapProxy } from '../reliability/harness';

const MIN = 60_000;
const HOUR = 60 * MIN;

const KEYS = {
  active: '7a000000-0000-4000-8000-000000000001',
  recent: '7a000000-0000-4000-8000-000000000002',
  kpDeactivated: '7a000000-0000-4000-8000-000000000003',
  hpcsActive: '7a000000-0000-4000-8000-000000000004',
  hpcsDeactivated: '7a000000-0000-4000-8000-000000000005',
  suspended: '7a000000-0000-4000-8000-000000000006',
  imported: '7a000000-0000-4000-8000-000000000007',
  standard: '7a000000-0000-4000-8000-000000000008',
  destroyed: '7a000000-0000-4000-8000-000000000009',
} as const;

let emu: RunningEmulator;
let last: CliRun | undefined;
/** The real time the emulator started at: seeded dates are relative to it. */
let t0: number;

const iso = (ms: number): string => new Date(ms).toISOString();

function seedKeys(t: number, extra: Partial<Record<keyof typeof KEYS, Partial<SeedKey>>> = {}): SeedKey[] {
  const kp = (name: keyof typeof KEYS, k: Partial<SeedKey>): SeedKey => ({ id: KEYS[name], instanceId: KP_INSTANCE, name, ...k, ...extra[name] });
  const hpcs = (name: keyof typeof KEYS, k: Partial<SeedKey>): SeedKey => ({ id: KEYS[name], instanceId: HPCS_INSTANCE, name, ...k, ...extra[name] });
  return [
    kp('active', { aliases: ['rot-active'], creationDate: iso(t - 48 * HOUR), lastRotateDate: iso(t - 30 * 24 * HOUR) }),
    kp('recent', { lastRotateDate: iso(t - 10 * MIN) }),
    kp('kpDeactivated', { state: 3 }),
    hpcs('hpcsActive', {}),
    hpcs('hpcsDeactivated', { state: 3 }),
    kp('suspended', { state: 2 }),
    kp('imported', { imported: true }),
    kp('standard', { extractable: true }),
    kp('destroyed', { state: 5 }),
  ];
}

async function start(extra: Parameters<typeof seedKeys>[1] = {}, opts: { gateSeconds?: number } = {}): Promise<void> {
  t0 = Date.now();
  emu = await startCanaryEmulator({
    ...opts,
    seed: {
      instances: [
        { id: KP_INSTANCE, kind: 'key-protect', region: 'us-south' },
        { id: HPCS_INSTANCE, kind: 'hpcs', region: 'us-south' },
      ],
      keys: seedKeys(t0, extra),
      registrations: [
        { keyId: KEYS.active, resourceCrn: 'crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:rot-ledger' },
      ],
    },
  });
}

beforeEach(async () => {
  last = undefined;
  await start();
});
afterEach(async () => {
  if (last !== undefined) expectNoSecrets(last);
  await emu.close();
});

function rotateArgs(key: string, requestedAt: number, extra: readonly string[] = [], instance = KP_INSTANCE): string[] {
  return ['rotate', '--instance-id', instance, '--key-id', key, '--generation', '2026-Q4', '--requested-at', new Date(requestedAt).toISOString().replace(/\.\d{3}Z$/, 'Z'), ...extra];
}

async function cli(args: readonly string[], extraEnv: Record<string, string> = {}, opts: Parameters<typeof runCli>[2] = {}): Promise<CliRun> {
  last = await runCli(args, cliEnv(emu, extraEnv), opts);
  return last;
}

const json = jsonOut;

function versions(keyId: string, instance = KP_INSTANCE): number {
  const k = emu.state.findKey(instance, keyId);
  if (k === undefined) throw new Error(`no key ${keyId}`);
  return k.versions.length;
}

const rotations = (): ReturnType<typeof requests> => requests(emu, 'keys.action').filter((e) => e.path.endsWith('/actions/rotate'));

/** "2026-11-28 21:38:43 UTC" of an epoch-ms time, as the CLI prints a time (seconds cut). */
function utc(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

test('rotates once: 204, a new version reported with the previous one, exit 0, the documented --json fields', async () => {
  const before = emu.state.findKey(KP_INSTANCE, KEYS.active)?.keyVersion.id;
  const r = await cli(rotateArgs(KEYS.active, t0, ['--json', '--key-ring', 'default']));
  expect(r.code).toBe(0);
  const j = json(r);
  const key = emu.state.findKey(KP_INSTANCE, KEYS.active);
  expect(j).toMatchObject({
    outcome: 'rotated',
    keyId: KEYS.active,
    generation: '2026-Q4',
    keyVersion: key?.keyVersion.id,
    previousKeyVersion: before,
    status: 204,
    attempts: 3, // read, rotate, read
    confirmedBy: 'answer',
    service: 'key-protect',
    allowanceSeconds: 300,
    exitCode: 0,
  });
  expect(j['keyVersion']).not.toBe(before);
  expect(j['rotatedAt']).toBe(new Date(key?.lastRotateDate ?? 0).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  expect(j).not.toHaveProperty('notBefore');
  expect(j['message']).toMatch(/^rotated for generation 2026-Q4: new version [0-9a-f-]{36} \(was [0-9a-f-]{36}\), rotated at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; the rotation notifies the key's associated resources itself$/);
  expect(versions(KEYS.active)).toBe(3);
  const posts = rotations();
  expect(posts).toHaveLength(1);
  expect(posts[0]).toMatchObject({ method: 'POST', status: 204, bodyBytes: 0, keyRing: 'default', instance: KP_INSTANCE });
  // One correlation id for the whole call: both reads and the rotation.
  const ids = new Set([...requests(emu, 'keys.metadata'), ...posts].map((e) => e.correlationId));
  expect([...ids]).toEqual([j['correlationId']]);
});

test('human line on stdout names the key, the generation, both versions and the correlation id', async () => {
  const r = await cli(rotateArgs('rot-active', t0));
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^key-sync: rotated key rot-active \(instance 0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20\): rotated for generation 2026-Q4: new version .* \[HTTP 204, correlation id [0-9a-f-]{36}, 3 requests\]\n$/);
  expect(r.stderr).toBe('');
  expect(rotations()[0]?.path).toBe('/api/v2/keys/rot-active/actions/rotate');
});

test('already rotated at or after the request (e.g. by a policy): exit 0, already-rotated, no rotate request', async () => {
  await emu.close();
  await start({ active: { lastRotateDate: iso(Date.now() - 2 * MIN) } });
  // requested 20 minutes ago; a rotation policy rotated the key 2 minutes ago
  const r = await cli(rotateArgs(KEYS.active, t0 - 20 * MIN, ['--json']));
  expect(r.code).toBe(0);
  const j = json(r);
  expect(j).toMatchObject({ outcome: 'already-rotated', attempts: 1, exitCode: 0 });
  expect(j['keyVersion']).toBe(j['previousKeyVersion']);
  expect(j['message']).toMatch(/^already rotated for generation 2026-Q4: last rotated at .* UTC, at or after the request at .* UTC \(allowing 5 min of clock skew\); version [0-9a-f-]{36}; not rotated again$/);
  expect(rotations()).toHaveLength(0);
  expect(versions(KEYS.active)).toBe(2);
});

test('a rotation within the 5-minute allowance before the request counts; one 6 minutes before does not', async () => {
  await emu.close();
  await start({ active: { lastRotateDate: iso(Date.now() - 4 * MIN) }, recent: { lastRotateDate: iso(Date.now() - 6 * MIN) } });
  const a = await cli(rotateArgs(KEYS.active, t0, ['--json']));
  expect(json(a)).toMatchObject({ outcome: 'already-rotated' });
  const b = await cli(rotateArgs(KEYS.recent, t0, ['--json', '--max-wait', '0']));
  expect(b.code).toBe(75);
  expect(json(b)).toMatchObject({ outcome: 'gated' });
  expect(rotations()).toHaveLength(0);
});

test('gate beyond --max-wait: exit 75 at once, naming lastRotateDate + 1 h in UTC, no rotate request', async () => {
  const lastRotate = emu.state.findKey(KP_INSTANCE, KEYS.recent)?.lastRotateDate ?? 0;
  const r = await cli(rotateArgs(KEYS.recent, t0), { KEY_SYNC_TIME_SCALE: '1' });
  expect(r.code).toBe(75);
  // (the service prints whole seconds, and a moment passed since the seed)
  expect(r.stderr).toContain(`rotation time gate closed until ${utc(lastRotate + HOUR)} (one rotation an hour; last rotated at ${utc(lastRotate)}), in `);
  expect(r.stderr).toMatch(/\), in (50 min|49 min 5\d s);/);
  expect(r.stderr).toContain('beyond --max-wait 900 s; not rotated. The next apply will retry it (Terraform taints the resource)');
  expect(r.stderr).toContain('KS_GATED');
  expect(r.stdout).toBe('');
  expect(rotations()).toHaveLength(0);
  expect(r.ms).toBeLessThan(5000);
});

test('gate with --json: outcome gated, notBefore, exit 75', async () => {
  const lastRotate = emu.state.findKey(KP_INSTANCE, KEYS.recent)?.lastRotateDate ?? 0;
  const r = await cli(rotateArgs(KEYS.recent, t0, ['--json', '--max-wait', '0']));
  expect(r.code).toBe(75);
  expect(json(r)).toMatchObject({ outcome: 'gated', code: 'KS_GATED', notBefore: new Date(Math.floor(lastRotate / 1000) * 1000 + HOUR).toISOString(), retryLater: true, exitCode: 75 });
});

test('gate inside --max-wait: waits (the test moves the emulator clock), then one rotation', async () => {
  await emu.close();
  await start({ recent: { lastRotateDate: iso(Date.now() - 50 * MIN) } });
  let moved = false;
  const r = await cli(rotateArgs(KEYS.recent, t0, ['--json']), {}, {
    onStderr: (all) => {
      if (!moved && all.includes('rotation time gate closed until')) {
        moved = true;
        emu.clock.advance(10 * MIN + 10_000);
      }
    },
  });
  expect(moved).toBe(true);
  expect(r.code).toBe(0);
  const j = json(r);
  expect(j).toMatchObject({ outcome: 'rotated', status: 204 });
  expect(j['waitedMs'] as number).toBeGreaterThanOrEqual(10 * MIN - 2000);
  expect(r.stderr).toMatch(/rotation time gate closed until .* UTC \(in (9|10) min( \d+ s)?\); waiting 10 min( \d+ s)? within --max-wait/);
  expect(rotations().map((e) => e.status)).toEqual([204]);
  expect(versions(KEYS.recent)).toBe(3);
});

test('retried after the gate: 75, then the next run with the same requested-at rotates exactly once', async () => {
  const requestedAt = t0;
  const gated = await cli(rotateArgs(KEYS.recent, requestedAt, ['--max-wait', '0']));
  expect(gated.code).toBe(75);
  expect(versions(KEYS.recent)).toBe(2);
  emu.clock.advance(HOUR);
  const retried = await cli(rotateArgs(KEYS.recent, requestedAt, ['--json']));
  expect(retried.code).toBe(0);
  expect(json(retried)).toMatchObject({ outcome: 'rotated' });
  expect(versions(KEYS.recent)).toBe(3);
  // And once more (a re-run of the same generation): nothing.
  const again = await cli(rotateArgs(KEYS.recent, requestedAt, ['--json']));
  expect(json(again)).toMatchObject({ outcome: 'already-rotated' });
  expect(rotations().map((e) => e.status)).toEqual([204]);
  expect(versions(KEYS.recent)).toBe(3);
});

test('the service refuses though the key says the gate is open (a longer gate): 409s spaced out, then one rotation', async () => {
  await emu.close();
  // The emulator's gate is 2 h; the key was rotated 90 min ago.
  await start({ recent: { lastRotateDate: iso(Date.now() - 90 * MIN) } }, { gateSeconds: 7200 });
  let moved = false;
  const r = await cli(rotateArgs(KEYS.recent, t0, ['--json']), {}, {
    onStderr: (all) => {
      if (!moved && (all.match(/the service refused the rotation/g) ?? []).length >= 2) {
        moved = true;
        emu.clock.advance(31 * MIN);
      }
    },
  });
  expect(moved).toBe(true);
  expect(r.code).toBe(0);
  expect(json(r)).toMatchObject({ outcome: 'rotated' });
  const statuses = rotations().map((e) => e.status);
  expect(statuses.at(-1)).toBe(204);
  expect(statuses.filter((s) => s === 409).length).toBeGreaterThanOrEqual(2);
  expect(statuses.length).toBeLessThanOrEqual(6);
  expect(versions(KEYS.recent)).toBe(3);
});

test('lost answer (connection reset after the service rotated): the key is read, not rotated again, exit 0', async () => {
  emu.injectFaults('keys.action', [{ reset: 'after-handler' }]);
  const r = await cli(rotateArgs(KEYS.active, t0, ['--json']));
  expect(r.code).toBe(0);
  expect(json(r)).toMatchObject({ outcome: 'rotated', confirmedBy: 'key-read' });
  expect(json(r)['message']).toContain('the rotate request got no answer, and the key read after it shows new version');
  expect(r.stderr).toContain('the rotate request got no answer (connection closed by the server (UND_ERR_SOCKET)); reading the key to see whether it rotated');
  const posts = rotations();
  expect(posts).toHaveLength(1);
  expect(posts[0]).toMatchObject({ status: 0, handledStatus: 204 });
  expect(versions(KEYS.active)).toBe(3);
});

test('503 before the service acted: the key read shows no rotation, the request is sent again, exactly one new version', async () => {
  emu.injectFaults('keys.action', [{ status: 503 }]);
  const r = await cli(rotateArgs(KEYS.active, t0, ['--json']));
  expect(r.code).toBe(0);
  expect(json(r)).toMatchObject({ outcome: 'rotated', confirmedBy: 'answer', status: 204 });
  expect(rotations().map((e) => e.status)).toEqual([503, 204]);
  expect(r.stderr).toMatch(/rotate request to http:\/\/127\.0\.0\.1:\d+: HTTP 503 \(attempt 1 of 5\); trying again in 1 s/);
  expect(versions(KEYS.active)).toBe(3);
});

test('503 every time: 5 rotate requests, each followed by a key read, then exit 75; no version added', async () => {
  emu.injectFaults('keys.action', [{ status: 503, times: 20 }]);
  const r = await cli(rotateArgs(KEYS.active, t0, ['--json']));
  expect(r.code).toBe(75);
  const j = json(r);
  expect(j).toMatchObject({ outcome: 'failed', code: 'KS_HTTP_5XX', retryLater: true });
  expect(j).not.toHaveProperty('unknownOutcome');
  expect(rotations()).toHaveLength(5);
  expect(requests(emu, 'keys.metadata')).toHaveLength(6);
  expect(versions(KEYS.active)).toBe(2);
});

test('lost answer and the key cannot be read after it: exit 75, saying the rotation may or may not have happened', async () => {
  emu.injectFaults('keys.action', [{ reset: 'after-handler' }]);
  // the first read passes (a fault that only adds a header); every read after the reset fails
  emu.injectFaults('keys.metadata', [{ headers: { 'x-emulator-note': 'pass' } }, { status: 503, times: 20 }]);
  const r = await cli(rotateArgs(KEYS.active, t0, ['--json']));
  expect(r.code).toBe(75);
  const j = json(r);
  expect(j).toMatchObject({ outcome: 'failed', unknownOutcome: true, retryLater: true });
  expect(j['message']).toMatch(/^the key service at http:\/\/127\.0\.0\.1:\d+: gave up after \d+ attempts; last: HTTP 503.*; a rotate request went out without an answer, so the key may or may not have rotated: the next run reads the key first and does not rotate it again if it did$/);
  expect(rotations()).toHaveLength(1);
  expect(versions(KEYS.active)).toBe(3);
  // the next run (an apply later) reads the key and finds the rotation
  emu.clearFaults();
  const next = await cli(rotateArgs(KEYS.active, t0, ['--json']));
  expect(json(next)).toMatchObject({ outcome: 'already-rotated' });
  expect(rotations()).toHaveLength(1);
});

test.each<[string, keyof typeof KEYS, string, RegExp]>([
  ['standard key', 'standard', KP_INSTANCE, /is a standard key, and only root keys can be rotated/],
  ['suspended key', 'suspended', KP_INSTANCE, /is in state 2 \(suspended \(disabled\)\); Key Protect rotates only active \(1\) and deactivated \(3\) keys: enable the key first; nothing was sent/],
  ['destroyed key', 'destroyed', KP_INSTANCE, /is in state 5 \(destroyed\)/],
  ['imported key material', 'imported', KP_INSTANCE, /was created from imported key material: its rotation needs new key material/],
  ['deactivated HPCS key', 'hpcsDeactivated', HPCS_INSTANCE, /is in state 3 \(deactivated\); Hyper Protect Crypto Services rotates only active keys \(state 1\)/],
])('not rotatable, %s: exit 1, KS_NOT_ROTATABLE, no rotate request', async (_n, name, instance, message) => {
  const r = await cli(rotateArgs(KEYS[name], t0, [], instance));
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toContain('KS_NOT_ROTATABLE');
  expect(r.stderr).toMatch(/^key-sync: rotation failed, key /);
  expect(rotations()).toHaveLength(0);
  expect(versions(KEYS[name], instance)).toBe(1);
});

test('Key Protect rotates a deactivated key; HPCS an active one (the service told by the key\'s CRN)', async () => {
  const kp = await cli(rotateArgs(KEYS.kpDeactivated, t0, ['--json']));
  expect(json(kp)).toMatchObject({ outcome: 'rotated', service: 'key-protect' });
  const hpcs = await cli(rotateArgs(KEYS.hpcsActive, t0, ['--json'], HPCS_INSTANCE));
  expect(json(hpcs)).toMatchObject({ outcome: 'rotated', service: 'hpcs' });
  expect(versions(KEYS.kpDeactivated)).toBe(2);
  expect(versions(KEYS.hpcsActive, HPCS_INSTANCE)).toBe(2);
  expect(rotations().map((e) => e.status)).toEqual([204, 204]);
});

test('a 404 key: exit 1 naming the key and the fix, no rotate request', async () => {
  const r = await cli(rotateArgs('7a000000-0000-4000-8000-0000000000ff', t0));
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('was not found in instance');
  expect(rotations()).toHaveLength(0);
});

test('usage errors name the flag, the value and the fix (exit 2, nothing sent)', async () => {
  const bad = await cli(['rotate', '--instance-id', KP_INSTANCE, '--key-id', KEYS.active, '--generation', '2026-Q4', '--requested-at', 'yesterday']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--requested-at "yesterday" is not an RFC 3339 date-time; give the time the generation was first requested');
  const noGen = await cli(['rotate', '--instance-id', KP_INSTANCE, '--key-id', KEYS.active, '--requested-at', '2026-11-28T21:38:43Z']);
  expect(noGen.code).toBe(2);
  expect(noGen.stderr).toContain('--generation is required');
  expect(emu.log()).toHaveLength(0);
});

describe('interrupted (SIGINT): exit 75, saying where it was', () => {
  test('while waiting for the rotation gate: not rotated, the next apply retries it', async () => {
    await emu.close();
    await start({ recent: { lastRotateDate: iso(Date.now() - 50 * MIN) } });
    let child: { kill: (s: NodeJS.Signals) => boolean } | undefined;
    const r = await cli(rotateArgs(KEYS.recent, t0), { KEY_SYNC_TIME_SCALE: '1' }, {
      onSpawn: (c) => {
        child = c;
      },
      onStderr: (all) => {
        if (all.includes('rotation time gate closed until')) child?.kill('SIGINT');
      },
    });
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(/key-sync: interrupted, key .*: interrupted while waiting for the rotation time gate \(opens .* UTC\); not rotated\. The next apply will retry it/);
    expect(rotations()).toHaveLength(0);
  });

  test('with a rotate request out and no answer: it may or may not have rotated, and the next run reads the key first', async () => {
    emu.injectFaults('keys.action', [{ hang: true }]);
    let child: { kill: (s: NodeJS.Signals) => boolean } | undefined;
    let seen = '';
    const proxy = await tapProxy(emu.port, (chunk) => {
      seen += chunk;
      if (/POST \/api\/v2\/keys\/\S+\/actions\/rotate /.test(seen)) setTimeout(() => child?.kill('SIGINT'), 100);
    });
    try {
      last = await runCli(rotateArgs(KEYS.active, t0, ['--json']), { ...cliEnv(emu), IBMCLOUD_KP_API_ENDPOINT: proxy.url, KEY_SYNC_TIME_SCALE: '1' }, {
        onSpawn: (c) => {
          child = c;
        },
      });
    } finally {
      await proxy.close();
    }
    expect(last.code).toBe(75);
    const j = json(last);
    expect(j).toMatchObject({ outcome: 'failed', code: 'KS_ABORTED', unknownOutcome: true, retryLater: true });
    expect(j['message']).toBe('interrupted during attempt 2; a rotate request went out without an answer, so the key may or may not have rotated: the next run reads the key first and does not rotate it again if it did');
  });
});

describe('the sync that runs after a rotation (--rotation-requested-at)', () => {
  const SYNC = (extra: readonly string[] = []): string[] => ['sync', '--instance-id', KP_INSTANCE, '--key-id', KEYS.active, ...extra];
  const stamp = (ms: number): string => new Date(ms).toISOString();

  test('gated by the rotation made for the request: exit 0, "no sync needed", the resources were notified by the rotation', async () => {
    expect((await cli(rotateArgs(KEYS.active, t0))).code).toBe(0);
    const r = await cli(SYNC(['--rotation-requested-at', stamp(t0), '--json']));
    expect(r.code).toBe(0);
    const j = json(r);
    expect(j).toMatchObject({ outcome: 'synced', status: 409, reasonCode: 'REQ_TOO_EARLY_ERR', notifiedByRotation: true, exitCode: 0 });
    expect(j['message']).toMatch(/^the key was rotated at .* UTC for its declared rotation \(version [0-9a-f-]{36}\), and that rotation notified its associated resources; the service refuses a sync for the hour after a rotation \(409 REQ_TOO_EARLY_ERR until .* UTC\), so there is nothing left to do$/);
    expect(requests(emu, 'keys.sync').map((e) => e.status)).toEqual([409]);
    const human = await cli(SYNC(['--rotation-requested-at', stamp(t0)]));
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^key-sync: no sync needed, key 7a000000-0000-4000-8000-000000000001 /);
  });

  test('without the flag the same sync is gated as usual (exit 75)', async () => {
    expect((await cli(rotateArgs(KEYS.active, t0))).code).toBe(0);
    const r = await cli(SYNC(['--json']));
    expect(r.code).toBe(75);
    expect(json(r)).toMatchObject({ outcome: 'gated' });
  });

  test('a gate that is not the rotation\'s (a sync accepted after it) is a gate like any other: exit 75', async () => {
    expect((await cli(rotateArgs(KEYS.active, t0))).code).toBe(0);
    emu.clock.advance(HOUR + MIN);
    expect((await cli(SYNC())).code).toBe(0);
    emu.clock.advance(10 * MIN);
    const r = await cli(SYNC(['--rotation-requested-at', stamp(t0), '--json', '--max-wait', '0']));
    expect(r.code).toBe(75);
    expect(json(r)).toMatchObject({ outcome: 'gated' });
  });

  test('a rotation older than the request does not count: the gate is waited for or reported', async () => {
    await emu.close();
    await start({ active: { lastRotateDate: iso(Date.now() - 20 * MIN) } });
    const key = emu.state.findKey(KP_INSTANCE, KEYS.active);
    if (key === undefined) throw new Error('no key');
    key.lastLifecycleAction = key.lastRotateDate;
    const r = await cli(SYNC(['--rotation-requested-at', stamp(t0), '--json', '--max-wait', '0']));
    expect(r.code).toBe(75);
    expect(json(r)).toMatchObject({ outcome: 'gated' });
  });

  test('--rotation-requested-at with several keys is a usage error', async () => {
    const r = await cli(['sync', '--instance-id', KP_INSTANCE, '--key-id', KEYS.active, '--key-id', KEYS.recent, '--rotation-requested-at', stamp(t0)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rotation-requested-at goes with the sync of one key');
  });
});

test('KEY_SYNC_REPORT: a rotation appends its line (command rotate), which `key-sync report` reads', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'ks-rotate-report-')), 'report.jsonl');
  const r = await cli(rotateArgs(KEYS.active, t0), { KEY_SYNC_REPORT: file });
  expect(r.code).toBe(0);
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ command: 'rotate', keyId: KEYS.active, outcome: 'rotated', exitCode: 0 });
  const report = await cli(['report', file]);
  expect(report.code).toBe(0);
  expect(report.stdout).toContain(KEYS.active);
});
