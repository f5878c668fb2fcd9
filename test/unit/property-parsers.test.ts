/**
 * Property tests (fast-check) of every pure parser that sees hostile input: argv + env,
 * key id / alias / CRN / instance validation, Retry-After, HTTP-date and gate-time
 * parsing, the retry and gate decisions, KMS and IAM error bodies, IAM token answers,
 * credentials from the environment and redaction. Thousands of inputs each; none may
 * throw, every result stays in its documented bounds, every rejection says something.
 * (Emulator routes and admin bodies: test/integration/emulator-admin.test.ts; trigger
 * hash order: test/unit/trigger-hash.test.ts and property-trigger-hash.test.ts.)
 */
import fc from 'fast-check';
import { parseCommand } from '../../src/cli/parse-command';
import { parseErrorBody } from '../../src/client/errors';
import { createSanitizer, SERVER_TEXT_MAX_CHARS } from '../../src/client/sanitize';
import { credentialsFromEnv, tokenFromIamResponse } from '../../src/client/iam';
import {
  backoffDelay, classify, gateDecision, parseGateTime, parseHttpDate, parseRetryAfter, referenceTime,
  DEFAULT_RETRY_LIMITS, GATE_FALLBACK_MS, GATE_MARGIN_MS, type AttemptOutcome,
} from '../../src/client/retry-policy';
import { checkCrn, checkInstanceId, checkKeyId, checkKeyRing, isUuid, parseCrn } from '../../src/domain';

const RUNS = { numRuns: 3000 };
const NOW = Date.parse('2026-11-28T20:00:00Z');
const YEAR_MS = 366 * 86_400_000;
const CANARY = 'CANARY-apikey-5e1f0c2d3b4a59687786950a';

/** Strings that look like what they must survive: flags, values, unicode, controls. */
const token = fc.oneof(
  fc.constantFrom('sync', 'registrations', 'emulator', 'help', '--help', '-h', '--version', '--instance-id', '--key-id', '--endpoint', '--region', '--service', '--port', '--private', '--key-ring', '--max-wait', '--json', '--verify-registrations', '--crn', '--', '-', '--key-id=x', '--max-wait=-1', '--port=8000', 'hpcs', 'key-protect', 'us-south', '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20', '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84', 'payments-root', '../etc/passwd', '%2e%2e%2F', 'http://kms.example.com', 'https://127.0.0.1:1', '900', '99999999999999999999', 'crn:v1:bluemix:public:kms:us-south:a/1:2:key:3'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

describe('argument parsing', () => {
  test('random argv and env: never throws; a usage error always says something; a config is valid', () => {
    fc.assert(
      fc.property(
        fc.array(token, { maxLength: 12 }),
        fc.record({
          IBMCLOUD_API_KEY: fc.option(fc.oneof(fc.constant(CANARY), fc.string({ maxLength: 30 })), { nil: undefined }),
          IBMCLOUD_IAM_TOKEN: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
          IBMCLOUD_KP_API_ENDPOINT: fc.option(fc.oneof(fc.constant('http://127.0.0.1:8080'), fc.string({ maxLength: 30 })), { nil: undefined }),
          IBMCLOUD_IAM_API_ENDPOINT: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
          KEY_SYNC_TIME_SCALE: fc.option(fc.oneof(fc.constant('0.001'), fc.string({ maxLength: 8 })), { nil: undefined }),
          KEY_SYNC_ATTEMPT_TIMEOUT_MS: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
        }, { requiredKeys: [] }),
        (argv, env) => {
          const c = parseCommand(argv, env);
          expect(['sync', 'registrations', 'emulator', 'help', 'version', 'usage-error']).toContain(c.kind);
          if (c.kind === 'usage-error') {
            expect(c.message.trim().length).toBeGreaterThan(10);
            expect(c.message).not.toContain(CANARY);
          }
          if (c.kind === 'sync' || c.kind === 'registrations') {
            const cfg = c.config;
            expect(checkInstanceId(cfg.instanceId)).toBeUndefined();
            expect(cfg.baseUrl).toMatch(/^https?:\/\/[^\s]+$/);
            if (cfg.baseUrl.startsWith('http:')) expect(new URL(cfg.baseUrl).hostname).toMatch(/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/);
            expect(cfg.timeScale).toBeGreaterThan(0);
            expect(cfg.timeScale).toBeLessThanOrEqual(1);
            if (c.kind === 'sync') {
              expect(checkKeyId(c.config.keyId)).toBeUndefined();
              expect(Number.isInteger(c.config.maxWaitSeconds) && c.config.maxWaitSeconds >= 0).toBe(true);
            }
          }
        },
      ),
      RUNS,
    );
  });
});

describe('key id, alias, instance, key ring and CRN validation', () => {
  test('never throws; an accepted key id cannot traverse a path; a rejection names problem and fix', () => {
    const hostile = fc.oneof(
      fc.string({ maxLength: 100 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('..', '../x', '%2e%2e', '%2F', 'a/b', 'a\\b', 'a\u0000b', 'a b', '.', '', 'x'.repeat(91), 'key-', '-key'),
      fc.uuid(),
      fc.stringMatching(/^[A-Za-z0-9_-]{1,95}$/),
    );
    fc.assert(
      fc.property(hostile, (s) => {
        for (const check of [checkKeyId, checkInstanceId, checkKeyRing, checkCrn]) {
          const r = check(s);
          if (r !== undefined) {
            expect(r.problem.length).toBeGreaterThan(0);
            expect(r.fix.length).toBeGreaterThan(0);
          }
        }
        if (checkKeyId(s) === undefined) {
          expect(s).toMatch(/^[A-Za-z0-9_-]+$/);
          expect(encodeURIComponent(s)).toBe(s);
        }
        if (isUuid(s)) expect(checkKeyId(s)).toBeUndefined();
      }),
      RUNS,
    );
  });

  test('CRNs: parse(accepted) has 10 fields; random colon-joined fields never throw', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('crn', 'v1', 'bluemix', 'public', 'kms', 'us-south', 'a/1234', '')), { minLength: 0, maxLength: 12 }), (parts) => {
        const s = parts.join(':');
        const p = parseCrn(s);
        if (checkCrn(s) === undefined) {
          expect(s.split(':')).toHaveLength(10);
          expect('problem' in p).toBe(false);
        }
      }),
      RUNS,
    );
  });
});

describe('Retry-After, HTTP-date and gate-time parsing', () => {
  const header = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.nat().map(String),
    fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
    fc.date({ min: new Date(-8e15), max: new Date(8e15), noInvalidDate: true }).map((d) => d.toUTCString()),
    fc.constantFrom('-1', '1.5', ' 7 ', '0x10', 'Infinity', 'NaN', '1e3', 'Sun, 06 Nov 1994 08:49:37 GMT', 'Sunday, 06-Nov-94 08:49:37 GMT', 'Sun Nov  6 08:49:37 1994', 'Mon, 31 Feb 2026 00:00:00 GMT'),
  );
  const now = fc.integer({ min: 0, max: 4_102_444_800_000 });

  test('parseRetryAfter: undefined or a finite delay from 0 to a year', () => {
    fc.assert(fc.property(header, now, (h, n) => {
      const d = parseRetryAfter(h, n);
      if (d !== undefined) expect(Number.isFinite(d) && d >= 0 && d <= YEAR_MS).toBe(true);
      if (/^\d+$/.test(h.trim()) && Number(h.trim()) <= 3600) expect(d).toBe(Number(h.trim()) * 1000);
    }), RUNS);
  });

  test('parseHttpDate / referenceTime: finite or undefined; the reference is the header or the local clock', () => {
    fc.assert(fc.property(header, now, (h, n) => {
      const at = parseHttpDate(h);
      if (at !== undefined) expect(Number.isFinite(at)).toBe(true);
      const ref = referenceTime(h, n);
      expect(Number.isFinite(ref.now)).toBe(true);
      expect(ref.now - ref.skewMs).toBe(n);
      expect(ref.source === 'local' ? ref.now === n && ref.skewMs === 0 : ref.now === at).toBe(true);
    }), RUNS);
  });

  test('parseGateTime: never throws; notBefore is finite and in the future (a past time becomes now + margin)', () => {
    const message = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.date({ min: new Date(0), max: new Date(8e15), noInvalidDate: true }).map((d) => `Sync cannot be performed until at least ${d.toISOString()}`),
      fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }))
        .map(([y, mo, d, h, mi, s]) => `until at least ${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:${String(s).padStart(2, '0')}Z`),
    );
    fc.assert(fc.property(fc.option(message, { nil: undefined }), now, (m, n) => {
      const g = parseGateTime(m, n);
      const t = g.notBefore.getTime();
      expect(Number.isFinite(t)).toBe(true);
      expect(t).toBeGreaterThan(n);
      if (g.note === 'time-in-the-past') expect(t).toBe(n + GATE_MARGIN_MS);
      if (g.note === 'no-time-in-message') expect(t).toBe(n + GATE_FALLBACK_MS);
    }), RUNS);
  });
});

describe('retry and gate decisions', () => {
  const outcome: fc.Arbitrary<AttemptOutcome> = fc.oneof(
    fc.record({ kind: fc.constant('response' as const), status: fc.integer({ min: 100, max: 999 }), retryAfter: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }), reasonCode: fc.option(fc.constantFrom('REQ_TOO_EARLY_ERR', 'KEY_ACTION_INVALID_STATE_ERR', 'X'), { nil: undefined }), message: fc.option(fc.string({ maxLength: 80 }), { nil: undefined }) }, { requiredKeys: ['kind', 'status'] }),
    fc.record({ kind: fc.constant('network' as const), code: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }) }, { requiredKeys: ['kind'] }),
    fc.constant({ kind: 'timeout' as const }),
  );

  test('classify: retries bounded, delays finite and inside the budget, 4xx (but 408/429) never retried', () => {
    fc.assert(fc.property(outcome, fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 200_000 }), fc.double({ noNaN: false }), fc.boolean(), fc.boolean(), (o, used, elapsed, r, refresh, gate) => {
      const d = classify(o, { now: NOW + elapsed, budgetStart: NOW, retriesUsed: used, canRefreshToken: refresh, gateApplies: gate, random: () => r });
      if (d.kind === 'retry' && !d.refreshToken) {
        expect(used).toBeLessThan(DEFAULT_RETRY_LIMITS.maxRetries);
        expect(Number.isFinite(d.delayMs) && d.delayMs >= 0).toBe(true);
        expect(NOW + elapsed + d.delayMs).toBeLessThanOrEqual(NOW + DEFAULT_RETRY_LIMITS.budgetMs);
        expect(d.delayMs).toBeGreaterThanOrEqual(backoffDelay(used, () => 0) - 1);
      }
      if (o.kind === 'response' && o.status >= 400 && o.status < 500 && ![401, 408, 429].includes(o.status) && !(o.status === 409 && gate && o.reasonCode === 'REQ_TOO_EARLY_ERR')) {
        expect(d.kind).toBe('fail');
      }
      if (o.kind === 'response' && o.status === 501) expect(d.kind).toBe('fail');
    }), RUNS);
  });

  test('gateDecision: a wait is never in the past, never past --max-wait, spaced from the last attempt', () => {
    fc.assert(fc.property(fc.integer({ min: -YEAR_MS, max: YEAR_MS }), fc.integer({ min: 0, max: 43_200 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 86_400_000 }), (offset, maxWait, waits, elapsed) => {
      const now = NOW + elapsed;
      const d = gateDecision(new Date(now + offset), { now, start: NOW, maxWaitMs: maxWait * 1000, gateWaits: waits });
      if (d.kind === 'wait') {
        expect(d.untilMs).toBeGreaterThanOrEqual(now + GATE_MARGIN_MS);
        expect(d.untilMs).toBeLessThanOrEqual(NOW + maxWait * 1000);
      }
    }), RUNS);
  });
});

describe('KMS and IAM error bodies, IAM answers, credentials, redaction', () => {
  const body = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('utf8')),
    fc.json({ maxDepth: 4 }),
    fc.anything({ maxDepth: 3 }).map((x) => { try { return JSON.stringify(x) ?? ''; } catch { return ''; } }),
    fc.record({ resources: fc.array(fc.record({ errorMsg: fc.anything(), reasons: fc.oneof(fc.anything(), fc.array(fc.record({ code: fc.anything(), message: fc.anything(), status: fc.anything() }, { requiredKeys: [] }))) }, { requiredKeys: [] })) }, { requiredKeys: [] }).map((x) => JSON.stringify(x)),
    fc.record({ errorCode: fc.anything(), errorMessage: fc.anything(), context: fc.anything() }, { requiredKeys: [] }).map((x) => JSON.stringify(x)),
    fc.json().map((j) => j.slice(0, Math.floor(j.length / 2))),
  );

  test('parseErrorBody never throws; codes and messages are strings; shown text is bounded and clean', () => {
    const sanitizer = createSanitizer([CANARY]);
    fc.assert(fc.property(body, fc.option(fc.constantFrom('application/json', 'text/html', 'application/vnd.ibm.kms.error+json', 'text/plain'), { nil: undefined }), fc.boolean(), (b, ct, cap) => {
      const p = parseErrorBody(b, ct, cap);
      expect(['kms', 'iam', 'json', 'html', 'text', 'empty']).toContain(p.shape);
      if (p.reasonCode !== undefined) expect(typeof p.reasonCode).toBe('string');
      if (p.message !== undefined) expect(typeof p.message).toBe('string');
      const shown = sanitizer.text(`${p.message ?? ''} ${CANARY}`);
      if (shown !== undefined) {
        expect(shown.length).toBeLessThanOrEqual(SERVER_TEXT_MAX_CHARS);
        expect(shown).not.toMatch(/[\u0000-\u001f\u007f]/);
        expect(shown).not.toContain(CANARY);
      }
    }), RUNS);
  });

  test('tokenFromIamResponse: undefined or a header-safe token with a finite future expiry', () => {
    fc.assert(fc.property(fc.oneof(fc.anything(), fc.record({ access_token: fc.oneof(fc.string(), fc.anything()), expires_in: fc.oneof(fc.double(), fc.anything()), expiration: fc.oneof(fc.double(), fc.anything()) }, { requiredKeys: [] })), (x) => {
      const t = tokenFromIamResponse(x, NOW);
      if (t !== undefined) {
        expect(t.accessToken).toMatch(/^[\x21-\x7e]+$/);
        expect(Number.isFinite(t.expiresAt)).toBe(true);
        expect(t.expiresAt ?? 0).toBeGreaterThanOrEqual(NOW);
        expect(t.expiresAt ?? 0).toBeLessThanOrEqual(NOW + 86_400_000);
      }
    }), RUNS);
  });

  test('credentialsFromEnv never echoes a value in its problem or fix', () => {
    fc.assert(fc.property(fc.string({ minLength: 8, maxLength: 40 }), fc.constantFrom('IBMCLOUD_API_KEY', 'IC_API_KEY', 'IBMCLOUD_IAM_TOKEN', 'IC_IAM_TOKEN'), fc.option(fc.string({ maxLength: 30 }), { nil: undefined }), (secret, name, iam) => {
      const r = credentialsFromEnv({ [name]: `x ${secret}`, ...(iam === undefined ? {} : { IBMCLOUD_IAM_API_ENDPOINT: iam }) });
      if (!r.ok) {
        expect(r.problem).not.toContain(secret);
        expect(r.fix).not.toContain(secret);
      }
    }), RUNS);
  });

  test('redaction: a known secret never survives, wherever it is embedded', () => {
    fc.assert(fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/), fc.string({ maxLength: 60 }), fc.string({ maxLength: 60 }), (secret, a, b) => {
      const redact = createSanitizer([secret]).redact;
      expect(redact(`${a}${secret}${b}${secret}`)).not.toContain(secret);
      expect(redact(`Authorization: Bearer ${secret}`)).not.toContain(secret);
    }), RUNS);
  });
});
