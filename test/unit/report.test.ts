/**
 * The run report, pure parts: the line a run appends (fields, cap, redaction), reading it
 * back defensively, the verdict and exit code of `key-sync report` for each mix of
 * outcomes, and its renderings (table, JSON, GitHub annotations in GitHub's exact syntax,
 * step summary Markdown, JUnit XML parsed back). Clocks are injected.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { createSanitizer } from '../../src/client/sanitize';
import type { SyncResult } from '../../src/client/kms-client';
import { HELP, helpText } from '../../src/cli/help';
import { parseCommand } from '../../src/cli/parse-command';
import { REPORT_LINE_MAX_BYTES, reportLine, syncReportEntry, type ReportEntry } from '../../src/cli/output/report-line';
import {
  escapeData,
  escapeProperty,
  githubAnnotations,
  githubOutputs,
  junitXml,
  markdownCell,
  reportJson,
  reportTable,
  reportVerdict,
  stepSummary,
  workflowCommand,
  xmlAttr,
  xmlText,
} from '../../src/cli/output/report';
import { parseReport, parseReportLine, summarize, type ReportSummary } from '../../src/cli/report-summary';

const INST = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const INST2 = '6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73';
const KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const CANARY = 'CANARY-apikey-report-unit-5f4e3d2c1b0a99887766';
const NOW = Date.parse('2026-11-28T20:37:00Z');
const GATE = new Date('2026-11-28T21:38:43Z');
const sanitizer = createSanitizer([CANARY]);
const clean = (s: string): string => sanitizer.text(s, 4000) ?? '';

function entry(over: Partial<ReportEntry> = {}): ReportEntry {
  return {
    time: new Date(NOW),
    command: 'sync',
    instanceId: INST,
    keyId: KEY,
    outcome: 'synced',
    exitCode: 0,
    retryLater: false,
    correlationId: '11111111-2222-4333-8444-555555555555',
    attempts: 1,
    status: 204,
    message: 'sync accepted (204): the service is re-notifying the key\'s associated resources',
    ...over,
  };
}

const gated = (keyId: string, notBefore = GATE): ReportEntry => entry({ keyId, outcome: 'gated', exitCode: 75, retryLater: true, notBefore, status: 409, code: 'KS_GATED', reasonCode: 'REQ_TOO_EARLY_ERR', message: `sync time gate closed until ${notBefore.toISOString()}` });
const transient = (keyId: string): ReportEntry => entry({ keyId, outcome: 'failed', exitCode: 75, retryLater: true, status: 503, code: 'KS_HTTP_5XX', message: 'gave up after 5 attempts; retry later' });
const forbidden = (keyId: string): ReportEntry => entry({ keyId, outcome: 'failed', exitCode: 1, status: 403, code: 'KS_FORBIDDEN', message: 'not allowed to sync (403); the credentials need the Writer or Manager role' });
const synced = (keyId: string): ReportEntry => entry({ keyId });

function summaryOf(entries: readonly ReportEntry[], extra = ''): ReportSummary {
  const text = entries.map((e) => reportLine(e, sanitizer.redact)).join('') + extra;
  const { runs, unreadable } = parseReport(text, clean);
  return summarize(runs, unreadable);
}

describe('the line a run appends', () => {
  test('one JSON object with the documented fields, ending in a newline', () => {
    const line = reportLine(gated('payments-root'), sanitizer.redact);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(JSON.parse(line)).toEqual({
      v: 1,
      time: '2026-11-28T20:37:00.000Z',
      command: 'sync',
      instanceId: INST,
      keyId: 'payments-root',
      outcome: 'gated',
      exitCode: 75,
      retryLater: true,
      notBefore: '2026-11-28T21:38:43.000Z',
      correlationId: '11111111-2222-4333-8444-555555555555',
      attempts: 1,
      status: 409,
      code: 'KS_GATED',
      reasonCode: 'REQ_TOO_EARLY_ERR',
      message: 'sync time gate closed until 2026-11-28T21:38:43.000Z',
    });
  });

  test('from a sync result: the message is the one the CLI prints (syncMessage), notBefore only when not synced', () => {
    const r: SyncResult = {
      outcome: 'gated', correlationId: 'c-1', attempts: 1, iamAttempts: 1, waitedMs: 0, phase: 'done', status: 409, code: 'KS_GATED', reasonCode: 'REQ_TOO_EARLY_ERR', retryLater: true, maxWaitSeconds: 0,
      gate: { notBefore: GATE, opensInMs: 3_703_000, clockSkewMs: 120_000 },
    };
    const e = syncReportEntry(r, { keyId: KEY, instanceId: INST, credentialEnv: 'IBMCLOUD_API_KEY', extraCaCerts: false, keyRing: 'default' }, new Date(NOW));
    expect(e).toMatchObject({ command: 'sync', outcome: 'gated', exitCode: 75, notBefore: GATE, clockSkewMs: 120_000, keyRing: 'default', attempts: 1, correlationId: 'c-1' });
    expect(e.message).toMatch(/^sync time gate closed until 2026-11-28 21:38:43 UTC, in 1 h 1 min \(by the key service's clock/);
    const ok = syncReportEntry({ ...r, outcome: 'synced', status: 204, retryLater: false }, { keyId: KEY, instanceId: INST, credentialEnv: 'X', extraCaCerts: false }, new Date(NOW));
    expect(ok.exitCode).toBe(0);
    expect(ok.notBefore).toBeUndefined();
  });

  test('a credential in the message is redacted, even one the cap would cut through', () => {
    for (const pad of [0, 3900, REPORT_LINE_MAX_BYTES - 480, REPORT_LINE_MAX_BYTES - 440]) {
      const line = reportLine(entry({ message: `${'x'.repeat(pad)} IAM said ${CANARY} and Bearer abc.def.ghi` }), sanitizer.redact);
      expect(line).not.toContain('CANARY');
      expect(line).not.toContain('abc.def');
      expect(line).not.toMatch(/CANARY|apikey-report|5f4e3d2c/);
      expect(JSON.parse(line)).toMatchObject({ keyId: KEY });
    }
  });

  test.each([
    ['ascii', 'a'],
    ['2-byte', 'é'],
    ['3-byte', '€'],
    ['astral', '😀'],
    ['escaped by JSON', '"\\'],
    ['control (\\u0001 escapes to 6 bytes)', '\u0001'],
  ])('a long message is cut with "…" so the line stays under the cap: %s', (_what, ch) => {
    const line = reportLine(entry({ message: ch.repeat(20_000) }), (s) => s);
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(REPORT_LINE_MAX_BYTES);
    expect(Buffer.byteLength(line)).toBeGreaterThan(REPORT_LINE_MAX_BYTES - 16);
    const parsed = JSON.parse(line) as { message: string; exitCode: number };
    expect(parsed.message.endsWith('…')).toBe(true);
    expect(parsed.exitCode).toBe(0);
    expect(parsed.message).not.toMatch(/[\ud800-\udbff]…$/); // never half a surrogate pair
  });

  test('a short message is left alone', () => {
    expect(JSON.parse(reportLine(entry({ message: 'fine' }), (s) => s)).message).toBe('fine');
  });
});

describe('reading lines back defensively', () => {
  test.each<[string, string, Record<string, unknown>]>([
    ['cut short', '{"v":1,"command":"sync","instanceId":"x","keyId":"k","outcome":"synced","exitCo', { problem: 'not-json' }],
    ['garbage', 'hello world', { problem: 'not-json' }],
    ['an array', '[1,2]', { problem: 'not-an-object' }],
    ['a number', '42', { problem: 'not-an-object' }],
    ['no key', '{"command":"sync","instanceId":"i","outcome":"synced","exitCode":0}', { problem: 'missing-field', field: 'keyId' }],
    ['no exit code', '{"command":"sync","instanceId":"i","keyId":"k","outcome":"synced"}', { problem: 'missing-field', field: 'exitCode' }],
    ['exit code a string', '{"command":"sync","instanceId":"i","keyId":"k","outcome":"synced","exitCode":"0"}', { problem: 'bad-field', field: 'exitCode' }],
    ['exit code out of range', '{"command":"sync","instanceId":"i","keyId":"k","outcome":"synced","exitCode":999}', { problem: 'bad-field', field: 'exitCode' }],
    ['key only control characters', '{"command":"sync","instanceId":"i","keyId":"\\u0007","outcome":"synced","exitCode":0}', { problem: 'bad-field', field: 'keyId' }],
    ['too long', `{"command":"sync","instanceId":"i","keyId":"k","outcome":"synced","exitCode":0,"message":"${'m'.repeat(20_000)}"}`, { problem: 'too-long' }],
  ])('%s -> unreadable', (_what, text, expected) => {
    expect(parseReportLine(text, 3, clean)).toEqual({ line: 3, ...expected });
  });

  test('strings are cleaned: control characters and credentials never come back out', () => {
    const r = parseReportLine(JSON.stringify({ command: 'sync', instanceId: INST, keyId: 'k\u001b[31m', outcome: 'failed', exitCode: 1, message: `x ${CANARY} \u001b]0;title\u0007 y`, notBefore: 'not a date', attempts: 'many' }), 1, clean);
    expect(r).toMatchObject({ keyId: 'k [31m', exitCode: 1, message: 'x [REDACTED] ]0;title y' });
    expect(r).not.toHaveProperty('notBefore');
    expect(r).not.toHaveProperty('attempts');
  });

  test('blank lines are skipped; line numbers are the file\'s', () => {
    const text = `\n${reportLine(synced('a-key'), (s) => s)}\n   \nnot json\n${reportLine(synced('b-key'), (s) => s)}`;
    const { runs, unreadable } = parseReport(text, clean);
    expect(runs.map((r) => [r.keyId, r.line])).toEqual([['a-key', 2], ['b-key', 6]]);
    expect(unreadable).toEqual([{ line: 5, problem: 'not-json' }]);
  });

  test('a last line without its newline still counts when it is whole', () => {
    const line = reportLine(synced('a-key'), (s) => s).trimEnd();
    expect(parseReport(line, clean).runs).toHaveLength(1);
  });
});

describe('the exit code of `key-sync report` for each mix of outcomes', () => {
  test.each<[string, ReportEntry[], string, number]>([
    ['no runs', [], '', 0],
    ['all synced', [synced('a1'), synced('b1')], '', 0],
    ['one gated', [synced('a1'), gated('b1')], '', 75],
    ['only transient', [transient('a1')], '', 75],
    ['gated and transient', [gated('a1'), transient('b1')], '', 75],
    ['one permanent', [synced('a1'), forbidden('b1')], '', 1],
    ['permanent among gated', [gated('a1'), forbidden('b1'), transient('c1')], '', 1],
    ['an unreadable line among successes', [synced('a1')], 'garbage\n', 1],
    ['an unreadable line among gated', [gated('a1')], '{"cut\n', 1],
    ['only an unreadable line', [], '{"cut\n', 1],
    ['gated, then synced on a later run: the last run counts', [gated('a1'), synced('a1')], '', 0],
    ['synced, then gated: the last run counts', [synced('a1'), gated('a1')], '', 75],
    ['forbidden, then synced after a fix', [forbidden('a1'), synced('a1')], '', 0],
    ['a UUID in two cases is one key', [gated(KEY), synced(KEY.toUpperCase())], '', 0],
    ['the same alias in two instances is two keys', [gated('a1'), { ...synced('a1'), instanceId: INST2 }], '', 75],
    ['sync and rotate of one key are two runs that both count', [synced('a1'), { ...forbidden('a1'), command: 'rotate' }], '', 1],
    ['rotate outcomes, judged by their exit codes', [{ ...synced('a1'), command: 'rotate', outcome: 'already-rotated' }, { ...gated('b1'), command: 'rotate' }], '', 75],
    ['an exit code that is neither 0 nor 75 is permanent', [{ ...synced('a1'), outcome: 'usage', exitCode: 2 }], '', 1],
  ])('%s -> %i', (_what, entries, extra, code) => {
    expect(summaryOf(entries, extra).exitCode).toBe(code);
  });

  test('counts per key, worst first, with how many runs each', () => {
    const s = summaryOf([synced('a1'), gated('b1'), gated('b1'), forbidden('c1'), gated('b1')]);
    expect(s.keys.map((k) => [k.last.keyId, k.verdict, k.runs])).toEqual([['c1', 'failed', 1], ['b1', 'retry-later', 3], ['a1', 'succeeded', 1]]);
    expect(s.counts).toEqual({ succeeded: 1, retryLater: 1, failed: 1 });
    expect(s.runs).toBe(5);
  });

  test('retry after: the latest notBefore among the last runs of keys to retry later', () => {
    const early = new Date('2026-11-28T21:00:00Z');
    const late = new Date('2026-11-28T22:15:00Z');
    // b1's earlier gate (latest of all) no longer counts: its last run synced
    const s = summaryOf([gated('a1', early), gated('b1', new Date('2026-11-29T01:00:00Z')), synced('b1'), gated('c1', late), transient('d1')]);
    expect(s.retryAfter).toEqual({ at: late, clockSkewMs: 0, keyId: 'c1' });
    expect(s.retryLaterWithoutTime).toBe(1);
  });
});

describe('what it prints', () => {
  test('the verdict: retry after T, in how long (injected clock), exit 75', () => {
    const s = summaryOf([synced('a1'), gated('payments-root')]);
    expect(reportVerdict(s, 'r.jsonl', NOW)).toBe(
      '2 keys (2 runs): 1 succeeded, 1 to retry later, 0 failed. Nothing is broken: re-run after 2026-11-28 21:38:43 UTC (in 1 h 1 min) and it gets through (exit 75)',
    );
    expect(reportVerdict(s, 'r.jsonl', GATE.getTime() + 90_000)).toContain('re-run after 2026-11-28 21:38:43 UTC (passed 1 min 30 s ago: a re-run now gets through)');
  });

  test('"in how long" is measured on the service\'s clock when it was skewed', () => {
    const s = summaryOf([{ ...gated('a1'), clockSkewMs: 30 * 60_000 }]);
    expect(reportVerdict(s, 'r.jsonl', NOW)).toContain('(in 31 min 43 s)');
  });

  test('transient failures with no time: re-run when the service recovers', () => {
    expect(reportVerdict(summaryOf([transient('a1')]), 'f', NOW)).toBe('1 key (1 run): 0 succeeded, 1 to retry later, 0 failed. Nothing is broken: 1 key failed transiently with no time named: re-run when the service recovers (exit 75)');
  });

  test('an empty file: what it means, exit 0', () => {
    expect(reportVerdict(summaryOf([]), 'r.jsonl', NOW)).toBe('r.jsonl holds no runs: no key-sync run acted on a key (an apply with nothing to create or replace runs none); nothing failed (exit 0)');
  });

  test('the table says which key ran several times, and lists unreadable lines', () => {
    const out = reportTable(summaryOf([gated('payments-root'), gated('payments-root'), synced('analytics-root')], 'oops\n'), 'r.jsonl', NOW);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^KEY\s+OUTCOME\s+RUNS\s+RETRY AFTER\s+MESSAGE$/);
    expect(lines[1]).toMatch(/^payments-root\s+gated\s+2 \(last counts\)\s+2026-11-28 21:38:43 UTC\s+sync time gate closed/);
    expect(lines[2]).toMatch(/^analytics-root\s+synced\s+1\s+-\s+sync accepted/);
    expect(lines[3]).toBe('key-sync: r.jsonl: line 4 is not JSON (cut short, or written by something other than key-sync)');
    expect(lines[4]).toMatch(/a key that ran several times counts by its last run.*1 line unreadable, counted as failed.*\(exit 1\)$/);
  });

  test('instance and command columns appear only when they vary', () => {
    const out = reportTable(summaryOf([gated('a1'), { ...synced('a1'), instanceId: INST2, command: 'rotate', outcome: 'rotated' }]), 'r', NOW);
    expect(out.split('\n')[0]).toMatch(/^KEY\s+INSTANCE\s+COMMAND\s+OUTCOME\s+RUNS\s+RETRY AFTER\s+MESSAGE$/);
    expect(out).toMatch(/a1\s+6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73\s+rotate\s+rotated/);
  });

  test('--json: outcome, exit code, retry after and every key', () => {
    const j = reportJson(summaryOf([synced('a1'), gated('b1')]), 'r.jsonl', NOW);
    expect(j).toMatchObject({ outcome: 'retry-later', exitCode: 75, retryAfter: '2026-11-28T21:38:43.000Z', retryInMs: GATE.getTime() - NOW, counts: { runs: 2, keys: 2, succeeded: 1, retryLater: 1, failed: 0, unreadable: 0 } });
    expect((j.keys as Array<{ keyId: string; verdict: string }>).map((k) => [k.keyId, k.verdict])).toEqual([['b1', 'retry-later'], ['a1', 'succeeded']]);
  });
});

describe('GitHub workflow commands', () => {
  test('escaping as @actions/core does: data % CR LF; properties also : and ,', () => {
    expect(escapeData('100% done\r\nnext: a, b')).toBe('100%25 done%0D%0Anext: a, b');
    expect(escapeProperty('100% done\r\nnext: a, b')).toBe('100%25 done%0D%0Anext%3A a%2C b');
    // % first, so an escape already in the text is not taken for one
    expect(escapeData('%0A')).toBe('%250A');
    expect(escapeProperty('%3A')).toBe('%253A');
  });

  test('::warning title=...::message, properties joined by commas, empty ones left out', () => {
    expect(workflowCommand('warning', [['file', 'main.ts'], ['title', 'a: b, c']], 'x\ny')).toBe('::warning file=main.ts,title=a%3A b%2C c::x%0Ay');
    expect(workflowCommand('error', [['file', undefined], ['title', 't']], 'm')).toBe('::error title=t::m');
    expect(workflowCommand('notice', [], 'm: n')).toBe('::notice::m: n');
  });

  test('one annotation per key that did not succeed: warning to retry later, error when failed; one per unreadable line', () => {
    const s = summaryOf([synced('ok-key'), gated('payments-root'), gated('payments-root'), forbidden('bad-key'), transient('flaky-key')], '{"cut\n');
    const lines = githubAnnotations(s, 'r.jsonl', NOW).split('\n').filter((l) => l !== '');
    expect(lines).toEqual([
      '::error title=key-sync%3A sync bad-key failed::sync of key bad-key (instance 0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20): not allowed to sync (403); the credentials need the Writer or Manager role [correlation id 11111111-2222-4333-8444-555555555555]',
      '::warning title=key-sync%3A sync payments-root gated::sync of key payments-root (instance 0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20) (the last of 2 runs): sync time gate closed until 2026-11-28T21:38:43.000Z; retry after 2026-11-28 21:38:43 UTC (in 1 h 1 min) [correlation id 11111111-2222-4333-8444-555555555555]',
      '::warning title=key-sync%3A sync flaky-key failed (retry later)::sync of key flaky-key (instance 0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20): gave up after 5 attempts; retry later [correlation id 11111111-2222-4333-8444-555555555555]',
      '::error title=key-sync report%3A unreadable line 6::r.jsonl: line 6 is not JSON (cut short, or written by something other than key-sync); it counts as failed',
    ]);
  });

  test('a message holding CR, LF or % cannot end the command early', () => {
    const s = summarize([{ line: 1, command: 'sync', instanceId: INST, keyId: 'k1', outcome: 'failed', exitCode: 1, message: 'a\r\n::error::forged 100%' }], []);
    const out = githubAnnotations(s, 'f', NOW);
    expect(out.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(out).toContain('a%0D%0A::error::forged 100%25');
  });

  test('step outputs for $GITHUB_OUTPUT: outcome, exit-code, retry-after', () => {
    expect(githubOutputs(summaryOf([synced('a1'), gated('b1')]))).toBe('outcome=retry-later\nexit-code=75\nretry-after=2026-11-28T21:38:43.000Z\n');
    expect(githubOutputs(summaryOf([synced('a1')]))).toBe('outcome=succeeded\nexit-code=0\nretry-after=\n');
    expect(githubOutputs(summaryOf([forbidden('a1')]))).toBe('outcome=failed\nexit-code=1\nretry-after=\n');
  });

  test('step summary: a headline, a Markdown table, the verdict; cells cannot break the table', () => {
    const s = summaryOf([gated('payments-root'), synced('analytics-root'), entry({ keyId: 'odd-key', outcome: 'failed', exitCode: 1, message: 'pipe | and <b>html</b> and [link](http://x) and *stars*' })]);
    const md = stepSummary(s, 'r.jsonl', NOW);
    const lines = md.split('\n');
    expect(lines[0]).toBe('### key-sync: 1 failure to fix');
    expect(lines[2]).toBe('| Key | Outcome | Runs | Retry after | Message |');
    expect(lines[3]).toBe('| --- | --- | --- | --- | --- |');
    expect(lines[4]).toBe('| odd-key | failed | 1 | after a fix | pipe \\| and &lt;b&gt;html&lt;/b&gt; and \\[link\\](http://x) and \\*stars\\* |');
    expect(lines[5]).toBe('| payments-root | gated | 1 | 2026-11-28 21:38:43 UTC | sync time gate closed until 2026-11-28T21:38:43.000Z |');
    // every table row has exactly as many unescaped pipes as the header
    for (const row of lines.slice(2, 7)) expect(row.replace(/\\\|/g, '').split('|')).toHaveLength(7);
    expect(stepSummary(summaryOf([gated('a1')]), 'r', NOW).split('\n')[0]).toBe('### key-sync: nothing is broken, retry after 2026-11-28 21:38:43 UTC');
    expect(stepSummary(summaryOf([synced('a1')]), 'r', NOW).split('\n')[0]).toBe('### key-sync: every key succeeded');
    expect(markdownCell('a\r\nb')).toBe('a b');
  });
});

describe('JUnit XML', () => {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'testcase' });

  function parsed(xml: string): { testsuites: Record<string, string> & { testsuite: Record<string, string> & { testcase: Array<Record<string, unknown>>; properties: { property: Array<Record<string, string>> | Record<string, string> } } } } {
    expect(XMLValidator.validate(xml)).toBe(true);
    return parser.parse(xml) as never;
  }

  test('one test case per key: gated is skipped with the reason, permanent is a failure, unreadable an error', () => {
    const s = summaryOf([synced('ok-key'), gated('payments-root'), forbidden('bad-key')], 'nope\n');
    const doc = parsed(junitXml(s, 'r.jsonl', NOW));
    expect(doc.testsuites).toMatchObject({ name: 'key-sync', tests: '4', failures: '1', errors: '1', skipped: '1' });
    const suite = doc.testsuites.testsuite;
    expect(suite).toMatchObject({ tests: '4', failures: '1', errors: '1', skipped: '1', timestamp: '2026-11-28T20:37:00' });
    const cases = suite.testcase;
    expect(cases.map((c) => c['name'])).toEqual([`key bad-key (instance ${INST})`, `key payments-root (instance ${INST})`, `key ok-key (instance ${INST})`, 'r.jsonl line 4']);
    expect(cases[0]).toMatchObject({ classname: 'key-sync.sync', failure: { type: 'KS_FORBIDDEN', message: expect.stringContaining('not allowed to sync (403)') } });
    expect(cases[1]).toMatchObject({ skipped: { message: 'retry after 2026-11-28 21:38:43 UTC: sync time gate closed until 2026-11-28T21:38:43.000Z' } });
    expect(cases[2]).not.toHaveProperty('failure');
    expect(cases[2]).not.toHaveProperty('skipped');
    expect(cases[3]).toMatchObject({ classname: 'key-sync.report', error: { type: 'unreadable-line' } });
  });

  test('markup, quotes, control characters and lone surrogates in a message stay well-formed and come back as written', () => {
    const nasty = 'a < b && c > d "quoted" \'single\' ]]> <!-- x --> \ud800 end';
    const s = summarize([{ line: 1, command: 'sync', instanceId: INST, keyId: 'k1', outcome: 'failed', exitCode: 1, code: 'X"<', message: nasty }], []);
    const xml = junitXml(s, 'dir/<weird>&"name".jsonl', NOW);
    const doc = parsed(xml);
    const c = doc.testsuites.testsuite.testcase[0] as { failure: { message: string; type: string } };
    expect(c.failure.message).toBe(nasty.replace('\ud800', '\ufffd'));
    expect(c.failure.type).toBe('X"<');
    expect(doc.testsuites.testsuite['name']).toBe('key-sync report dir/<weird>&"name".jsonl');
    expect(xmlText('\u0001\u000b\ufffe')).toBe('\ufffd\ufffd\ufffd');
    expect(xmlAttr('a\nb\tc\rd')).toBe('a&#10;b&#9;c&#13;d');
  });

  test('retry after and the exit code are properties of the suite', () => {
    const doc = parsed(junitXml(summaryOf([gated('a1')]), 'r', NOW));
    const props = doc.testsuites.testsuite.properties.property as Array<Record<string, string>>;
    expect(props).toEqual([{ name: 'exitCode', value: '75' }, { name: 'retryAfter', value: '2026-11-28T21:38:43.000Z' }]);
  });

  test('an empty report is an empty suite', () => {
    const doc = parsed(junitXml(summaryOf([]), 'r', NOW));
    expect(doc.testsuites).toMatchObject({ tests: '0', failures: '0', errors: '0', skipped: '0' });
  });
});

describe('key-sync report: arguments', () => {
  test.each<[string[], Record<string, string>, Record<string, unknown>]>([
    [['report', 'r.jsonl'], {}, { file: 'r.jsonl', json: false, github: false }],
    [['report'], { KEY_SYNC_REPORT: '/tmp/r.jsonl' }, { file: '/tmp/r.jsonl' }],
    [['report', 'r.jsonl', '--json', '--junit', 'out.xml'], {}, { json: true, junit: 'out.xml' }],
    [['report', 'r.jsonl', '--github'], {}, { github: true, githubFlag: true }],
    [['report', 'r.jsonl'], { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: '/s.md', GITHUB_OUTPUT: '/o' }, { github: true, githubFlag: false, stepSummary: '/s.md', stepOutputs: '/o' }],
    [['report', 'r.jsonl'], { GITHUB_STEP_SUMMARY: '/s.md', GITHUB_OUTPUT: '/o' }, { github: false }],
  ])('%j with %j', (argv, env, expected) => {
    const c = parseCommand(argv, env);
    expect(c.kind).toBe('report');
    expect(c.kind === 'report' ? c.config : undefined).toMatchObject(expected);
  });

  test.each<[string[], Record<string, string>, RegExp]>([
    [['report'], {}, /give the report file: `key-sync report FILE`, the file KEY_SYNC_REPORT named/],
    [['report', 'a', 'b'], {}, /reads one file; got 2 \("a", "b"\)/],
    [['report', 'r.jsonl', '--junit'], {}, /--junit needs a value/],
    [['report', 'r.jsonl', '--junit', ' '], {}, /--junit needs a file name/],
    [['report', 'r.jsonl', '--junit', './r.jsonl'], {}, /--junit "\.\/r\.jsonl" is the report file itself/],
    [['report', 'r.jsonl', '--jsno'], {}, /unknown flag --jsno for `key-sync report`; did you mean --json\?/],
  ])('%j -> usage error', (argv, env, message) => {
    const c = parseCommand(argv, env);
    expect(c).toMatchObject({ kind: 'usage-error', topic: 'report', message: expect.stringMatching(message) });
  });

  test('help', () => {
    expect(parseCommand(['report', '--help'], {})).toEqual({ kind: 'help', topic: 'report' });
    expect(parseCommand(['help', 'report'], {})).toEqual({ kind: 'help', topic: 'report' });
  });
});

test('the help page of report says what an absent or empty file means and every exit code', () => {
  const h = helpText('report');
  for (const s of ['key-sync report [FILE] [--json] [--github] [--junit OUT]', 'does not exist is an error (exit 2)', 'An empty file means no run acted on a\nkey', '  75  the only failures are retry-later ones', 'GITHUB_ACTIONS=true', '$GITHUB_STEP_SUMMARY']) expect(h).toContain(s);
  expect(HELP).toMatch(/^ {2}report {8}summarize the run report/m);
  expect(HELP).toContain('KEY_SYNC_REPORT');
});
