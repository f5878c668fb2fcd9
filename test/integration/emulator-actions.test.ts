import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import { kms, PAYMENTS_KEY, token } from './emulator-helpers';

const T0 = Date.parse('2026-11-28T20:00:00Z');
const HOUR = 3600_000;
const SYNC = `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`;
let emu: RunningEmulator;

beforeEach(async () => {
  emu = await startEmulator({ now: T0 });
});
afterEach(async () => {
  await emu.close();
});

async function fresh(): Promise<string> {
  return token(emu.url);
}

function gateTime(message: string): string {
  return /until at least (\S+)$/.exec(message)?.[1] ?? '';
}

test('rotate: new key version, lastRotateDate, 204; and it moves the sync gate', async () => {
  const tok = await fresh();
  const before = (await kms(emu.url, tok, 'GET', `/api/v2/keys/${PAYMENTS_KEY}`)).json.resources[0];
  expect(before).not.toHaveProperty('lastRotateDate');
  emu.clock.advance(5_000);
  const r = await kms(emu.url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/rotate`);
  expect(r.status).toBe(204);
  const after = (await kms(emu.url, tok, 'GET', `/api/v2/keys/${PAYMENTS_KEY}`)).json.resources[0];
  expect(after.keyVersion.id).not.toBe(before.keyVersion.id);
  expect(after.lastRotateDate).toBe('2026-11-28T20:00:05Z');
  expect(after.keyVersion.creationDate).toBe('2026-11-28T20:00:05Z');
  expect(after.lastUpdateDate).toBe('2026-11-28T20:00:05Z');

  const gated = await kms(emu.url, tok, 'POST', SYNC);
  expect(gated.status).toBe(409);
  expect(gateTime(gated.json.resources[0].reasons[0].message)).toBe('2026-11-28T21:00:05Z');
});

test('rotation is gated to once per gate period (KEY_ROTATION_NOT_PERMITTED)', async () => {
  const tok = await fresh();
  expect((await kms(emu.url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/rotate`)).status).toBe(204);
  emu.clock.advance(HOUR - 1000);
  const tok2 = await fresh();
  const again = await kms(emu.url, tok2, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/rotate`);
  expect(again.status).toBe(409);
  expect(again.json.resources[0].reasons[0].code).toBe('KEY_ROTATION_NOT_PERMITTED');
  emu.clock.advance(1000);
  expect((await kms(emu.url, tok2, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/rotate`)).status).toBe(204);
});

test('legacy ?action=rotate and Prefer: return=representation', async () => {
  const tok = await fresh();
  const r = await kms(emu.url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}?action=rotate`, undefined, { prefer: 'return=representation' });
  expect(r.status).toBe(200);
  expect(r.json.resources[0].lastRotateDate).toBe('2026-11-28T20:00:00Z');
});

test('disable -> state 2, enable -> state 1; each moves the gate; invalid transitions are 409', async () => {
  const tok = await fresh();
  const base = `/api/v2/keys/${PAYMENTS_KEY}`;
  expect((await kms(emu.url, tok, 'POST', `${base}/actions/disable`)).status).toBe(204);
  expect((await kms(emu.url, tok, 'GET', base)).json.resources[0].state).toBe(2);
  const twice = await kms(emu.url, tok, 'POST', `${base}/actions/disable`);
  expect(twice.status).toBe(409);
  expect(twice.json.resources[0].reasons[0].code).toBe('KEY_ACTION_INVALID_STATE_ERR');
  const rotateDisabled = await kms(emu.url, tok, 'POST', `${base}/actions/rotate`);
  expect(rotateDisabled.json.resources[0].reasons[0].code).toBe('KEY_ACTION_INVALID_STATE_ERR');

  emu.clock.advance(30 * 60_000);
  expect((await kms(emu.url, tok, 'POST', `${base}/actions/enable`)).status).toBe(204);
  expect((await kms(emu.url, tok, 'GET', base)).json.resources[0].state).toBe(1);
  const gated = await kms(emu.url, tok, 'POST', SYNC);
  expect(gated.status).toBe(409);
  expect(gateTime(gated.json.resources[0].reasons[0].message)).toBe('2026-11-28T21:30:00Z');
  expect((await kms(emu.url, tok, 'POST', `${base}/actions/enable`)).status).toBe(409);

  emu.clock.advance(HOUR);
  expect((await kms(emu.url, await fresh(), 'POST', SYNC)).status).toBe(204);
});

test('state snapshot shows the gates', async () => {
  const tok = await fresh();
  await kms(emu.url, tok, 'POST', SYNC);
  const key = emu.state.keys.get(PAYMENTS_KEY);
  expect(key?.lastSync).toBe(T0);
  expect(emu.state.gateOpensAt(key!)).toBe(T0 + HOUR);
});
