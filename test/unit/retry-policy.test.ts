import {
  DEFAULT_RETRY_LIMITS,
  GATE_FALLBACK_MS,
  GATE_MARGIN_MS,
  LOST_ANSWER_ALLOWANCE_MS,
  SYNC_GATE_PERIOD_MS,
  backoffDelay,
  classify,
  gateDecision,
  gateStartedDuring,
  isTransientStatus,
  parseGateTime,
  parseRetryAfter,
  type AttemptOutcome,
  type ClassifyContext,
} from '../../src/client/retry-policy';

const NOW = Date.parse('2026-11-28T20:00:00Z');
const fixed = (r: number) => () => r;
const ctx = (over: Partial<ClassifyContext> = {}): ClassifyContext => ({
  now: NOW,
  budgetStart: NOW,
  retriesUsed: 0,
  canRefreshToken: true,
  gateApplies: true,
  random: fixed(0),
  ...over,
});
const resp = (status: number, extra: Partial<Extract<AttemptOutcome, { kind: 'response' }>> = {}): AttemptOutcome => ({ kind: 'response', status, ...extra });
const GATE_MSG = 'Sync cannot be performed until at least 2026-11-28T21:38:43Z';

describe('classify', () => {
  test.each<[string, AttemptOutcome, Partial<ClassifyContext>, unknown]>([
    ['204 done', resp(204), {}, { kind: 'done' }],
    ['200 done', resp(200), {}, { kind: 'done' }],
    ['409 gate', resp(409, { reasonCode: 'REQ_TOO_EARLY_ERR', message: GATE_MSG }), {}, { kind: 'gated', notBefore: new Date('2026-11-28T21:38:43Z') }],
    ['409 gate, no time', resp(409, { reasonCode: 'REQ_TOO_EARLY_ERR' }), {}, { kind: 'gated', notBefore: new Date(NOW + GATE_FALLBACK_MS), note: 'no-time-in-message' }],
    ['409 gate on a GET is a plain failure', resp(409, { reasonCode: 'REQ_TOO_EARLY_ERR', message: GATE_MSG }), { gateApplies: false }, { kind: 'fail', reason: { kind: 'status', status: 409, transient: false } }],
    ['409 other reason', resp(409, { reasonCode: 'KEY_ACTION_INVALID_STATE_ERR' }), {}, { kind: 'fail', reason: { kind: 'status', status: 409, transient: false } }],
    ['409 no reason', resp(409), {}, { kind: 'fail', reason: { kind: 'status', status: 409, transient: false } }],
    ['401 refresh', resp(401), {}, { kind: 'retry', delayMs: 0, refreshToken: true, source: 'token-refresh' }],
    ['401 after refresh', resp(401), { canRefreshToken: false }, { kind: 'fail', reason: { kind: 'status', status: 401, transient: false } }],
    ['400', resp(400), {}, { kind: 'fail', reason: { kind: 'status', status: 400, transient: false } }],
    ['403', resp(403), {}, { kind: 'fail', reason: { kind: 'status', status: 403, transient: false } }],
    ['404', resp(404), {}, { kind: 'fail', reason: { kind: 'status', status: 404, transient: false } }],
    ['410', resp(410), {}, { kind: 'fail', reason: { kind: 'status', status: 410, transient: false } }],
    ['422', resp(422), {}, { kind: 'fail', reason: { kind: 'status', status: 422, transient: false } }],
    ['501', resp(501), {}, { kind: 'fail', reason: { kind: 'status', status: 501, transient: false } }],
    ['302', resp(302), {}, { kind: 'fail', reason: { kind: 'status', status: 302, transient: false } }],
    ['503 first retry: [0.5, 1) s', resp(503), {}, { kind: 'retry', delayMs: 500, refreshToken: false, source: 'backoff' }],
    ['500', resp(500), { retriesUsed: 1 }, { kind: 'retry', delayMs: 1000, refreshToken: false, source: 'backoff' }],
    ['502', resp(502), { retriesUsed: 2, random: fixed(0.5) }, { kind: 'retry', delayMs: 3000, refreshToken: false, source: 'backoff' }],
    ['504', resp(504), {}, { kind: 'retry', delayMs: 500, refreshToken: false, source: 'backoff' }],
    ['408', resp(408), {}, { kind: 'retry', delayMs: 500, refreshToken: false, source: 'backoff' }],
    ['429 Retry-After seconds', resp(429, { retryAfter: '7' }), {}, { kind: 'retry', delayMs: 7000, refreshToken: false, source: 'retry-after' }],
    ['429 Retry-After date', resp(429, { retryAfter: 'Sat, 28 Nov 2026 20:00:03 GMT' }), {}, { kind: 'retry', delayMs: 3000, refreshToken: false, source: 'retry-after' }],
    ['429 garbage Retry-After: backoff', resp(429, { retryAfter: 'soon' }), {}, { kind: 'retry', delayMs: 500, refreshToken: false, source: 'backoff' }],
    ['429 Retry-After past the budget', resp(429, { retryAfter: '3600' }), {}, { kind: 'fail', reason: { kind: 'deadline', transient: true, last: resp(429, { retryAfter: '3600' }) } }],
    // Monotonic: a longer Retry-After never means sooner; past the budget ends the call at once.
    ['429 Retry-After beyond a year', resp(429, { retryAfter: '99999999999' }), {}, { kind: 'fail', reason: { kind: 'deadline', transient: true, last: resp(429, { retryAfter: '99999999999' }) } }],
    ['503 Retry-After date beyond a year', resp(503, { retryAfter: 'Sat, 28 Nov 2099 20:00:03 GMT' }), {}, { kind: 'fail', reason: { kind: 'deadline', transient: true, last: resp(503, { retryAfter: 'Sat, 28 Nov 2099 20:00:03 GMT' }) } }],
    // Not idempotent (a rotation): repeat only what proves the service did nothing.
    ['not idempotent: 503 is uncertain', resp(503), { idempotent: false }, { kind: 'uncertain', last: resp(503) }],
    ['not idempotent: reset is uncertain', { kind: 'network', code: 'ECONNRESET' }, { idempotent: false }, { kind: 'uncertain', last: { kind: 'network', code: 'ECONNRESET' } }],
    ['not idempotent: response timeout is uncertain', { kind: 'timeout', phase: 'response' }, { idempotent: false }, { kind: 'uncertain', last: { kind: 'timeout', phase: 'response' } }],
    ['not idempotent: a timeout of unknown phase is uncertain', { kind: 'timeout' }, { idempotent: false }, { kind: 'uncertain', last: { kind: 'timeout' } }],
    ['not idempotent: connect timeout is retried', { kind: 'timeout', phase: 'connect' }, { idempotent: false }, { kind: 'retry', delayMs: 500, refreshToken: false, source: 'backoff' }],
    ['not idempotent: connection refused is retried', { kind: 'network', code: 'ECONNREFUSED' }, { idempotent: false }, { kind: 'retry', delayMs: 500, refreshToken: false, source: 'backoff' }],
    ['not idempotent: 429 is retried', resp(429), { idempotent: false }, { kind: 'retry', delayMs: 500, refreshToken: false, source: 'backoff' }],
    ['not idempotent: 401 refresh', resp(401), { idempotent: false }, { kind: 'retry', delayMs: 0, refreshToken: true, source: 'token-refresh' }],
    ['not idempotent: TLS refusal is permanent', { kind: 'network', code: 'CERT_HAS_EXPIRED' }, { idempotent: false }, { kind: 'fail', reason: { kind: 'network', code: 'CERT_HAS_EXPIRED', problem: 'tls', transient: false } }],
    ['network', { kind: 'network', code: 'ECONNREFUSED' }, {}, { kind: 'retry', delayMs: 500, refreshToken: false, source: 'backoff' }],
    ['network, no code', { kind: 'network' }, {}, { kind: 'retry', delayMs: 500, refreshToken: false, source: 'backoff' }],
    ['connection reset', { kind: 'network', code: 'ECONNRESET' }, {}, { kind: 'retry', delayMs: 500, refreshToken: false, source: 'backoff' }],
    ['TLS: self-signed certificate', { kind: 'network', code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, {}, { kind: 'fail', reason: { kind: 'network', code: 'DEPTH_ZERO_SELF_SIGNED_CERT', problem: 'tls', transient: false } }],
    ['TLS: expired certificate', { kind: 'network', code: 'CERT_HAS_EXPIRED' }, {}, { kind: 'fail', reason: { kind: 'network', code: 'CERT_HAS_EXPIRED', problem: 'tls', transient: false } }],
    ['TLS: wrong host name', { kind: 'network', code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, {}, { kind: 'fail', reason: { kind: 'network', code: 'ERR_TLS_CERT_ALTNAME_INVALID', problem: 'tls', transient: false } }],
    ['TLS: unknown CA', { kind: 'network', code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' }, {}, { kind: 'fail', reason: { kind: 'network', code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', problem: 'tls', transient: false } }],
    ['https to a plain-http port', { kind: 'network', code: 'ERR_SSL_WRONG_VERSION_NUMBER' }, {}, { kind: 'fail', reason: { kind: 'network', code: 'ERR_SSL_WRONG_VERSION_NUMBER', problem: 'not-tls', transient: false } }],
    ['https to a plain-http port (OpenSSL 3.2+)', { kind: 'network', code: 'ERR_SSL_PACKET_LENGTH_TOO_LONG' }, {}, { kind: 'fail', reason: { kind: 'network', code: 'ERR_SSL_PACKET_LENGTH_TOO_LONG', problem: 'not-tls', transient: false } }],
    ['response headers too large', { kind: 'network', code: 'UND_ERR_HEADERS_OVERFLOW' }, {}, { kind: 'fail', reason: { kind: 'network', code: 'UND_ERR_HEADERS_OVERFLOW', problem: 'headers', transient: false } }],
    ['a code named like an Object property is not permanent', { kind: 'network', code: 'toString' }, {}, { kind: 'retry', delayMs: 500, refreshToken: false, source: 'backoff' }],
    ['timeout', { kind: 'timeout' }, {}, { kind: 'retry', delayMs: 500, refreshToken: false, source: 'backoff' }],
    ['retries exhausted', resp(503), { retriesUsed: 4 }, { kind: 'fail', reason: { kind: 'retries-exhausted', transient: true, last: resp(503) } }],
    ['past the 2 min budget', resp(503), { now: NOW + 119_800 }, { kind: 'fail', reason: { kind: 'deadline', transient: true, last: resp(503) } }],
    ['just inside the budget', resp(503), { now: NOW + 119_500 }, { kind: 'retry', delayMs: 500, refreshToken: false, source: 'backoff' }],
  ])('%s', (_name, outcome, over, expected) => {
    expect(classify(outcome, ctx(over))).toEqual(expected);
  });

  test('never retries more than maxRetries times, whatever the random source', () => {
    for (const r of [0, 0.5, 0.999]) {
      let used = 0;
      let now = NOW;
      for (;;) {
        const d = classify(resp(503), ctx({ now, retriesUsed: used, random: fixed(r) }));
        if (d.kind !== 'retry') break;
        used++;
        now += d.delayMs;
      }
      expect(used).toBe(DEFAULT_RETRY_LIMITS.maxRetries);
      expect(now - NOW).toBeLessThanOrEqual(DEFAULT_RETRY_LIMITS.budgetMs);
    }
  });
});

describe('isTransientStatus', () => {
  test.each([[408, true], [429, true], [500, true], [502, true], [503, true], [504, true], [599, true], [501, false], [400, false], [401, false], [404, false], [409, false], [200, false]])('%d -> %s', (s, t) => {
    expect(isTransientStatus(s)).toBe(t);
  });
});

describe('backoffDelay (equal jitter, 1 s doubling, 30 s cap)', () => {
  test.each([
    [0, 0, 500], [0, 0.5, 750], [0, 0.999999, 1000],
    [1, 0, 1000], [1, 0.5, 1500],
    [2, 0, 2000], [3, 0, 4000], [4, 0, 8000], [4, 0.5, 12000],
    [5, 0, 15000], [5, 0.999999, 30000], [6, 0, 15000], [50, 0.5, 22500], [5000, 0, 15000],
    [-1, 0, 500], [NaN, 0, 500], [1.7, 0, 1000],
  ])('attempt %d, random %d -> %d ms', (attempt, r, expected) => {
    expect(backoffDelay(attempt, fixed(r))).toBe(expected);
  });

  test.each([[NaN], [-1], [1], [7]])('a broken random source (%d) still gives a delay within bounds', (r) => {
    const d = backoffDelay(2, fixed(r));
    expect(d).toBeGreaterThanOrEqual(2000);
    expect(d).toBeLessThanOrEqual(4000);
  });
});

describe('parseRetryAfter', () => {
  test.each<[string | undefined | string[], number | undefined]>([
    ['1', 1000],
    ['0', 0],
    [' 120 ', 120_000],
    [['3', '9'], 3000],
    ['Sat, 28 Nov 2026 20:00:10 GMT', 10_000],
    ['Sat, 28 Nov 2026 19:00:00 GMT', 0],
    ['Saturday, 28-Nov-26 20:00:05 GMT', 5000],
    ['Sat Nov 28 20:00:02 2026', 2000],
    [undefined, undefined],
    ['', undefined],
    ['-1', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['1e3', undefined],
    ['99999999999999999999', 31_536_000_000], // clamped to a year (was garbage): bigger never means sooner
    ['31536001', 31_536_000_000],
    [`1${'0'.repeat(64)}`, 31_536_000_000], // 65 digits: still a (clamped) number, not garbage
    ['garbage 2015', undefined],
    ['Sat, 28 Nov 2026 20:00:10', undefined],
    ['2026-11-28T20:00:10Z', undefined],
  ])('%p -> %p', (h, expected) => {
    expect(parseRetryAfter(h, NOW)).toBe(expected);
  });
});

describe('parseGateTime', () => {
  test.each<[string | undefined, number, string | undefined]>([
    [GATE_MSG, Date.parse('2026-11-28T21:38:43Z'), undefined],
    ['...until at least 2026-11-28T21:38:43.250Z', Date.parse('2026-11-28T21:38:43.250Z'), undefined],
    ['until at least 2026-11-28T22:38:43+01:00', Date.parse('2026-11-28T21:38:43Z'), undefined],
    ['until at least 2026-11-28T16:38:43-05:00.', Date.parse('2026-11-28T21:38:43Z'), undefined],
    ['until at least 2026-11-28t21:38:43z', Date.parse('2026-11-28T21:38:43Z'), undefined],
    ['until at least 2026-11-28 21:38:43Z', Date.parse('2026-11-28T21:38:43Z'), undefined],
    [undefined, NOW + GATE_FALLBACK_MS, 'no-time-in-message'],
    ['', NOW + GATE_FALLBACK_MS, 'no-time-in-message'],
    ['Sync cannot be performed yet', NOW + GATE_FALLBACK_MS, 'no-time-in-message'],
    ['until at least tomorrow', NOW + GATE_FALLBACK_MS, 'no-time-in-message'],
    ['until at least 2026-13-01T00:00:00Z', NOW + GATE_FALLBACK_MS, 'no-time-in-message'],
    ['until at least 2026-02-31T00:00:00Z', NOW + GATE_FALLBACK_MS, 'no-time-in-message'],
    ['until at least 2026-11-28T25:00:00Z', NOW + GATE_FALLBACK_MS, 'no-time-in-message'],
    ['until at least 2026-11-28T21:38:43', NOW + GATE_FALLBACK_MS, 'no-time-in-message'],
    ['until at least 2026-11-28T19:00:00Z', NOW + GATE_MARGIN_MS, 'time-in-the-past'],
    ['until at least 2026-11-28T20:00:00Z', NOW + GATE_MARGIN_MS, 'time-in-the-past'],
    ['until at least 2027-01-01T00:00:00Z', Date.parse('2027-01-01T00:00:00Z'), 'far-future'],
    ['until at least 9999-12-31T23:59:59Z', Date.parse('9999-12-31T23:59:59Z'), 'far-future'],
  ])('%p', (msg, expectedMs, note) => {
    const g = parseGateTime(msg, NOW);
    expect(g.notBefore.getTime()).toBe(expectedMs);
    expect(g.note).toBe(note);
  });
});

describe('gateStartedDuring (which unanswered sync request started the gate?)', () => {
  const SENT = NOW - 2_000; // the unanswered request went out 2 s before the retry's 409...
  const ENDED = NOW - 1_500; // ...and its connection was reset half a second later
  const out = [{ fromMs: SENT, toMs: ENDED }];
  const opening = (startedAt: number) => new Date(startedAt + SYNC_GATE_PERIOD_MS);
  test.each<[string, Parameters<typeof gateStartedDuring>[0], number | undefined]>([
    ['started as the request went out', { notBefore: opening(SENT + 40) }, 0],
    ['started while it was out', { notBefore: opening(SENT + 300) }, 0],
    ['named in whole seconds, up to the allowance before the send', { notBefore: opening(SENT - LOST_ANSWER_ALLOWANCE_MS) }, 0],
    ['up to the allowance after it ended', { notBefore: opening(ENDED + LOST_ANSWER_ALLOWANCE_MS) }, 0],
    ['started just past the allowance before the send (another sync, earlier)', { notBefore: opening(SENT - LOST_ANSWER_ALLOWANCE_MS - 1) }, undefined],
    ['started just past the allowance after it ended (another sync, later)', { notBefore: opening(ENDED + LOST_ANSWER_ALLOWANCE_MS + 1) }, undefined],
    ['started ten minutes before the send', { notBefore: opening(SENT - 600_000) }, undefined],
    ['far future (2099)', { notBefore: new Date('2099-01-01T00:00:00Z'), note: 'far-future' }, undefined],
    ['no time in the message: our own hour-long fallback proves nothing', { notBefore: opening(SENT), note: 'no-time-in-message' }, undefined],
    ['a time in the past: our margin proves nothing', { notBefore: new Date(NOW + GATE_MARGIN_MS), note: 'time-in-the-past' }, undefined],
    ['not a date', { notBefore: new Date(NaN) }, undefined],
  ])('%s', (_name, gate, expected) => {
    expect(gateStartedDuring(gate, out)).toBe(expected);
  });

  test('several unanswered requests: the one whose time matches', () => {
    const reqs = [{ fromMs: SENT - 60_000, toMs: SENT - 59_000 }, { fromMs: SENT - 30_000, toMs: SENT - 29_000 }, { fromMs: SENT, toMs: ENDED }];
    expect(gateStartedDuring({ notBefore: opening(SENT - 30_000) }, reqs)).toBe(1);
    expect(gateStartedDuring({ notBefore: opening(SENT - 45_000) }, reqs)).toBeUndefined(); // between two of them: neither
    expect(gateStartedDuring({ notBefore: opening(SENT) }, [])).toBeUndefined();
  });

  test('a gate period other than an hour is honoured', () => {
    expect(gateStartedDuring({ notBefore: new Date(SENT + 300_000) }, out, 300_000)).toBe(0);
    expect(gateStartedDuring({ notBefore: new Date(SENT + 300_000) }, out)).toBeUndefined();
  });
});

describe('gateDecision', () => {
  const gate = new Date(NOW + 10 * 60_000);
  test.each<[string, Date, { now?: number; maxWaitMs: number; gateWaits?: number }, unknown]>([
    ['inside max-wait: wait until gate + margin', gate, { maxWaitMs: 900_000 }, { kind: 'wait', untilMs: gate.getTime() + GATE_MARGIN_MS }],
    ['exactly at the limit', gate, { maxWaitMs: 600_000 + GATE_MARGIN_MS }, { kind: 'wait', untilMs: gate.getTime() + GATE_MARGIN_MS }],
    ['one ms beyond max-wait', gate, { maxWaitMs: 600_000 + GATE_MARGIN_MS - 1 }, { kind: 'stop' }],
    ['max-wait 0 never waits', new Date(NOW + 1000), { maxWaitMs: 0 }, { kind: 'stop' }],
    ['an hour away, default max-wait', new Date(NOW + 3_600_000), { maxWaitMs: 900_000 }, { kind: 'stop' }],
    ['past gate: at least the margin', new Date(NOW - 60_000), { maxWaitMs: 900_000 }, { kind: 'wait', untilMs: NOW + GATE_MARGIN_MS }],
    ['repeated 409: pauses grow', new Date(NOW), { maxWaitMs: 900_000, gateWaits: 2 }, { kind: 'wait', untilMs: NOW + 4 * GATE_MARGIN_MS }],
    ['repeated 409: capped at a minute', new Date(NOW), { maxWaitMs: 900_000, gateWaits: 30 }, { kind: 'wait', untilMs: NOW + 60_000 }],
    ['window measured from the start of the call', gate, { now: NOW + 400_000, maxWaitMs: 500_000 }, { kind: 'stop' }],
  ])('%s', (_n, notBefore, c, expected) => {
    expect(gateDecision(notBefore, { now: c.now ?? NOW, start: NOW, maxWaitMs: c.maxWaitMs, gateWaits: c.gateWaits ?? 0 })).toEqual(expected);
  });
});
