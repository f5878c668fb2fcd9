import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import { call, kms, PAYMENTS_KEY, token } from './emulator-helpers';

const T0 = Date.parse('2026-11-28T20:00:00Z');
const SYNC = `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`;
let emu: RunningEmulator;

beforeEach(async () => {
  emu = await startEmulator({ now: T0 });
});
afterEach(async () => {
  await emu.close();
});

const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function clockNow(): Promise<string> {
  return (await call(emu.url, 'GET', '/__emulator/clock')).json.now as string;
}

describe('admin clock input is checked against the range Date can print', () => {
  test.each<[string, unknown, RegExp]>([
    ['set far past the year 9999', { set: 1e300 }, /^"set": invalid value 1e\+300 \(outside 1970-01-01T00:00:00Z \.\. 9999-12-31T23:59:59Z\): use a time from 1970/],
    ['set at the very end of Date', { set: 8.64e15 }, /^"set": invalid value 8640000000000000 .*use a time from 1970.*the clock is unchanged$/],
    ['set before 1970', { set: -1 }, /^"set": invalid value -1 /],
    ['set to a non-time string', { set: 'soon' }, /^"set": invalid value "soon" \(not a time\)/],
    ['set to an object', { set: { ms: 1 } }, /^"set": invalid value \{"ms":1\}: use an ISO 8601 time/],
    ['advance past the year 9999', { advanceSeconds: 1e300 }, /^"advanceSeconds": invalid value 1e\+300: from 2026-11-28T20:00:00\.000Z it moves the clock outside .*keep the result from 1970/],
    ['advance before 1970', { advanceSeconds: -1e10 }, /^"advanceSeconds": invalid value -10000000000: /],
    ['advance by a string', { advanceSeconds: '5' }, /^"advanceSeconds": invalid value "5": use a finite number of seconds/],
  ])('%s -> 400 naming the field, the value and the fix; the clock is unchanged; the server keeps serving', async (_name, body, message) => {
    const r = await call(emu.url, 'POST', '/__emulator/clock', json(body));
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(message);
    expect(await clockNow()).toBe('2026-11-28T20:00:00.000Z');
    // a normal key API request right after is answered (the probe found this one killed the process)
    const tok = await token(emu.url);
    expect((await kms(emu.url, tok, 'POST', SYNC)).status).toBe(204);
    expect(emu.log().at(-1)).toMatchObject({ route: 'keys.sync', status: 204, time: '2026-11-28T20:00:00.000Z' });
  });

  test('the edges of the range are accepted', async () => {
    expect((await call(emu.url, 'POST', '/__emulator/clock', json({ set: '9999-12-31T23:59:59Z' }))).json.now).toBe('9999-12-31T23:59:59.000Z');
    const tok = await token(emu.url);
    expect((await kms(emu.url, tok, 'POST', SYNC)).status).toBe(204);
    // the gate time lies past the year 9999 but is still printable: a clean 409, not a crash
    const gated = await kms(emu.url, tok, 'POST', SYNC);
    expect(gated.status).toBe(409);
    expect(gated.json.resources[0].reasons[0].code).toBe('REQ_TOO_EARLY_ERR');
    expect((await call(emu.url, 'POST', '/__emulator/clock', json({ set: 0 }))).json.now).toBe('1970-01-01T00:00:00.000Z');
  });

  test('in-process: startEmulator({now}) and the clock refuse out-of-range times', async () => {
    await expect(startEmulator({ now: 1e300 })).rejects.toThrow(/^now: invalid value 1e\+300 .*use a time from 1970/);
    expect(() => emu.clock.set(1e300)).toThrow(RangeError);
    expect(() => emu.clock.advance(1e300)).toThrow(RangeError);
    expect(emu.clock.now()).toBe(T0);
  });
});

describe('an exception in a handler is a 500 and the server keeps serving', () => {
  test('direct handler', async () => {
    const tok = await token(emu.url);
    const real = emu.state.sync.bind(emu.state);
    emu.state.sync = () => {
      throw new Error('boom in sync');
    };
    const r = await kms(emu.url, tok, 'POST', SYNC);
    expect(r.status).toBe(500);
    expect(r.json.resources[0].reasons[0]).toMatchObject({ code: 'INTERNAL_SERVER_ERR', message: expect.stringContaining('boom in sync') });
    expect(r.headers['correlation-id']).toBeDefined();
    emu.state.sync = real;
    expect((await kms(emu.url, tok, 'POST', SYNC)).status).toBe(204);
  });

  test('handler run later by a delayed fault (outside the request callback)', async () => {
    const tok = await token(emu.url);
    const real = emu.state.sync.bind(emu.state);
    emu.state.sync = () => {
      throw new Error('boom later');
    };
    emu.injectFaults('keys.sync', [{ delayMs: 20 }]);
    const r = await kms(emu.url, tok, 'POST', SYNC);
    expect(r.status).toBe(500);
    expect(r.json.resources[0].reasons[0].message).toContain('boom later');
    emu.state.sync = real;
    expect((await kms(emu.url, tok, 'POST', SYNC)).status).toBe(204);
  });

  test('admin handler', async () => {
    const real = emu.state.snapshot.bind(emu.state);
    emu.state.snapshot = () => {
      throw new RangeError('Invalid time value');
    };
    expect((await call(emu.url, 'GET', '/__emulator/state')).status).toBe(500);
    emu.state.snapshot = real;
    expect((await call(emu.url, 'GET', '/__emulator/state')).status).toBe(200);
  });
});
