import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import { call, kms, KP_INSTANCE, PAYMENTS_KEY } from './emulator-helpers';

const CANARY = 'CANARY-apikey-9f8e7d6c';
const T0 = Date.parse('2026-11-28T20:00:00Z');
let emu: RunningEmulator;

beforeEach(async () => {
  emu = await startEmulator({
    now: T0,
    seed: {
      instances: [{ id: KP_INSTANCE, kind: 'key-protect', region: 'us-south' }],
      keys: [{ id: PAYMENTS_KEY, instanceId: KP_INSTANCE, name: 'payments-root', aliases: ['payments-root'] }],
      apiKeys: [CANARY],
    },
  });
});
afterEach(async () => {
  await emu.close();
});

test('entries have the documented shape', async () => {
  const t = await call(emu.url, 'POST', '/identity/token', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=${CANARY}`,
  });
  await kms(emu.url, t.json.access_token, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`, KP_INSTANCE, {
    'correlation-id': '0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d',
    'x-kms-key-ring': 'default',
  });
  const [iam, sync] = emu.log();
  expect(iam).toEqual({
    time: '2026-11-28T20:00:00.000Z',
    method: 'POST',
    path: '/identity/token',
    route: 'iam.token',
    status: 200,
    contentType: 'application/x-www-form-urlencoded',
    bodyBytes: expect.any(Number),
    durationMs: expect.any(Number),
  });
  expect(sync).toEqual({
    time: '2026-11-28T20:00:00.000Z',
    method: 'POST',
    path: `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`,
    route: 'keys.sync',
    status: 204,
    correlationId: '0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d',
    instance: KP_INSTANCE,
    keyRing: 'default',
    bodyBytes: 0,
    durationMs: expect.any(Number),
  });
  emu.clearLog();
  expect(emu.log()).toEqual([]);
});

test('never holds the API key, the Authorization value or token text', async () => {
  const form = `grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=${CANARY}`;
  const t = await call(emu.url, 'POST', '/identity/token', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
  const access: string = t.json.access_token;
  const refresh: string = t.json.refresh_token;
  // a careless client puts secrets everywhere
  await call(emu.url, 'POST', `/identity/token?apikey=${CANARY}&grant_type=x`, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
  await call(emu.url, 'POST', `/identity/token?refresh_token=${refresh}`, {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=refresh_token&refresh_token=${refresh}`,
  });
  await kms(emu.url, access, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`);
  await kms(emu.url, access, 'GET', `/api/v2/keys/${access}`);
  await kms(emu.url, access, 'GET', `/api/v2/keys/${CANARY}`, KP_INSTANCE, { 'correlation-id': CANARY, 'x-kms-key-ring': access });
  await kms(emu.url, access, 'GET', `/api/v2/keys/${PAYMENTS_KEY}`, CANARY);
  await call(emu.url, 'GET', `/nowhere?token=${access}`);
  emu.injectFaults('keys.sync', [{ status: 500 }]);
  await kms(emu.url, access, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`, KP_INSTANCE, { 'correlation-id': `x${CANARY}x` });
  const viaAdmin = await call(emu.url, 'GET', '/__emulator/log');

  const dump = JSON.stringify(emu.log()) + viaAdmin.text;
  expect(emu.log().length).toBeGreaterThanOrEqual(9);
  for (const secret of [CANARY, access, refresh, access.split('.')[1] as string, access.split('.')[2] as string, 'Bearer', refresh.slice(0, 12)]) {
    expect(dump).not.toContain(secret);
  }
  expect(dump).not.toContain('9f8e7d6c');
});
