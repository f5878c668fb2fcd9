import { KeySyncError, parseErrorBody } from '../../src/client/errors';
import { codeForStatus } from '../../src/client/failure';
import { createSanitizer, SERVER_TEXT_MAX_CHARS, type Sanitizer } from '../../src/client/sanitize';

/** The redactor and server-text cleaner, as the one sanitizer provides them. */
const createRedactor = (secrets: Array<string | undefined>): ((t: string) => string) & { add(s: string): void; sanitizer: Sanitizer } => {
  const s = createSanitizer(secrets);
  return Object.assign((t: string) => s.redact(t), { add: (x: string) => s.add(x), sanitizer: s });
};
const safeServerText = (t: string | undefined, r: { sanitizer: Sanitizer }): string | undefined => r.sanitizer.text(t);

const GATE_BODY = JSON.stringify({
  metadata: { collectionType: 'application/vnd.ibm.kms.error+json', collectionTotal: 1 },
  resources: [{
    errorMsg: 'Conflict: Action could not be performed on key. Please see "reasons" for more details.',
    reasons: [{ code: 'REQ_TOO_EARLY_ERR', message: 'Sync cannot be performed until at least 2026-11-28T21:38:43Z', status: 409, moreInfo: 'https://cloud.ibm.com/apidocs/key-protect', target: { type: 'field', name: 'id' } }],
  }],
});

describe('parseErrorBody', () => {
  test.each<[string, string, string | undefined, Record<string, unknown>]>([
    ['KMS gate', GATE_BODY, 'application/json', {
      shape: 'kms', reasonCode: 'REQ_TOO_EARLY_ERR', truncated: false,
      message: 'Conflict: Action could not be performed on key. Please see "reasons" for more details.: Sync cannot be performed until at least 2026-11-28T21:38:43Z',
    }],
    ['KMS without reasons', JSON.stringify({ metadata: {}, resources: [{ errorMsg: 'Not Found: Key does not exist' }] }), 'application/json', { shape: 'kms', message: 'Not Found: Key does not exist', reasons: [] }],
    ['KMS empty resources', JSON.stringify({ resources: [] }), undefined, { shape: 'kms', reasons: [] }],
    ['KMS reasons not an array', JSON.stringify({ resources: [{ errorMsg: 'x', reasons: 'nope' }] }), undefined, { shape: 'kms', message: 'x', reasons: [] }],
    ['KMS reason entries of the wrong type', JSON.stringify({ resources: [{ reasons: [null, 3, { code: 7, message: 'm' }, { code: 'C' }] }] }), undefined, { shape: 'kms', reasonCode: 'C', message: 'm' }],
    ['IAM', JSON.stringify({ errorCode: 'BXNIM0415E', errorMessage: 'Provided API key could not be found.', context: { requestId: 'req-1' } }), 'application/json', {
      shape: 'iam', reasonCode: 'BXNIM0415E', message: 'Provided API key could not be found.', requestId: 'req-1',
    }],
    ['IAM without context', JSON.stringify({ errorCode: 'BXNIM0109E', errorMessage: 'Property missing' }), undefined, { shape: 'iam', reasonCode: 'BXNIM0109E' }],
    ['other JSON', JSON.stringify({ message: 'rate limited' }), 'application/json', { shape: 'json', message: 'rate limited' }],
    ['JSON array', '[1,2]', undefined, { shape: 'json', reasons: [] }],
    ['JSON null', 'null', 'application/json', { shape: 'json', reasons: [] }],
    ['truncated KMS JSON', GATE_BODY.slice(0, 260), 'application/json', { shape: 'json', truncated: true, reasonCode: 'REQ_TOO_EARLY_ERR' }],
    ['malformed JSON', '{"resources": [', 'application/json', { shape: 'json', truncated: true, reasons: [] }],
    ['HTML 502', '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>', 'text/html', { shape: 'html', message: '502 Bad Gateway' }],
    ['HTML without title', '<!DOCTYPE html><html><body><p>oops</p></body></html>', 'text/html', { shape: 'html', reasons: [] }],
    ['HTML labelled JSON', '<html><title>Gateway</title></html>', 'application/json', { shape: 'json', truncated: true }],
    ['plain text', 'upstream connect error   or disconnect', 'text/plain', { shape: 'text', message: 'upstream connect error or disconnect' }],
    ['empty', '', undefined, { shape: 'empty', reasons: [], truncated: false }],
    ['white space', '  \n ', 'application/json', { shape: 'empty' }],
  ])('%s', (_n, text, ct, expected) => {
    expect(parseErrorBody(text, ct)).toMatchObject(expected);
  });

  test('the cap flag is carried', () => {
    expect(parseErrorBody('x'.repeat(10), 'text/plain', true).truncated).toBe(true);
  });

  test('never throws on odd input', () => {
    for (const s of ['{', '}', '{"resources":{}}', '{"resources":[[]]}', '{"errorCode":null}', '\u0000', '<', '{"__proto__":{"x":1}}', '9'.repeat(1000)]) {
      expect(() => parseErrorBody(s, 'application/json')).not.toThrow();
    }
  });
});

describe('codeForStatus', () => {
  test.each([
    [400, 'KS_HTTP_4XX'], [401, 'KS_AUTH'], [403, 'KS_FORBIDDEN'], [404, 'KS_NOT_FOUND'], [409, 'KS_CONFLICT'], [410, 'KS_HTTP_4XX'],
    [422, 'KS_HTTP_4XX'], [408, 'KS_TIMEOUT'], [429, 'KS_THROTTLED'], [500, 'KS_HTTP_5XX'], [501, 'KS_NOT_IMPLEMENTED'], [503, 'KS_HTTP_5XX'], [302, 'KS_HTTP_UNEXPECTED'],
  ])('%d -> %s', (s, c) => {
    expect(codeForStatus(s)).toBe(c);
  });
});

describe('KeySyncError', () => {
  test('carries code, status, reason and correlation id; retryLater by code', () => {
    const e = new KeySyncError('KS_NOT_FOUND', 'gone', { status: 404, reasonCode: 'KEY_NOT_FOUND_ERR', correlationId: 'c-1' });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code: 'KS_NOT_FOUND', status: 404, reasonCode: 'KEY_NOT_FOUND_ERR', correlationId: 'c-1', retryLater: false, name: 'KeySyncError' });
    expect(new KeySyncError('KS_GATED', 'later').retryLater).toBe(true);
    expect(new KeySyncError('KS_NETWORK', 'later').retryLater).toBe(true);
    expect(new KeySyncError('KS_USAGE', 'bad').retryLater).toBe(false);
  });
});

describe('redaction', () => {
  const KEY = 'CANARY-apikey-0123456789abcdef';
  const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJl';
  const redact = createRedactor([KEY, undefined, 'short']);
  redact.add(TOKEN);

  test.each([
    [`the key ${KEY} was refused`, 'the key [REDACTED] was refused'],
    [`Authorization: Bearer ${TOKEN}`, 'Authorization: Bearer [REDACTED]'],
    ['Authorization: bearer abc.def-ghi', 'Authorization: bearer [REDACTED]'],
    [`token ${TOKEN} expired`, 'token [REDACTED] expired'],
    ['grant_type=x&apikey=SOMEOTHERKEY123&y=1', 'grant_type=x&apikey=[REDACTED]&y=1'],
    ['{"access_token":"abc123456789","expires_in":3600}', '{"access_token":"[REDACTED]","expires_in":3600}'],
    ['a JWT eyJhbGciOiJIUzI1NiJ9.eyJmb28iOiJiYXIifQ.abc in text', 'a JWT [REDACTED] in text'],
    // Every known secret is redacted, however short (was: only 8 characters or more).
    ['short words stay', '[REDACTED] words stay'],
    ['Key does not exist', 'Key does not exist'],
  ])('%p', (input, out) => {
    expect(redact(input)).toBe(out);
  });

  test('safeServerText strips control characters, redacts and caps', () => {
    expect(safeServerText(`\u001b[31mred\u001b[0m ${KEY}\r\nnext`, redact)).toBe('[31mred [0m [REDACTED] next');
    expect(safeServerText(undefined, redact)).toBeUndefined();
    expect(safeServerText(' \n ', redact)).toBeUndefined();
    const long = safeServerText('x'.repeat(5000), redact);
    expect(long?.length).toBe(SERVER_TEXT_MAX_CHARS);
    // A secret split by control characters is not reassembled.
    expect(safeServerText(KEY.split('').join('\u0000'), redact)).not.toContain(KEY);
  });
});

describe('the sanitizer against hostile text', () => {
  const KEY = 'CANARY-apikey-7f3e9b1c5d2a4e6f8091a2b3c4d5e6f7';
  const TOKEN = 'TOKEN-canary-0123456789abcdefghijklmnopqrstuvw';
  const s = createSanitizer([KEY, TOKEN]);

  test.each([
    ['tag characters', '\u{E0020}'], ['a tag letter', '\u{E0061}'], ['a variation selector', '\uFE0F'], ['the combining grapheme joiner', '\u034F'],
    ['a Hangul filler', '\u3164'], ['a halfwidth Hangul filler', '\uFFA0'], ['a Mongolian variation selector', '\u180B'], ['a musical format character', '\u{1D173}'],
    ['zero width space', '\u200B'], ['word joiner', '\u2060'], ['soft hyphen', '\u00AD'],
  ])('a secret split by %s is found', (_name, sep) => {
    const out = s.text(`refused: ${Array.from(KEY).join(sep)} (403)`) ?? '';
    expect(out).toBe('refused: [REDACTED] (403)');
  });

  test('a secret cut at the end of a text cut short: its piece is redacted too (not when whole text)', () => {
    expect(s.text(`${' '.repeat(200)}not allowed ${TOKEN.slice(0, 30)}`, 500, true)).toBe('not allowed [REDACTED]');
    // Cut by the sanitizer itself (past what it examines): the same.
    const long = `${'x '.repeat(10_000)}${KEY}`;
    expect(s.text(long, 500) ?? '').not.toMatch(/CANARY-a/);
    // A text that was not cut keeps an ordinary ending that happens to start like a secret.
    expect(s.text('see CANARY-api', 500, false)).toBe('see CANARY-api');
  });

  test('spaces and zero width characters before the cut do not hide the piece', () => {
    const body = `${'\u200B'.repeat(40_000)}${' '.repeat(20_000)}${KEY.slice(0, 40)}`;
    expect(s.text(body, 500, true) ?? '').not.toContain(KEY.slice(0, 8));
  });

  test('JWT-shaped text is redacted in linear time, even "-eyJ" repeated', () => {
    const hostile = '-eyJ'.repeat(16_384);
    const t0 = process.hrtime.bigint();
    s.text(hostile, 500);
    s.redact(hostile);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    // Quadratic was 5 s for this input; linear is a few ms (a bound for the DoS, not a speed target).
    expect(ms).toBeLessThan(1000);
    expect(s.redact('a eyJhbGciOiJIUzI1NiJ9.eyJmb28iOiJiYXIifQ.abc b')).toBe('a [REDACTED] b');
  });

  test('a cut never leaves half of a surrogate pair', () => {
    const out = s.text(`${'a'.repeat(498)}😀😀`, 500) ?? '';
    expect(out.endsWith('…')).toBe(true);
    expect(/[\uD800-\uDBFF]…$/.test(out)).toBe(false);
  });
});
