import fc from 'fast-check';
import { clockRangeProblem, EmulatorClock, MAX_CLOCK_MS, rfc3339CeilSeconds } from '../../src/emulator/clock';
import { describeFault, FaultQueues, isSyntheticFault, parseFault } from '../../src/emulator/faults';
import { cutPage, pageSize, parsePageQuery } from '../../src/emulator/paging';
import { applySettings, defaultSettings, parseSettings, settingsJson } from '../../src/emulator/settings';
import { signJwt, verifyJwt } from '../../src/emulator/jwt';
import { applyRegistrationQuery, crnPatternToRegExp, isQueryError, parseRegistrationQuery } from '../../src/emulator/registrations-query';
import { redactPath } from '../../src/emulator/request-log';
import { decodeKeyRef, matchRoute } from '../../src/emulator/routes';

test('clock: frozen, set, advance, real time', () => {
  let real = 1000;
  const c = new EmulatorClock(undefined, () => real);
  expect(c.now()).toBe(1000);
  c.advance(500);
  real = 2000;
  expect(c.now()).toBe(2500);
  c.set(new Date(10_000));
  real = 9999;
  expect(c.now()).toBe(10_000);
  c.advance(1);
  expect(c.now()).toBe(10_001);
  c.useRealTime();
  expect(c.now()).toBe(9999);
  expect(() => c.set(NaN)).toThrow(RangeError);
});

test('rfc3339CeilSeconds rounds up and never earlier than the instant', () => {
  expect(rfc3339CeilSeconds(Date.parse('2026-11-28T21:38:43Z'))).toBe('2026-11-28T21:38:43Z');
  expect(rfc3339CeilSeconds(Date.parse('2026-11-28T21:38:43.001Z'))).toBe('2026-11-28T21:38:44Z');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4_000_000_000_000 }), (ms) => {
      const s = rfc3339CeilSeconds(ms);
      return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(s) && Date.parse(s) >= ms && Date.parse(s) - ms < 1000;
    }),
  );
});

test('jwt: round trip, tamper, expiry', () => {
  const secret = Buffer.from('s'.repeat(32));
  const t = signJwt({ iat: 100, exp: 200, sub: 'x' }, secret);
  expect(verifyJwt(t, secret, 150)).toEqual({ ok: true, claims: { iat: 100, exp: 200, sub: 'x' } });
  expect(verifyJwt(t, secret, 200)).toEqual({ ok: false, reason: 'expired' });
  expect(verifyJwt(t, Buffer.from('o'.repeat(32)), 150)).toEqual({ ok: false, reason: 'bad-signature' });
  expect(verifyJwt(`${t}x`, secret, 150).ok).toBe(false);
  fc.assert(fc.property(fc.string(), (s) => verifyJwt(s, secret, 0).ok === false));
});

test('routes', () => {
  const q = new URLSearchParams();
  expect(matchRoute('POST', '/identity/token', q)).toEqual({ kind: 'route', route: 'iam.token' });
  expect(matchRoute('POST', '/api/v2/keys/abc-1/actions/sync', q)).toEqual({ kind: 'route', route: 'keys.sync', keyRef: 'abc-1' });
  expect(matchRoute('POST', '/api/v2/keys/abc-1/actions/rotate', q)).toEqual({ kind: 'route', route: 'keys.action', keyRef: 'abc-1', action: 'rotate' });
  expect(matchRoute('POST', '/api/v2/keys/abc-1', new URLSearchParams('action=disable'))).toMatchObject({ route: 'keys.action', action: 'disable' });
  expect(matchRoute('GET', '/api/v2/keys/abc-1/metadata', q)).toMatchObject({ route: 'keys.metadata' });
  expect(matchRoute('GET', '/api/v2/keys/registrations', q)).toMatchObject({ route: 'registrations.all' });
  expect(matchRoute('GET', '/api/v2/keys/k/registrations', q)).toMatchObject({ route: 'registrations.key' });
  expect(matchRoute('GET', '/api/v2/keys/k/versions', q)).toEqual({ kind: 'route', route: 'keys.versions', keyRef: 'k' });
  expect(matchRoute('POST', '/api/v2/keys/k/versions', q)).toMatchObject({ kind: 'method-not-allowed', allow: 'GET' });
  expect(matchRoute('GET', '/api/v2/keys/k/actions/sync', q)).toMatchObject({ kind: 'method-not-allowed', allow: 'POST' });
  expect(matchRoute('GET', '/__emulator/log', q)).toEqual({ kind: 'admin', subpath: 'log' });
  expect(matchRoute('GET', '/api/v2/keys/../x', q)).toMatchObject({ kind: 'bad-path' });
  expect(matchRoute('GET', '/api/v3/x', q)).toEqual({ kind: 'not-found' });
  fc.assert(
    fc.property(fc.string(), fc.constantFrom('GET', 'POST', 'DELETE'), (path, method) => {
      matchRoute(method, `/api/v2/keys/${path}`, q); // never throws
      const r = decodeKeyRef(path);
      return !r.ok || (!r.value.includes('/') && !r.value.includes('..'));
    }),
  );
});

test('registration query parsing and paging', () => {
  const parsed = parseRegistrationQuery(new URLSearchParams('limit=2&offset=1&totalCount=true'));
  expect(isQueryError(parsed)).toBe(false);
  const items = ['a', 'b', 'c', 'd'].map((x, i) => ({ resourceCrn: `crn:v1:x:${x}`, preventKeyDeletion: i % 2 === 0 }));
  if (!isQueryError(parsed)) expect(applyRegistrationQuery(items, parsed)).toEqual({ page: [items[1], items[2]], total: 4 });
  expect(parseRegistrationQuery(new URLSearchParams('limit=5001'))).toMatchObject({ parameter: 'limit' });
  expect(parseRegistrationQuery(new URLSearchParams('limit=0'))).toMatchObject({ parameter: 'limit' });
  expect(crnPatternToRegExp('crn:v1:*:bucket:a.b').test('crn:v1:x:y:bucket:a.b')).toBe(true);
  expect(crnPatternToRegExp('crn:v1:*:bucket:a.b').test('crn:v1:x:y:bucket:aXb')).toBe(false);
});

test('faults: validation and queue order', () => {
  expect(parseFault({ status: 503, times: 2 }, 'f')).toEqual({ status: 503, times: 2 });
  expect(() => parseFault({ headers: { 'Bad Name': 'x' } }, 'f')).toThrow(/f\.headers/);
  expect(() => parseFault({ headers: { 'Retry-After': 'a\nb' } }, 'f')).toThrow(/f\.headers\.Retry-After/);
  const q = new FaultQueues();
  q.add('*', [{ status: 500 }]);
  q.add('keys.sync', [{ status: 502, times: 2 }]);
  expect(q.take('keys.sync')?.status).toBe(502);
  expect(q.take('keys.sync')?.status).toBe(502);
  expect(q.take('keys.sync')?.status).toBe(500);
  expect(q.take('keys.sync')).toBeUndefined();
});

test('redactPath removes secret-looking query values, JWTs and known secrets', () => {
  expect(redactPath('/identity/token?apikey=abc&x=1')).toBe('/identity/token?apikey=<redacted>&x=1');
  expect(redactPath('/a?access_token=eyJabc.def.ghi')).toBe('/a?access_token=<redacted>');
  expect(redactPath('/api/v2/keys/eyJhbGciOi.eyJzdWIi.sig')).toBe('/api/v2/keys/<redacted>');
  expect(redactPath('/api/v2/keys/MY-SECRET-KEY', ['MY-SECRET-KEY'])).toBe('/api/v2/keys/<redacted>');
  expect(redactPath('/x?urlEncodedResourceCRNQuery=crn%3Av1')).toBe('/x?urlEncodedResourceCRNQuery=crn%3Av1');
});

test('clock range: 1970 to the end of 9999; set and advance refuse outside it and leave the clock', () => {
  expect(clockRangeProblem(0)).toBeUndefined();
  expect(clockRangeProblem(MAX_CLOCK_MS)).toBeUndefined();
  expect(new Date(MAX_CLOCK_MS).toISOString()).toBe('9999-12-31T23:59:59.999Z');
  expect(clockRangeProblem(MAX_CLOCK_MS + 1)).toMatch(/outside/);
  expect(clockRangeProblem(-1)).toMatch(/outside/);
  expect(clockRangeProblem(NaN)).toMatch(/finite/);
  const c = new EmulatorClock(1000);
  expect(() => c.set(1e300)).toThrow(RangeError);
  expect(() => c.advance(-2000)).toThrow(RangeError);
  expect(c.now()).toBe(1000);
});

test('paging: defaults, bounds, and the page cap', () => {
  expect(parsePageQuery(new URLSearchParams())).toEqual({ limit: 200, offset: 0, totalCount: false });
  expect(parsePageQuery(new URLSearchParams('limit=5000&offset=7&totalCount=true'))).toEqual({ limit: 5000, offset: 7, totalCount: true });
  expect(parsePageQuery(new URLSearchParams('limit=5001'))).toMatchObject({ parameter: 'limit' });
  expect(parsePageQuery(new URLSearchParams('offset=x'))).toMatchObject({ parameter: 'offset' });
  expect(parsePageQuery(new URLSearchParams('totalCount=1'))).toMatchObject({ parameter: 'totalCount' });
  expect(pageSize(200, undefined)).toBe(200);
  expect(pageSize(200, 50)).toBe(50);
  expect(pageSize(10, 50)).toBe(10);
  const items = Array.from({ length: 12 }, (_, i) => i);
  expect(cutPage(items, 10, pageSize(200, 5))).toEqual({ page: [10, 11], total: 12 });
  expect(cutPage(items, 0, pageSize(200, 5))).toEqual({ page: [0, 1, 2, 3, 4], total: 12 });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 50 }), fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }), (n, limit, cap) => {
      const list = Array.from({ length: n }, (_, i) => i);
      const seen: number[] = [];
      // a client that advances by what it received gets everything exactly once
      for (let offset = 0; ; ) {
        const { page, total } = cutPage(list, offset, pageSize(limit, cap));
        if (total !== n) return false;
        seen.push(...page);
        if (page.length === 0) break;
        offset += page.length;
      }
      return seen.length === n && seen.every((v, i) => v === i) && cutPage(list, 0, pageSize(limit, cap)).page.length <= Math.min(limit, cap ?? limit);
    }),
  );
});

test('settings: parse, apply, show', () => {
  const s = defaultSettings();
  expect(settingsJson(s)).toEqual({ maxPageSize: null, registrationAckSeconds: 0, versionDateSkewSeconds: 0 });
  applySettings(s, parseSettings({ maxPageSize: 20, registrationAckSeconds: 1.5 }, 'x'));
  expect(s).toEqual({ maxPageSize: 20, registrationAckSeconds: 1.5, versionDateSkewSeconds: 0 });
  applySettings(s, parseSettings({ maxPageSize: null }, 'x'));
  expect(s.maxPageSize).toBeUndefined();
  expect(() => parseSettings({ maxPageSize: 2.5 }, 'settings')).toThrow(/^settings\.maxPageSize: invalid value 2\.5: use an integer from 1 to 5000/);
  expect(() => parseSettings([], 'settings')).toThrow(/^settings: invalid value \[\]/);
});

test('faults: reset after-handler runs the handler, combines only with delayMs and times, and is named in the log', () => {
  const f = parseFault({ reset: 'after-handler', delayMs: 10, times: 2 }, 'f');
  expect(f).toEqual({ reset: 'after-handler', delayMs: 10, times: 2 });
  expect(isSyntheticFault(f)).toBe(false);
  expect(describeFault(f)).toBe('reset=after-handler,delayMs=10');
  for (const other of [{ status: 503 }, { body: 'x' }, { htmlBody: true }, { hang: true }, { truncateJson: true }, { trickleMs: 5 }, { oversizeBytes: 10 }, { headers: { 'Retry-After': '1' } }]) {
    const field = Object.keys(other)[0] as string;
    expect(() => parseFault({ reset: 'after-handler', ...other }, 'f')).toThrow(new RegExp(`^f\\.${field}: .*"reset": "after-handler" runs the real handler and sends nothing; drop "${field}"`));
  }
  expect(() => parseFault({ reset: 'later' }, 'f')).toThrow(/^f\.reset: invalid value "later": use "before-headers", "after-handler", "mid-body"/);
});
