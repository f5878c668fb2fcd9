/**
 * The CLI as a child process (node dist/key-sync.cjs) against the emulator on 127.0.0.1:
 * each sync outcome (accepted, gated, retried, refused), with request counts from the emulator's log and a
 * canary API key that must never appear in stdout or stderr. Waits are scaled with the
 * KEY_SYNC_TIME_SCALE test hook (0.001: an hour takes 3.6 s, a 1 s backoff 1 ms).
 */
import type { RunningEmulator } from '../../src/emulator/server';
import {
  KP_INSTANCE,
  KP_KEY,
  apiRequests,
  cliEnv,
  closedPort,
  expectNoSecrets,
  jsonOut,
  requests,
  runCli,
  startCanaryEmulator,
  type CliRun,
} from '../helpers/cli';

let emu: RunningEmulator;
let last: CliRun | undefined;

beforeEach(async () => {
  last = undefined;
  emu = await startCanaryEmulator();
});
afterEach(async () => {
  if (last !== undefined) expectNoSecrets(last);
  await emu.close();
});

const SYNC = ['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY];

async function cli(args: readonly string[], extraEnv: Record<string, string> = {}, opts: Parameters<typeof runCli>[2] = {}): Promise<CliRun> {
  last = await runCli(args, cliEnv(emu, extraEnv), opts);
  return last;
}

const json = jsonOut;

function startGate(): number {
  const key = emu.state.findKey(KP_INSTANCE, KP_KEY);
  if (key === undefined) throw new Error('seed key missing');
  expect(emu.state.sync(key, emu.clock.now()).ok).toBe(true);
  return emu.state.gateOpensAt(key) ?? 0;
}

test('204: exit 0, one IAM exchange, one sync with the right headers', async () => {
  const r = await cli([...SYNC, '--region', 'us-south', '--key-ring', 'default']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^key-sync: synced key 4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84 \(instance 0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20\): sync accepted \(204\).*correlation id [0-9a-f-]{36}, 1 attempt\]\n$/);
  expect(r.stderr).toContain('IBMCLOUD_KP_API_ENDPOINT overrides --region');
  const syncs = requests(emu, 'keys.sync');
  expect(syncs).toHaveLength(1);
  expect(syncs[0]).toMatchObject({ method: 'POST', status: 204, instance: KP_INSTANCE, keyRing: 'default', bodyBytes: 0 });
  expect(syncs[0]?.correlationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(r.stdout).toContain(syncs[0]?.correlationId);
  expect(requests(emu, 'iam.token')).toHaveLength(1);
});

test('204 by alias with --json: one object with the documented fields', async () => {
  const r = await cli(['sync', '--instance-id', KP_INSTANCE, '--key-id', 'payments-root', '--json']);
  expect(r.code).toBe(0);
  const j = json(r);
  expect(j).toMatchObject({ outcome: 'synced', keyId: 'payments-root', instanceId: KP_INSTANCE, status: 204, attempts: 1, waitedMs: 0, retryLater: false, exitCode: 0 });
  expect(j['correlationId']).toBe(requests(emu, 'keys.sync')[0]?.correlationId);
  expect(j).not.toHaveProperty('notBefore');
  expect(requests(emu, 'keys.sync')[0]?.path).toBe('/api/v2/keys/payments-root/actions/sync');
});

test('409 gate inside --max-wait: waits (clock moved by the test), then 204', async () => {
  // A 5-minute gate: at scale 0.001 the CLI waits about 0.3 s; the test moves the emulator
  // clock as soon as the CLI says it is waiting (the margin to --max-wait absorbs a slow test).
  await emu.close();
  emu = await startCanaryEmulator({ gateSeconds: 300 });
  const opens = startGate() - emu.clock.now();
  expect(opens).toBeGreaterThan(295_000);
  emu.clearLog();
  let moved = false;
  const r = await cli([...SYNC, '--max-wait', '3700', '--json'], {}, {
    onStderr: (all) => {
      if (!moved && all.includes('sync time gate closed until')) {
        moved = true;
        emu.clock.advance(301_000);
      }
    },
  });
  expect(moved).toBe(true);
  expect(r.code).toBe(0);
  const j = json(r);
  expect(j).toMatchObject({ outcome: 'synced', status: 204 });
  expect(j['waitedMs'] as number).toBeGreaterThanOrEqual(300_000);
  expect(r.stderr).toMatch(/sync time gate closed until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in [45] min( \d+ s)?\); waiting 5 min( \d+ s)? within --max-wait/);
  // Progress at least every 30 s of (scaled) waiting.
  expect((r.stderr.match(/waiting for the sync time gate: /g) ?? []).length).toBeGreaterThanOrEqual(9);
  const syncs = requests(emu, 'keys.sync');
  expect(syncs[0]?.status).toBe(409);
  expect(syncs.at(-1)?.status).toBe(204);
  // Waiting is spaced: a handful of requests at most, all with one correlation id.
  expect(syncs.length).toBeLessThanOrEqual(4);
  expect(new Set(syncs.map((s) => s.correlationId)).size).toBe(1);
  expect(r.ms).toBeLessThan(10_000);
});

test('409 gate beyond --max-wait: exit 75 at once, UTC time and how far in the message', async () => {
  // The service names the time rounded up to the second.
  const opens = new Date(Math.ceil(startGate() / 1000) * 1000);
  emu.clearLog();
  const r = await cli(SYNC, { KEY_SYNC_TIME_SCALE: '1' });
  expect(r.code).toBe(75);
  const utc = `${opens.toISOString().slice(0, 10)} ${opens.toISOString().slice(11, 19)} UTC`;
  expect(r.stderr).toContain(`sync time gate closed until ${utc}, in 1 h;`);
  expect(r.stderr).toContain('beyond --max-wait 900 s');
  expect(r.stderr).toContain('The next apply will retry it (Terraform taints the resource)');
  expect(r.stderr).toContain('KS_GATED');
  expect(requests(emu, 'keys.sync')).toHaveLength(1);
  expect(r.ms).toBeLessThan(5000);
});

test('409 gate with --json: outcome gated, notBefore, exit 75', async () => {
  const opens = startGate();
  const r = await cli([...SYNC, '--json', '--max-wait', '0']);
  expect(r.code).toBe(75);
  expect(json(r)).toMatchObject({ outcome: 'gated', status: 409, code: 'KS_GATED', reasonCode: 'REQ_TOO_EARLY_ERR', notBefore: new Date(Math.ceil(opens / 1000) * 1000).toISOString(), retryLater: true, exitCode: 75 });
});

test('a sync accepted whose answer is lost (reset after the service acted): the retry meets the gate that sync started, exit 0, not sent a third time', async () => {
  emu.injectFaults('keys.sync', [{ reset: 'after-handler' }]);
  const r = await cli([...SYNC, '--json']);
  expect(r.code).toBe(0);
  const j = json(r);
  expect(j).toMatchObject({ outcome: 'synced', confirmedBy: 'gate', status: 409, reasonCode: 'REQ_TOO_EARLY_ERR', attempts: 2, retryLater: false, exitCode: 0 });
  expect(j['message']).toMatch(/^sync accepted, its answer lost: a sync request got no answer \(connection closed by the server \(UND_ERR_SOCKET\)\), and the retry met a time gate that started at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, while that request was out/);
  expect(r.stderr).toMatch(/sync request to http:\/\/127\.0\.0\.1:\d+: connection closed by the server \(UND_ERR_SOCKET\) \(attempt 1 of 5\); trying again/);
  // One sync acted on (the reset one), one refused by its gate; nothing after.
  expect(requests(emu, 'keys.sync').map((e) => [e.status, e.handledStatus])).toEqual([[0, 204], [409, undefined]]);
  // The service names gate times rounded up to the second.
  const started = Date.parse(String(j['gateStartedAt']));
  expect(started).toBeLessThanOrEqual(emu.clock.now() + 1000);
  expect(started).toBeGreaterThan(emu.clock.now() - 10_000);
});

test('a reset while another sync\'s gate was already closed: the retry\'s gate started before this run, so it is gated (75), never "accepted"', async () => {
  startGate();
  emu.clock.advance(10 * 60_000); // someone else synced 10 minutes ago
  emu.clearLog();
  emu.injectFaults('keys.sync', [{ reset: 'after-handler' }]);
  const r = await cli([...SYNC, '--json', '--max-wait', '0']);
  expect(r.code).toBe(75);
  expect(json(r)).toMatchObject({ outcome: 'gated', code: 'KS_GATED', retryLater: true });
  expect(json(r)).not.toHaveProperty('confirmedBy');
  expect(requests(emu, 'keys.sync').map((e) => [e.status, e.handledStatus])).toEqual([[0, 409], [409, undefined]]);
});

test('503 (the service did not act), then a gate another sync started seconds before: gated (75), not taken for ours', async () => {
  // The gate starts 20 s before this run (well past the 5 s allowance for second-resolution times).
  startGate();
  emu.clock.advance(20_000);
  emu.clearLog();
  emu.injectFaults('keys.sync', [{ status: 503 }]);
  const r = await cli([...SYNC, '--json', '--max-wait', '0']);
  expect(r.code).toBe(75);
  expect(json(r)).toMatchObject({ outcome: 'gated', code: 'KS_GATED' });
});

test('503, then a gate that was already closed, waited out, then a new gate: someone else\'s sync after the wait is never taken for ours (75)', async () => {
  const gateBody = (at: number): object => ({
    metadata: { collectionType: 'application/vnd.ibm.kms.error+json', collectionTotal: 1 },
    resources: [{ errorMsg: `Conflict: Sync cannot be performed until at least ${new Date(at).toISOString()}`, reasons: [{ code: 'REQ_TOO_EARLY_ERR', message: 'synced or changed within the last hour', status: 409 }] }],
  });
  const now = emu.clock.now();
  // The 503 leaves the first request unanswered. The first gate started an hour before it
  // (so that request was refused) and opens in 3 s; after the wait, a new gate whose start
  // (now) is within seconds of that first request: another pipeline's sync.
  emu.injectFaults('keys.sync', [{ status: 503 }, { status: 409, body: gateBody(now + 3_000) }, { status: 409, body: gateBody(now + 3_600_000) }]);
  // The CLI's scaled waits move its clock on: move the service's clock (its Date header) with it.
  let moved = false;
  const r = await cli([...SYNC, '--json', '--max-wait', '60'], {}, {
    onStderr: (all) => {
      const waiting = /waiting (\d+) s within --max-wait/.exec(all);
      if (!moved && waiting !== null) {
        moved = true;
        emu.clock.advance(Number(waiting[1]) * 1000);
      }
    },
  });
  expect(moved).toBe(true);
  expect(r.stdout).not.toContain("clock, which is");
  expect(r.code).toBe(75);
  expect(json(r)).toMatchObject({ outcome: 'gated', code: 'KS_GATED', attempts: 3 });
  expect(json(r)).not.toHaveProperty('confirmedBy');
});

test('503, 503, 204: retried with backoff under one correlation id, exit 0', async () => {
  emu.injectFaults('keys.sync', [{ status: 503, times: 2 }]);
  const r = await cli([...SYNC, '--json']);
  expect(r.code).toBe(0);
  const syncs = requests(emu, 'keys.sync');
  expect(syncs.map((s) => s.status)).toEqual([503, 503, 204]);
  expect(new Set(syncs.map((s) => s.correlationId)).size).toBe(1);
  const j = json(r);
  expect(j).toMatchObject({ outcome: 'synced', attempts: 3 });
  // Equal jitter: [0.5,1) s then [1,2) s of (scaled) backoff.
  expect(j['waitedMs'] as number).toBeGreaterThanOrEqual(1500);
  expect(j['waitedMs'] as number).toBeLessThan(3000);
  // One vocabulary: attempts in all, and the endpoint named (was "retry 1 of 4").
  expect(r.stderr).toMatch(/sync request to http:\/\/127\.0\.0\.1:\d+: HTTP 503 \(attempt 1 of 5\); trying again in 1 s/);
  expect(r.stderr).toMatch(/HTTP 503 \(attempt 2 of 5\)/);
});

test('429 with Retry-After: 1 is honoured, then 204', async () => {
  emu.injectFaults('keys.sync', [{ status: 429, headers: { 'Retry-After': '1' } }]);
  const r = await cli([...SYNC, '--json']);
  expect(r.code).toBe(0);
  expect(requests(emu, 'keys.sync').map((s) => s.status)).toEqual([429, 204]);
  // The planned wait is the Retry-After (the progress line); waitedMs is the time actually
  // slept: the 1 s hold-off less whatever passed between reading the 429 and starting the
  // wait (on a loaded machine, at this time scale, that can be a visible part of it).
  expect(r.stderr).toContain('HTTP 429 with Retry-After (attempt 1 of 5); trying again in 1 s');
  const waited = json(r)['waitedMs'] as number;
  expect(waited).toBeGreaterThan(0);
  expect(waited).toBeLessThanOrEqual(1000);
});

test('429 with Retry-After as an HTTP-date is honoured, then 204', async () => {
  const at = new Date(Date.now() + 3000).toUTCString();
  emu.injectFaults('keys.sync', [{ status: 429, headers: { 'Retry-After': at } }]);
  const r = await cli([...SYNC, '--json']);
  expect(r.code).toBe(0);
  expect(requests(emu, 'keys.sync').map((s) => s.status)).toEqual([429, 204]);
  const waited = json(r)['waitedMs'] as number;
  expect(waited).toBeGreaterThan(1000);
  expect(waited).toBeLessThanOrEqual(3000);
});

test('401, then a refreshed token, then 204', async () => {
  emu.injectFaults('keys.sync', [{ status: 401 }]);
  const r = await cli([...SYNC, '--json']);
  expect(r.code).toBe(0);
  expect(requests(emu, 'keys.sync').map((s) => s.status)).toEqual([401, 204]);
  expect(requests(emu, 'iam.token').map((s) => s.status)).toEqual([200, 200]);
  expect(json(r)).toMatchObject({ outcome: 'synced', attempts: 2 });
});

test('401 twice: exit 1 after one refresh, message names the role', async () => {
  emu.injectFaults('keys.sync', [{ status: 401, times: 2 }]);
  const r = await cli(SYNC);
  expect(r.code).toBe(1);
  expect(requests(emu, 'keys.sync').map((s) => s.status)).toEqual([401, 401]);
  expect(requests(emu, 'iam.token')).toHaveLength(2);
  expect(r.stderr).toMatch(/sync failed, key .*refused the token .*even after a token refresh; the credentials need the Writer or Manager role/);
  expect(r.stderr).toContain('KS_AUTH');
});

test('404 (unknown key): exit 1, exactly one request', async () => {
  const r = await cli(['sync', '--instance-id', KP_INSTANCE, '--key-id', '00000000-0000-4000-8000-000000000000']);
  expect(r.code).toBe(1);
  expect(requests(emu, 'keys.sync').map((s) => s.status)).toEqual([404]);
  expect(r.stderr).toMatch(/was not found in instance .*\(404 .*\); check --key-id/);
  expect(r.stderr).toContain('KS_NOT_FOUND');
});

test.each([
  [400, 'KS_HTTP_4XX'],
  [403, 'KS_FORBIDDEN'],
  [410, 'KS_HTTP_4XX'],
  [422, 'KS_HTTP_4XX'],
  [501, 'KS_NOT_IMPLEMENTED'],
])('%d: exit 1, exactly one request (%s)', async (status, code) => {
  emu.injectFaults('keys.sync', [{ status, times: 5 }]);
  const r = await cli([...SYNC, '--json']);
  expect(r.code).toBe(1);
  expect(requests(emu, 'keys.sync').map((s) => s.status)).toEqual([status]);
  expect(json(r)).toMatchObject({ outcome: 'failed', status, code, attempts: 1, retryLater: false, exitCode: 1 });
});

test('409 other than the gate (key in the wrong state): exit 1', async () => {
  emu.injectFaults('keys.sync', [{ status: 409, body: { metadata: { collectionType: 'application/vnd.ibm.kms.error+json', collectionTotal: 1 }, resources: [{ errorMsg: 'Conflict', reasons: [{ code: 'KEY_ACTION_INVALID_STATE_ERR', message: 'Key is not in a valid state', status: 409 }] }] } }]);
  const r = await cli([...SYNC, '--json']);
  expect(r.code).toBe(1);
  expect(json(r)).toMatchObject({ code: 'KS_CONFLICT', reasonCode: 'KEY_ACTION_INVALID_STATE_ERR' });
  expect(requests(emu, 'keys.sync')).toHaveLength(1);
});

test('IAM refuses the API key: exit 1, zero key API requests, the key is not echoed', async () => {
  const r = await cli([...SYNC], { IBMCLOUD_API_KEY: 'CANARY-apikey-unknown-0000000000000000' });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('IAM refused the API key from IBMCLOUD_API_KEY (400 BXNIM0415E: Provided API key could not be found.');
  expect(requests(emu, 'iam.token')).toHaveLength(1);
  expect(apiRequests(emu).filter((e) => e.route !== 'iam.token')).toHaveLength(0);
  expect(r.stderr).not.toContain('CANARY-apikey-unknown');
});

test('IAM 503 then 200: the exchange is retried', async () => {
  emu.injectFaults('iam.token', [{ status: 503 }]);
  const r = await cli(SYNC);
  expect(r.code).toBe(0);
  expect(requests(emu, 'iam.token').map((s) => s.status)).toEqual([503, 200]);
  expect(r.stderr).toContain(`IAM token request to ${emu.url}: HTTP 503 (attempt 1 of 5)`);
});

test.each<[string, string[], Record<string, string>, RegExp]>([
  ['unknown flag', [...SYNC, '--force'], {}, /unknown flag --force/],
  ['missing key id', ['sync', '--instance-id', KP_INSTANCE], {}, /--key-id is required/],
  ['not a UUID or alias', ['sync', '--instance-id', KP_INSTANCE, '--key-id', 'bad key'], {}, /--key-id "bad key" is neither a key UUID nor a valid alias/],
  ['bad region', [...SYNC, '--region', 'xx-yy'], { IBMCLOUD_KP_API_ENDPOINT: '' }, /--region "xx-yy" is not a Key Protect region/],
  ['bad port', [...SYNC, '--region', 'us-south', '--service', 'hpcs', '--port', '1'], {}, /--port "1"/],
  ['missing credentials', SYNC, { IBMCLOUD_API_KEY: '' }, /no IBM Cloud credentials/],
  ['http to a non-loopback host', [...SYNC, '--endpoint', 'http://kms.example.com'], { IBMCLOUD_KP_API_ENDPOINT: '' }, /plain http to the non-loopback host/],
  ['bad max-wait', [...SYNC, '--max-wait', 'soon'], {}, /--max-wait "soon"/],
])('usage error (%s): exit 2, zero requests', async (_n, args, env, re) => {
  const r = await cli(args, env);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(re);
  expect(r.stderr).toContain('--help');
  expect(r.stdout).toBe('');
  expect(apiRequests(emu)).toHaveLength(0);
});

test('connection refused until the retry budget is spent: exit 75', async () => {
  const port = await closedPort();
  const r = await cli([...SYNC, '--json'], { IBMCLOUD_KP_API_ENDPOINT: `http://127.0.0.1:${port}` });
  expect(r.code).toBe(75);
  const j = json(r);
  expect(j).toMatchObject({ outcome: 'failed', code: 'KS_NETWORK', attempts: 5, retryLater: true, exitCode: 75, status: null });
  // The refused endpoint is named in the message (it was not, for the key service).
  expect(j['message']).toMatch(/^the key service at http:\/\/127\.0\.0\.1:\d+: gave up after 5 attempts; last: connection refused \(ECONNREFUSED\); not synced, retry later/);
  expect(r.ms).toBeLessThan(5000);
});

test('connection refused with a short budget: stops at the deadline', async () => {
  const port = await closedPort();
  // Retry-After 100 s > 2 min budget left after the first wait? Use a 429 chain instead:
  // the budget check refuses a retry that would start past 2 minutes.
  emu.injectFaults('keys.sync', [{ status: 503, headers: { 'Retry-After': '100' } }, { status: 503, headers: { 'Retry-After': '100' } }]);
  const r = await cli([...SYNC, '--json']);
  expect(r.code).toBe(75);
  expect(json(r)).toMatchObject({ code: 'KS_HTTP_5XX', attempts: 2 });
  expect(json(r)['message']).toMatch(/the next retry would start past the 120 s retry budget/);
  expect(port).toBeGreaterThan(0);
});

test('502 with an HTML body: retried; the page title, not the HTML, is reported', async () => {
  emu.injectFaults('keys.sync', [{ status: 502, htmlBody: true, times: 5 }]);
  const r = await cli(SYNC);
  expect(r.code).toBe(75);
  expect(requests(emu, 'keys.sync')).toHaveLength(5);
  expect(r.stderr).toMatch(/gave up after 5 attempts; last: HTTP 502/);
  expect(r.stderr).not.toMatch(/<html|<body|<title/i);
  expect(r.stderr).toContain('KS_HTTP_5XX');
});

test('502 with an HTML body once, then 204', async () => {
  emu.injectFaults('keys.sync', [{ status: 502, htmlBody: true }]);
  const r = await cli(SYNC);
  expect(r.code).toBe(0);
  expect(requests(emu, 'keys.sync').map((s) => s.status)).toEqual([502, 204]);
});

test('--verify-registrations lists the key first and reports the count', async () => {
  const r = await cli([...SYNC, '--verify-registrations', '--json']);
  expect(r.code).toBe(0);
  expect(json(r)).toMatchObject({ outcome: 'synced', registrations: 2 });
  expect(r.stderr).toContain('has 2 registrations');
  expect(apiRequests(emu).map((e) => e.route)).toEqual(['iam.token', 'registrations.key', 'keys.sync']);
});

test('--verify-registrations whose listing keeps failing: a warning about the listing, then the sync', async () => {
  emu.injectFaults('registrations.key', [{ status: 503, times: 5 }]);
  const r = await cli([...SYNC, '--verify-registrations', '--json']);
  expect(r.code).toBe(0);
  expect(json(r)).toMatchObject({ outcome: 'synced' });
  const warning = r.stderr.split('\n').find((l) => l.includes('could not list the registrations')) ?? '';
  expect(warning).toMatch(/gave up after 5 attempts; last: HTTP 503.*the listing did not complete, retry later\); syncing anyway/);
  // The listing's failure says nothing about the sync that follows.
  expect(warning).not.toMatch(/not synced/);
  expect(requests(emu, 'registrations.key')).toHaveLength(5);
});

test('SIGTERM while waiting for the gate: exits 75 within a second and says where it was', async () => {
  startGate();
  let sent = 0;
  const r = await cli([...SYNC, '--max-wait', '3700'], { KEY_SYNC_TIME_SCALE: '1' }, {
    onStderr: (all, child) => {
      if (sent === 0 && all.includes('sync time gate closed until')) {
        sent = Date.now();
        child.kill('SIGTERM');
      }
    },
  });
  expect(sent).toBeGreaterThan(0);
  expect(r.code).toBe(75);
  expect(Date.now() - sent).toBeLessThan(1000);
  expect(r.stderr).toMatch(/interrupted, key .*: interrupted while waiting for the sync time gate \(opens .* UTC\); not synced/);
});
