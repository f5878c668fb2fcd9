/**
 * Clock skew between the runner and the key service. The gate time in a 409 is on the
 * service's clock; the CLI measures how far away it is, and how long to wait, on the
 * service's clock too (its `Date` header), falling back to its own clock when the header
 * is absent, unparseable or within the header's one-second resolution.
 */
import { classify, parseHttpDate, referenceTime, SERVER_CLOCK_MIN_SKEW_MS, type AttemptOutcome } from '../../src/client/retry-policy';
import type { RunningEmulator } from '../../src/emulator/server';
import { KP_INSTANCE, KP_KEY, env, jsonOf, runCli, runLeaks, startCanary } from './harness';

const LOCAL = Date.parse('2026-11-28T20:00:00Z');
const HOUR = 3_600_000;

describe('referenceTime (pure)', () => {
  test.each<[string, string | string[] | undefined, { now: number; source: 'server' | 'local'; skewMs: number }]>([
    ['no header: local', undefined, { now: LOCAL, source: 'local', skewMs: 0 }],
    ['empty: local', '', { now: LOCAL, source: 'local', skewMs: 0 }],
    ['garbage: local', 'yesterday', { now: LOCAL, source: 'local', skewMs: 0 }],
    ['ISO 8601 is not an HTTP-date: local', '2026-11-28T22:00:00Z', { now: LOCAL, source: 'local', skewMs: 0 }],
    ['same second: local (resolution)', 'Sat, 28 Nov 2026 20:00:00 GMT', { now: LOCAL, source: 'local', skewMs: 0 }],
    ['1 s behind: local (resolution)', 'Sat, 28 Nov 2026 19:59:59 GMT', { now: LOCAL, source: 'local', skewMs: 0 }],
    ['2 s ahead: server', 'Sat, 28 Nov 2026 20:00:02 GMT', { now: LOCAL + 2000, source: 'server', skewMs: 2000 }],
    ['2 h ahead: server', 'Sat, 28 Nov 2026 22:00:00 GMT', { now: LOCAL + 2 * HOUR, source: 'server', skewMs: 2 * HOUR }],
    ['2 h behind: server', 'Sat, 28 Nov 2026 18:00:00 GMT', { now: LOCAL - 2 * HOUR, source: 'server', skewMs: -2 * HOUR }],
    ['RFC 850 form', 'Saturday, 28-Nov-26 22:00:00 GMT', { now: LOCAL + 2 * HOUR, source: 'server', skewMs: 2 * HOUR }],
    ['asctime form', 'Sat Nov 28 22:00:00 2026', { now: LOCAL + 2 * HOUR, source: 'server', skewMs: 2 * HOUR }],
    ['first of repeated headers', ['Sat, 28 Nov 2026 22:00:00 GMT', 'garbage'], { now: LOCAL + 2 * HOUR, source: 'server', skewMs: 2 * HOUR }],
  ])('%s', (_n, header, want) => {
    expect(referenceTime(header, LOCAL)).toEqual(want);
  });

  test('the threshold is two seconds', () => {
    expect(SERVER_CLOCK_MIN_SKEW_MS).toBe(2000);
    expect(parseHttpDate('Sat, 28 Nov 2026 20:00:00 GMT')).toBe(LOCAL);
    expect(parseHttpDate(`Sat, 28 Nov 2026 20:00:00 GMT${' '.repeat(100)}x`)).toBeUndefined();
  });

  test('classify measures the gate time and an HTTP-date Retry-After on the server clock', () => {
    const gate: AttemptOutcome = { kind: 'response', status: 409, reasonCode: 'REQ_TOO_EARLY_ERR', message: 'Sync cannot be performed until at least 2026-11-28T23:00:00Z' };
    const ctx = { now: LOCAL, budgetStart: LOCAL, retriesUsed: 0, canRefreshToken: false, gateApplies: true, random: () => 0.5 };
    // Local clock: 3 h away, a plain gate. Server clock 2 h ahead: the same instant, 1 h away.
    expect(classify(gate, ctx)).toEqual({ kind: 'gated', notBefore: new Date(LOCAL + 3 * HOUR) });
    expect(classify(gate, { ...ctx, serverNow: LOCAL + 2 * HOUR })).toEqual({ kind: 'gated', notBefore: new Date(LOCAL + 3 * HOUR) });
    // Server 4 h ahead: the named time has passed there (not here).
    expect(classify(gate, { ...ctx, serverNow: LOCAL + 4 * HOUR })).toMatchObject({ kind: 'gated', note: 'time-in-the-past' });
    const throttled: AttemptOutcome = { kind: 'response', status: 429, retryAfter: 'Sat, 28 Nov 2026 22:00:10 GMT' };
    expect(classify(throttled, { ...ctx, serverNow: LOCAL + 2 * HOUR })).toEqual({ kind: 'retry', delayMs: 10_000, refreshToken: false, source: 'retry-after' });
    // Retry-After: 0 never beats our own backoff (no back-to-back retries).
    expect(classify({ kind: 'response', status: 429, retryAfter: '0' }, ctx)).toEqual({ kind: 'retry', delayMs: 750, refreshToken: false, source: 'backoff' });
  });
});

describe('the CLI against an emulator whose clock is off', () => {
  let emu: RunningEmulator;
  afterEach(async () => {
    await emu.close();
  });

  /** Emulator following real time, shifted by `skewMs`, with the demo key's gate closed. */
  async function skewed(skewMs: number): Promise<number> {
    emu = await startCanary();
    emu.clock.advance(skewMs);
    const key = emu.state.findKey(KP_INSTANCE, KP_KEY);
    if (key === undefined) throw new Error('seed key missing');
    expect(emu.state.sync(key, emu.clock.now()).ok).toBe(true);
    return emu.state.gateOpensAt(key) ?? 0;
  }
  const SYNC = ['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY, '--json'];

  test.each([
    ['2 h ahead', 2 * HOUR, 'ahead of'],
    ['2 h behind', -2 * HOUR, 'behind'],
  ])('service clock %s: the gate is reported 1 h away, not %s', async (_n, skew, word) => {
    const opens = await skewed(skew);
    const r = await runCli(SYNC, env('apikey', { kms: emu.url, iam: emu.url }, { KEY_SYNC_TIME_SCALE: '1' }));
    expect(r.code).toBe(75);
    const j = jsonOf(r);
    expect(j).toMatchObject({ outcome: 'gated', code: 'KS_GATED', notBefore: new Date(Math.ceil(opens / 1000) * 1000).toISOString() });
    expect(j?.['gateNote']).toBeUndefined();
    expect(String(j?.['message'])).toMatch(new RegExp(`, in 1 h \\(by the key service's clock, which is 2 h ${word} this machine's\\); beyond --max-wait 900 s`));
    expect(runLeaks(r, emu)).toEqual([]);
  });

  test('service clock 2 h ahead: a gate 1 h away is waited out within --max-wait 3700, then 204', async () => {
    await skewed(2 * HOUR);
    let line = '';
    const r = await runCli([...SYNC, '--max-wait', '3700'], env('apikey', { kms: emu.url, iam: emu.url }), {
      onStderr: (all) => {
        if (line === '' && all.includes('sync time gate closed until')) {
          line = all;
          emu.clock.advance(HOUR + 1000);
        }
      },
    });
    expect(r.code).toBe(0);
    expect(line).toMatch(/\(in 1 h, by the key service's clock, 2 h ahead of this machine's\); waiting 1 h( \d+ s| 1 min)? within --max-wait/);
    expect(jsonOf(r)).toMatchObject({ outcome: 'synced', status: 204 });
    expect(emu.log().filter((e) => e.route === 'keys.sync').map((e) => e.status)).toEqual([409, 204]);
  });

  test('an unparseable Date header: the local clock is used (gate 3 h away with a 2 h skew)', async () => {
    await skewed(2 * HOUR);
    emu.injectFaults('keys.sync', [{ headers: { Date: 'not a date' } }]);
    const r = await runCli(SYNC, env('apikey', { kms: emu.url, iam: emu.url }, { KEY_SYNC_TIME_SCALE: '1' }));
    expect(r.code).toBe(75);
    expect(String(jsonOf(r)?.['message'])).toMatch(/, in 3 h; beyond --max-wait/);
  });

  test('the emulator sends Date from its own clock', async () => {
    await skewed(-5 * HOUR);
    const res = await fetch(`${emu.url}/api/v2/keys/${KP_KEY}`);
    const date = Date.parse(res.headers.get('date') ?? '');
    expect(Math.abs(date - (Date.now() - 5 * HOUR))).toBeLessThan(5000);
  });
});
