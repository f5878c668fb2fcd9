import { request } from 'undici';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import { call, DEMO_KEY, kms, KP_INSTANCE, PAYMENTS_KEY, token } from './emulator-helpers';

const T0 = Date.parse('2026-11-28T20:00:00Z');
const SYNC = `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`;
const GET = `/api/v2/keys/${PAYMENTS_KEY}`;
let emu: RunningEmulator;
let tok: string;

beforeEach(async () => {
  emu = await startEmulator({ now: T0 });
  tok = await token(emu.url);
});
afterEach(async () => {
  await emu.close();
});

test('status + Retry-After: realistic KMS error body; the real handler does not run; then normal service', async () => {
  emu.injectFaults('keys.sync', [{ status: 503, headers: { 'Retry-After': '2' } }]);
  const faulted = await kms(emu.url, tok, 'POST', SYNC);
  expect(faulted.status).toBe(503);
  expect(faulted.headers['retry-after']).toBe('2');
  expect(faulted.headers['correlation-id']).toBeDefined();
  expect(faulted.json.metadata.collectionType).toBe('application/vnd.ibm.kms.error+json');
  expect(faulted.json.resources[0].reasons[0].status).toBe(503);
  // the faulted sync did not close the gate
  expect((await kms(emu.url, tok, 'POST', SYNC)).status).toBe(204);
  expect(emu.log().map((e) => e.fault)).toEqual([undefined, 'status=503,headers=Retry-After', undefined]);
});

test('429 with an HTTP-date Retry-After, times: 2, then normal', async () => {
  emu.injectFaults('keys.sync', [{ status: 429, headers: { 'Retry-After': 'Sat, 28 Nov 2026 20:00:05 GMT' }, times: 2 }]);
  expect((await kms(emu.url, tok, 'POST', SYNC)).status).toBe(429);
  const second = await kms(emu.url, tok, 'POST', SYNC);
  expect(second.status).toBe(429);
  expect(second.headers['retry-after']).toBe('Sat, 28 Nov 2026 20:00:05 GMT');
  expect((await kms(emu.url, tok, 'POST', SYNC)).status).toBe(204);
});

test('faults run in order and only on their route; "*" applies to every route', async () => {
  emu.injectFaults('keys.sync', [{ status: 500 }, { status: 502 }]);
  expect((await kms(emu.url, tok, 'GET', GET)).status).toBe(200);
  expect((await kms(emu.url, tok, 'POST', SYNC)).status).toBe(500);
  expect((await kms(emu.url, tok, 'POST', SYNC)).status).toBe(502);
  emu.injectFaults('*', [{ status: 504 }]);
  expect((await kms(emu.url, tok, 'GET', GET)).status).toBe(504);
  expect((await kms(emu.url, tok, 'GET', GET)).status).toBe(200);
  emu.injectFaults('*', [{ status: 500, times: 5 }]);
  emu.clearFaults();
  expect((await kms(emu.url, tok, 'POST', SYNC)).status).toBe(204);
});

test('HTML gateway page', async () => {
  emu.injectFaults('keys.sync', [{ status: 502, htmlBody: true }]);
  const r = await kms(emu.url, tok, 'POST', SYNC);
  expect(r.status).toBe(502);
  expect(r.headers['content-type']).toMatch(/^text\/html/);
  expect(r.text).toMatch(/<html>.*502 Bad Gateway/s);
});

test('custom body (string and object)', async () => {
  emu.injectFaults('keys.sync', [{ status: 409, body: { hello: 'world' } }, { status: 500, body: '' }]);
  const obj = await kms(emu.url, tok, 'POST', SYNC);
  expect(obj.json).toEqual({ hello: 'world' });
  const empty = await kms(emu.url, tok, 'POST', SYNC);
  expect(empty.status).toBe(500);
  expect(empty.text).toBe('');
});

test('IAM faults get IAM-shaped bodies', async () => {
  emu.injectFaults('iam.token', [{ status: 400 }, { status: 503 }]);
  const a = await call(emu.url, 'POST', '/identity/token', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=x' });
  expect(a.status).toBe(400);
  expect(a.json).toMatchObject({ errorCode: 'BXNIM0415E', context: { requestId: expect.any(String) } });
  const b = await call(emu.url, 'POST', '/identity/token', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=x' });
  expect(b.status).toBe(503);
  expect(b.json.errorCode).toMatch(/^BXNIM/);
  await expect(token(emu.url)).resolves.toMatch(/^eyJ/);
});

test('reset before headers drops the connection; service resumes', async () => {
  emu.injectFaults('keys.sync', [{ reset: 'before-headers' }]);
  await expect(kms(emu.url, tok, 'POST', SYNC)).rejects.toThrow();
  expect((await kms(emu.url, tok, 'POST', SYNC)).status).toBe(204);
  expect(emu.log().find((e) => e.fault === 'reset=before-headers')?.status).toBe(0);
});

test('reset mid-body: headers arrive, the body is cut', async () => {
  emu.injectFaults('keys.get', [{ reset: 'mid-body' }]);
  const res = await request(emu.url + GET, { headers: { authorization: `Bearer ${tok}`, 'bluemix-instance': KP_INSTANCE } });
  expect(res.statusCode).toBe(200);
  await expect(res.body.text()).rejects.toThrow();
  expect((await kms(emu.url, tok, 'GET', GET)).status).toBe(200);
});

test('hang: the client aborts; close() does not wait for the hung socket', async () => {
  emu.injectFaults('keys.sync', [{ hang: true }]);
  const started = Date.now();
  await expect(
    call(emu.url, 'POST', SYNC, { headers: { authorization: `Bearer ${tok}`, 'bluemix-instance': KP_INSTANCE }, signal: AbortSignal.timeout(100) }),
  ).rejects.toThrow();
  expect(Date.now() - started).toBeLessThan(1000);
  expect((await kms(emu.url, tok, 'POST', SYNC)).status).toBe(204);

  // a hang still open at close time
  emu.injectFaults('keys.get', [{ hang: true }]);
  const pending = call(emu.url, 'GET', GET, { headers: { authorization: `Bearer ${tok}`, 'bluemix-instance': KP_INSTANCE } }).catch((e: Error) => e);
  await new Promise((r) => setTimeout(r, 50));
  const closing = Date.now();
  await emu.close();
  expect(Date.now() - closing).toBeLessThan(500);
  expect(await pending).toBeInstanceOf(Error);
});

test('delayMs waits on the real timer, then answers normally', async () => {
  emu.injectFaults('keys.sync', [{ delayMs: 150 }]);
  const started = Date.now();
  const r = await kms(emu.url, tok, 'POST', SYNC);
  expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  expect(r.status).toBe(204);
  expect(emu.log().at(-1)?.fault).toBe('delayMs=150');
});

test('trickle sends the body slowly but completely', async () => {
  emu.injectFaults('keys.get', [{ status: 200, body: { padding: 'x'.repeat(60) }, trickleMs: 10 }]);
  const started = Date.now();
  const r = await kms(emu.url, tok, 'GET', GET);
  expect(Date.now() - started).toBeGreaterThanOrEqual(80);
  expect(r.json).toEqual({ padding: 'x'.repeat(60) });
  // the real body can be trickled too
  emu.injectFaults('keys.get', [{ trickleMs: 1 }]);
  expect((await kms(emu.url, tok, 'GET', GET)).json.resources[0].id).toBe(PAYMENTS_KEY);
});

test('oversize answers exactly that many bytes', async () => {
  emu.injectFaults('keys.get', [{ oversizeBytes: 5_000_000 }]);
  const r = await kms(emu.url, tok, 'GET', GET);
  expect(r.status).toBe(200);
  expect(Buffer.byteLength(r.text)).toBe(5_000_000);
  expect(r.headers['content-length']).toBe('5000000');
});

test('truncated JSON: real answer cut in half, clean framing', async () => {
  emu.injectFaults('keys.get', [{ truncateJson: true }]);
  const r = await kms(emu.url, tok, 'GET', GET);
  expect(r.status).toBe(200);
  expect(r.text.startsWith('{"metadata"')).toBe(true);
  expect(() => JSON.parse(r.text)).toThrow();
  emu.injectFaults('keys.sync', [{ status: 409, truncateJson: true }]);
  const gate = await kms(emu.url, tok, 'POST', SYNC);
  expect(gate.status).toBe(409);
  expect(() => JSON.parse(gate.text)).toThrow();
});

test('invalid faults are rejected with the field named', () => {
  expect(() => emu.injectFaults('keys.sync', [{ status: 99 }])).toThrow(/faults\[0\]\.status/);
  expect(() => emu.injectFaults('keys.nope' as never, [{ status: 500 }])).toThrow(/route/);
  expect(() => emu.injectFaults('keys.sync', [{ reset: 'later' as never }])).toThrow(/faults\[0\]\.reset.*before-headers/);
  expect(() => emu.injectFaults('keys.sync', [{ statuss: 500 } as never])).toThrow(/faults\[0\]\.statuss.*unknown fault field/);
});

test('faults from the seed are queued at start', async () => {
  const seeded = await startEmulator({
    now: T0,
    seed: {
      instances: [{ id: KP_INSTANCE, kind: 'key-protect', region: 'us-south' }],
      keys: [{ id: PAYMENTS_KEY, instanceId: KP_INSTANCE, name: 'payments-root' }],
      apiKeys: [DEMO_KEY],
      faults: { 'keys.sync': [{ status: 503, headers: { 'Retry-After': '1' } }] },
    },
  });
  try {
    const t = await token(seeded.url);
    expect((await kms(seeded.url, t, 'POST', SYNC)).status).toBe(503);
    expect((await kms(seeded.url, t, 'POST', SYNC)).status).toBe(204);
  } finally {
    await seeded.close();
  }
});

describe('reset after the handler: the service acted, the client saw only a reset', () => {
  const ROTATE = `/api/v2/keys/${PAYMENTS_KEY}/actions/rotate`;

  test('a rotation is applied exactly once; the retry meets the rotation gate', async () => {
    emu.injectFaults('keys.action', [{ reset: 'after-handler' }]);
    const before = emu.state.keys.get(PAYMENTS_KEY)?.keyVersion.id;
    await expect(kms(emu.url, tok, 'POST', ROTATE)).rejects.toThrow();
    const entry = emu.log().at(-1);
    expect(entry).toMatchObject({ route: 'keys.action', status: 0, handledStatus: 204, fault: 'reset=after-handler' });
    const retry = await kms(emu.url, tok, 'POST', ROTATE);
    expect(retry.status).toBe(409);
    expect(retry.json.resources[0].reasons[0].code).toBe('KEY_ROTATION_NOT_PERMITTED');
    const versions = await kms(emu.url, tok, 'GET', `/api/v2/keys/${PAYMENTS_KEY}/versions?totalCount=true`);
    expect(versions.json.metadata.totalCount).toBe(2);
    const key = (await kms(emu.url, tok, 'GET', GET)).json.resources[0];
    expect(key.keyVersion.id).not.toBe(before);
    expect(key.lastRotateDate).toBe('2026-11-28T20:00:00Z');
    expect(versions.json.resources[0].id).toBe(key.keyVersion.id);
  });

  test('a refused action is reset too (the handler answered 409, nothing changed)', async () => {
    expect((await kms(emu.url, tok, 'POST', ROTATE)).status).toBe(204);
    emu.injectFaults('keys.action', [{ reset: 'after-handler' }]);
    await expect(kms(emu.url, tok, 'POST', ROTATE)).rejects.toThrow();
    expect(emu.log().at(-1)).toMatchObject({ status: 0, handledStatus: 409 });
    expect(emu.state.keys.get(PAYMENTS_KEY)?.versions).toHaveLength(2);
  });

  test('a sync after a delay: recorded (the gate closes) though the client saw a reset', async () => {
    emu.injectFaults('keys.sync', [{ reset: 'after-handler', delayMs: 30 }]);
    await expect(kms(emu.url, tok, 'POST', SYNC)).rejects.toThrow();
    expect(emu.state.keys.get(PAYMENTS_KEY)?.lastSync).toBe(T0);
    const retry = await kms(emu.url, tok, 'POST', SYNC);
    expect(retry.status).toBe(409);
    expect(retry.json.resources[0].reasons[0].code).toBe('REQ_TOO_EARLY_ERR');
    expect(emu.log().map((e) => e.fault ?? null)).toEqual([null, 'reset=after-handler,delayMs=30', null]);
  });

  test('over the admin API; combining it with a synthetic answer is refused naming the field', async () => {
    const bad = await call(emu.url, 'POST', '/__emulator/faults', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ route: 'keys.action', faults: [{ reset: 'after-handler', status: 503 }] }),
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/^faults\[0\]\.status: invalid value 503: "reset": "after-handler" runs the real handler and sends nothing; drop "status"/);
    const ok = await call(emu.url, 'POST', '/__emulator/faults', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ route: 'keys.action', faults: [{ reset: 'after-handler', times: 2 }] }),
    });
    expect(ok.json.faults['keys.action'][0]).toEqual({ fault: { reset: 'after-handler', times: 2 }, remaining: 2 });
  });
});
