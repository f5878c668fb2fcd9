import {
  MAX_WAIT_SECONDS_LIMIT,
  checkCrn,
  checkInstanceId,
  checkKeyId,
  checkKeyRing,
  checkMarker,
  checkMaxWaitSeconds,
  checkTriggerName,
  isInvalid,
  isKeyAlias,
  isUuid,
  parseCrn,
} from '../../src/domain';

const UUID = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const COS_CRN = 'crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:payments-ledger';
const PG_CRN = 'crn:v1:bluemix:public:databases-for-postgresql:us-south:a/1234567890abcdef1234567890abcdef:9c8b7a6f-5e4d-4c3b-a2f1-e0d9c8b7a6f5::';

describe('isUuid', () => {
  test.each([
    [UUID, true],
    [UUID.toUpperCase(), true],
    ['00000000-0000-0000-0000-000000000000', true],
    ['4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b8', false],
    ['4a1e9c378d2b4f60b5a32c7d9e1f0b84', false],
    [`${UUID} `, false],
    ['4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b8g', false],
    ['', false],
  ])('%j -> %s', (s, ok) => expect(isUuid(s)).toBe(ok));
});

describe('isKeyAlias / checkKeyId', () => {
  test.each([
    // [value, alias?, valid key id?]
    ['payments-root', true, true],
    ['a_b', true, true],
    ['ab', true, true],
    ['a', false, false],
    ['x'.repeat(90), true, true],
    ['x'.repeat(91), false, false],
    ['has space', false, false],
    ['dot.ted', false, false],
    ['slash/ed', false, false],
    ['', false, false],
    [UUID, false, true],
    ['keys', false, false],
    ['Rotate', false, false],
  ])('%j: alias %s, key id %s', (s, alias, keyId) => {
    expect(isKeyAlias(s)).toBe(alias);
    expect(checkKeyId(s) === undefined).toBe(keyId);
  });

  test('a reserved word gets its own problem text', () => {
    expect(checkKeyId('policies')).toEqual(expect.objectContaining({ problem: expect.stringMatching(/reserves/) }));
    expect(checkKeyId('no good')).toEqual(expect.objectContaining({ problem: expect.stringMatching(/neither a key UUID nor a valid alias/), fix: expect.stringMatching(/UUID/) }));
  });
});

describe('checkKeyRing', () => {
  test.each([
    ['default', true],
    ['payments-ring-1', true],
    ['ab', true],
    ['a', false],
    ['x'.repeat(100), true],
    ['x'.repeat(101), false],
    ['under_score', false],
    ['', false],
  ])('%j -> valid %s', (s, ok) => expect(checkKeyRing(s) === undefined).toBe(ok));
});

describe('checkInstanceId', () => {
  test.each([
    [UUID, true],
    ['my-instance', false],
    ['', false],
  ])('%j -> valid %s', (s, ok) => expect(checkInstanceId(s) === undefined).toBe(ok));
});

describe('parseCrn / checkCrn', () => {
  test('parses the ten fields, empty trailing fields allowed', () => {
    expect(parseCrn(COS_CRN)).toEqual({
      cname: 'bluemix', ctype: 'public', serviceName: 'cloud-object-storage', location: 'global',
      scope: 'a/1234567890abcdef1234567890abcdef', serviceInstance: '5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6',
      resourceType: 'bucket', resource: 'payments-ledger',
    });
    expect(parseCrn(PG_CRN)).toEqual(expect.objectContaining({ serviceName: 'databases-for-postgresql', resourceType: '', resource: '' }));
  });

  test.each([
    // [value, problem pattern or null when valid]
    [COS_CRN, null],
    [PG_CRN, null],
    ['crn:v1:bluemix:public:messagehub:us-south::::', null],
    ['crn:v1:bluemix:public:kms:us-south:a/abc:inst:key:4a1e9c37', null],
    ['crn:v1:staging:public:iam:::::', /empty or malformed location/],
    ['crn:v1:bluemix:public:cloud-object-storage:global:a/1:2:bucket', /has 9 colon-separated fields, not 10/],
    ['crn:v1:bluemix:public:cloud-object-storage:global:a/1:2:bucket:x:y', /has 11 colon-separated fields/],
    ['crn:v2:bluemix:public:cloud-object-storage:global:a/1:2:bucket:x', /does not start with "crn:v1:"/],
    ['arn:v1:bluemix:public:cloud-object-storage:global:a/1:2:bucket:x', /does not start with "crn:v1:"/],
    ['crn:v1::public:cloud-object-storage:global:a/1:2:bucket:x', /empty or malformed cname/],
    ['crn:v1:bluemix:public:cloud-object-storage:global:acct:2:bucket:x', /malformed scope/],
    ['crn:v1:bluemix:public:cloud-object-storage:global:a/1:in stance:bucket:x', /white space/],
    ['crn:v1:bluemix:public:cloud-object-storage:global:a/1:2:buck*et:x', /malformed resource-type/],
    ['crn:v1:bluemix:public:cloud-object-storage:global:a/1:2:bucket:x\u0001', /control characters/],
    [`crn:v1:bluemix:public:cloud-object-storage:global:a/1:2:bucket:${'x'.repeat(500)}`, /at most 512/],
    ['', /fields, not 10/],
  ])('%j', (s, problem) => {
    const r = checkCrn(s);
    if (problem === null) {
      expect(r).toBeUndefined();
    } else {
      expect(r).toEqual({ problem: expect.stringMatching(problem), fix: expect.stringContaining('crn:v1:') });
      expect(isInvalid(parseCrn(s))).toBe(true);
    }
  });
});

describe('checkMaxWaitSeconds', () => {
  test.each([
    [0, true],
    [900, true],
    [3600, true],
    [MAX_WAIT_SECONDS_LIMIT, true],
    [MAX_WAIT_SECONDS_LIMIT + 1, false],
    [-1, false],
    [1.5, false],
    [Number.NaN, false],
    [Number.POSITIVE_INFINITY, false],
  ])('%d -> valid %s', (n, ok) => expect(checkMaxWaitSeconds(n) === undefined).toBe(ok));

  test('problems say what is wrong', () => {
    expect(checkMaxWaitSeconds(-5)?.problem).toBe(`is outside 0-${MAX_WAIT_SECONDS_LIMIT}`);
    expect(checkMaxWaitSeconds(2.5)?.problem).toBe('is not a whole number of seconds');
  });
});

describe('checkMarker', () => {
  test.each([
    ['2026-11-01', true],
    ['2026-11-28T21:38:43Z', true],
    ['OPS-1234 rotate after audit', true],
    ['', false], // empty reads as "not declared" in a plan (refused since the newcomer review)
    ['   ', false],
    ['x'.repeat(256), true],
    ['x'.repeat(257), false],
    ['a"b', false],
    ['a\\b', false],
    ['${var.x}', false],
    ['%{if}', false],
    ['line\nbreak', false],
    ['café', false],
  ])('%j -> valid %s', (s, ok) => expect(checkMarker(s) === undefined).toBe(ok));
});

describe('checkTriggerName', () => {
  test.each([
    ['ticket', true],
    ['change.id', true],
    ['a-b_c', true],
    ['', false],
    ['has space', false],
    ['x'.repeat(65), false],
  ])('%j -> valid %s', (s, ok) => expect(checkTriggerName(s) === undefined).toBe(ok));
});

describe('values of the wrong type (plain JavaScript callers) are problems, not TypeErrors', () => {
  test.each([[undefined], [null], [42], [{}]])('%p', (v) => {
    const x = v as unknown as string;
    expect(isUuid(x)).toBe(false);
    expect(isKeyAlias(x)).toBe(false);
    expect(checkKeyId(x)).toEqual(expect.objectContaining({ problem: expect.any(String) }));
    expect(checkKeyRing(x)).toEqual(expect.objectContaining({ problem: expect.any(String) }));
    expect(checkCrn(x)).toEqual(expect.objectContaining({ problem: expect.stringMatching(/not a string/) }));
    expect(checkMarker(x)).toEqual(expect.objectContaining({ problem: 'is not a string' }));
  });
});

describe('rotation generation and requested-at (domain/generation.ts)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { checkGeneration, checkRequestedAt, generationText, parseRfc3339 } = require('../../src/domain') as typeof import('../../src/domain');
  test.each<[string | number, boolean]>([
    ['2026-Q4', true], [0, true], [7, true], [Number.MAX_SAFE_INTEGER, true], ['1', true],
    ['', false], ['   ', false], ['a"b', false], ['${x}', false], ['x'.repeat(257), false],
    [-1, false], [1.5, false], [Number.NaN, false], [Infinity, false], [2 ** 60, false],
  ])('checkGeneration(%j) ok=%s', (g, ok) => {
    const r = checkGeneration(g);
    expect(r === undefined).toBe(ok);
    if (r !== undefined) expect(r.fix.length).toBeGreaterThan(10);
  });

  test('numbers are carried in decimal', () => {
    expect(generationText(12)).toBe('12');
    expect(generationText('2026-Q4')).toBe('2026-Q4');
  });

  test.each<[string, number | undefined]>([
    ['2026-11-28T21:38:43Z', Date.UTC(2026, 10, 28, 21, 38, 43)],
    ['2026-11-28t21:38:43z', Date.UTC(2026, 10, 28, 21, 38, 43)],
    ['2026-11-28T21:38:43.250Z', Date.UTC(2026, 10, 28, 21, 38, 43, 250)],
    ['2026-11-28T22:38:43+01:00', Date.UTC(2026, 10, 28, 21, 38, 43)],
    ['2026-11-28T21:38:43', undefined],
    ['2026-02-30T00:00:00Z', undefined],
    ['2026-11-28 21:38:43Z', undefined],
    ['now', undefined],
    ['2026-11-28T25:00:00Z', undefined],
  ])('parseRfc3339(%j)', (s, ms) => {
    expect(parseRfc3339(s)).toBe(ms);
    expect(checkRequestedAt(s) === undefined).toBe(ms !== undefined);
  });
});
