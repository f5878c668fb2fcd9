/**
 * The run report through the bundled CLI (child processes) against the emulator:
 * - sync runs append one line each (fleet: one per key), 0600, with notBefore when gated;
 * - 50 processes at once (the CLI itself, and the append module with lines near the cap)
 *   lose no line and tear none;
 * - a report file that cannot be written never changes the sync's exit code;
 * - `key-sync report` exits 0 / 75 / 1 / 2 and names the gated key and the time; absent and
 *   empty files; GitHub annotations and step summary; JUnit XML parsed back;
 * - a canary API key echoed by the server is in none of the files or outputs.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { DEFAULT_SEED, type SeedKey } from '../../src/emulator/seed';
import type { RunningEmulator } from '../../src/emulator/server';
import { rfc3339CeilSeconds } from '../../src/emulator/clock';
import { REPORT_LINE_MAX_BYTES } from '../../src/cli/output/report-line';
import { CANARY_API_KEY, HPCS_INSTANCE, HPCS_KEY, KP_INSTANCE, KP_KEY, cliEnv, expectNoSecrets, runCli, startCanaryEmulator, type CliRun } from '../helpers/cli';

/** Keys fleet-00 ... fleet-49 of the Key Protect instance; the odd ones synced a moment ago (gated). */
const MANY = Array.from({ length: 50 }, (_, i) => `fleet-${String(i).padStart(2, '0')}`);
const MISSING = '11111111-2222-4333-8444-555555555555';

let emu: RunningEmulator;
let dir: string;
let report: string;

beforeEach(async () => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ks-report-')));
  report = path.join(dir, 'key-sync-report.jsonl');
  const synced = new Date().toISOString();
  const keys: SeedKey[] = [
    ...DEFAULT_SEED.keys,
    ...MANY.map((alias, i): SeedKey => ({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, instanceId: KP_INSTANCE, name: alias, aliases: [alias], ...(i % 2 === 1 ? { lastSyncDate: synced } : {}) })),
  ];
  emu = await startCanaryEmulator({ seed: { keys } });
});
afterEach(async () => {
  await emu.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}): Record<string, string> => cliEnv(emu, { KEY_SYNC_REPORT: report, ...extra });

function sync(instance: string, keys: readonly string[], extra: readonly string[] = [], e: Record<string, string> = env()): Promise<CliRun> {
  return runCli(['sync', '--instance-id', instance, ...keys.flatMap((k) => ['--key-id', k]), '--max-wait', '0', ...extra], e);
}

/** `key-sync report` with only PATH, the report's environment and `extra` (no emulator, no network). */
function reportCli(args: readonly string[], extra: Record<string, string> = {}): Promise<CliRun> {
  return runCli(['report', ...args], { PATH: process.env['PATH'] ?? '', ...extra });
}

interface Line {
  v: number;
  time: string;
  command: string;
  instanceId: string;
  keyId: string;
  outcome: string;
  exitCode: number;
  retryLater: boolean;
  notBefore?: string;
  correlationId: string;
  attempts: number;
  status?: number;
  code?: string;
  message: string;
}

function lines(file = report): Line[] {
  const text = fs.readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as Line);
}

function gateOf(keyId: string): string {
  const key = emu.state.findKey(KP_INSTANCE, keyId);
  const opens = key ? emu.state.gateOpensAt(key) : undefined;
  if (opens === undefined) throw new Error(`the gate of ${keyId} is open`);
  return rfc3339CeilSeconds(opens);
}

const human = (rfc3339: string): string => `${rfc3339.replace('T', ' ').replace(/(\.\d+)?Z$/, '')} UTC`;

describe('runs append to KEY_SYNC_REPORT', () => {
  test('a synced and a gated sync: one line each, the file 0600, notBefore the gate time; the output is unchanged', async () => {
    const first = await sync(KP_INSTANCE, [KP_KEY]);
    expect(first.code).toBe(0);
    const second = await sync(KP_INSTANCE, [KP_KEY]);
    expect(second.code).toBe(75);
    expect(second.stderr).toMatch(/^key-sync: not synced yet, key /m);
    expect(second.stderr).not.toContain('note:');
    expect(fs.statSync(report).mode & 0o777).toBe(0o600);
    const [a, b] = lines();
    expect(a).toMatchObject({ v: 1, command: 'sync', instanceId: KP_INSTANCE, keyId: KP_KEY, outcome: 'synced', exitCode: 0, retryLater: false, status: 204, attempts: 1 });
    expect(a).not.toHaveProperty('notBefore');
    expect(b).toMatchObject({ outcome: 'gated', exitCode: 75, retryLater: true, status: 409, code: 'KS_GATED', reasonCode: 'REQ_TOO_EARLY_ERR', notBefore: gateOf(KP_KEY).replace('Z', '.000Z') });
    // the message is the one the CLI printed
    expect(second.stderr).toContain(b!.message);
    expect(first.stdout).toContain(a!.message);
    expect(a!.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(Date.parse(b!.time) - Date.now())).toBeLessThan(60_000);
  });

  test('a fleet sync appends one line per key', async () => {
    const r = await sync(KP_INSTANCE, ['fleet-00', 'fleet-01', MISSING]);
    expect(r.code).toBe(1);
    expect(lines().map((l) => [l.keyId, l.outcome, l.exitCode])).toEqual([['fleet-00', 'synced', 0], ['fleet-01', 'gated', 75], [MISSING, 'failed', 1]]);
  });

  test('--all-registered whose listing fails: one line saying no key was synced', async () => {
    emu.injectFaults('registrations.all', [{ status: 403 }]);
    const r = await runCli(['sync', '--instance-id', KP_INSTANCE, '--all-registered'], env());
    expect(r.code).toBe(1);
    expect(lines()).toEqual([expect.objectContaining({ keyId: '(all registered keys)', outcome: 'failed', exitCode: 1, status: 403, message: expect.stringMatching(/^no key synced: /) })]);
  });

  test('a report file that cannot be written never changes the exit code: a note on stderr', async () => {
    const target = path.join(dir, 'elsewhere');
    fs.writeFileSync(target, '');
    const link = path.join(dir, 'link.jsonl');
    fs.symlinkSync(target, link);
    const viaLink = await sync(KP_INSTANCE, [KP_KEY], [], env({ KEY_SYNC_REPORT: link }));
    expect(viaLink.code).toBe(0);
    expect(viaLink.stderr).toContain(`key-sync: note: the run report KEY_SYNC_REPORT=${link} was not written: it is a symbolic link`);
    expect(fs.readFileSync(target, 'utf8')).toBe('');
    const gated = await sync(KP_INSTANCE, [KP_KEY], [], env({ KEY_SYNC_REPORT: path.join(dir, 'no', 'such', 'dir.jsonl') }));
    expect(gated.code).toBe(75);
    expect(gated.stderr).toMatch(/note: the run report .* could not be opened \(ENOENT\)/);
    const loose = path.join(dir, 'loose.jsonl');
    fs.writeFileSync(loose, '', { mode: 0o644 });
    fs.chmodSync(loose, 0o644);
    const r = await sync(HPCS_INSTANCE, [HPCS_KEY], [], env({ KEY_SYNC_REPORT: loose }));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('can be read or written by others (mode 0644)');
    expect(fs.statSync(loose).mode & 0o777).toBe(0o644);
    expect(lines(loose)).toHaveLength(1);
  });
});

describe('50 processes appending at once', () => {
  test('50 CLI syncs (Terraform-style, one process per key): 50 whole lines, none lost', async () => {
    const runs = await Promise.all(MANY.map((k) => sync(KP_INSTANCE, [k], [], env())));
    expect(runs.map((r) => r.code)).toEqual(MANY.map((_, i) => (i % 2 === 1 ? 75 : 0)));
    const got = lines();
    expect(got).toHaveLength(50);
    expect(new Set(got.map((l) => l.keyId))).toEqual(new Set(MANY));
    expect(new Set(got.map((l) => l.correlationId)).size).toBe(50);
    for (const l of got) expect(l.exitCode).toBe(Number(l.keyId.slice(-2)) % 2 === 1 ? 75 : 0);
    const r = await reportCli([report]);
    expect(r.code).toBe(75);
    expect(r.stdout).toMatch(/50 keys \(50 runs\): 25 succeeded, 25 to retry later, 0 failed\. Nothing is broken: re-run after .* UTC \(in (59 min|1 h)/);
  }, 90_000);

  test('50 processes x 20 lines near the 4 KiB cap through the append module: every line whole, none lost', async () => {
    const bundle = path.join(dir, 'report-file.cjs');
    buildSync({ entryPoints: [path.resolve(__dirname, '../../src/cli/report-file.ts')], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile: bundle, logLevel: 'warning' });
    const worker = path.join(dir, 'worker.js');
    // Each line is one JSON object padded to just under the cap, appended one call at a time.
    fs.writeFileSync(worker, `'use strict';
const { appendReportLines } = require(${JSON.stringify(bundle)});
const [file, id] = process.argv.slice(2);
let failed = 0;
for (let i = 0; i < 20; i++) {
  const head = JSON.stringify({ worker: Number(id), seq: i, pad: '' });
  const pad = ${REPORT_LINE_MAX_BYTES - 1} - Buffer.byteLength(head);
  const line = JSON.stringify({ worker: Number(id), seq: i, pad: String(id % 10).repeat(pad) }) + '\\n';
  const r = appendReportLines(file, [line]);
  if (r.written !== 1) failed++;
}
process.exit(failed);
`);
    const codes = await Promise.all(Array.from({ length: 50 }, (_, id) => new Promise<number | null>((resolve, reject) => {
      const c = spawn(process.execPath, [worker, report, String(id)], { stdio: 'ignore' });
      c.on('error', reject);
      c.on('close', resolve);
    })));
    expect(codes).toEqual(Array.from({ length: 50 }, () => 0));
    const text = fs.readFileSync(report, 'utf8');
    const all = text.slice(0, -1).split('\n');
    expect(all).toHaveLength(1000);
    const seen = new Set<string>();
    for (const l of all) {
      expect(Buffer.byteLength(l) + 1).toBe(REPORT_LINE_MAX_BYTES);
      const o = JSON.parse(l) as { worker: number; seq: number; pad: string };
      expect(o.pad).toBe(String(o.worker % 10).repeat(o.pad.length)); // not mixed with another line
      seen.add(`${o.worker}/${o.seq}`);
    }
    expect(seen.size).toBe(1000);
  }, 90_000);
});

describe('key-sync report', () => {
  test('exit 0 when every key synced', async () => {
    await sync(KP_INSTANCE, ['fleet-00', 'fleet-02']);
    const r = await reportCli([report]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^fleet-00\s+synced\s+1\s+-\s+sync accepted \(204\)/m);
    expect(r.stdout).toMatch(/2 keys \(2 runs\): 2 succeeded, 0 to retry later, 0 failed: every key succeeded \(exit 0\)\n$/);
  });

  test('exit 75 naming the gated key and the time after which a re-run gets through; a key run twice counts by its last run', async () => {
    await sync(KP_INSTANCE, ['fleet-00']);
    await sync(KP_INSTANCE, ['fleet-03']); // gated
    await sync(KP_INSTANCE, ['fleet-00']); // gated now: its last run counts
    const gate = gateOf('fleet-00');
    const r = await reportCli([report]);
    expect(r.code).toBe(75);
    expect(r.stdout).toMatch(new RegExp(`^fleet-00\\s+gated\\s+2 \\(last counts\\)\\s+${human(gate)}\\s+sync time gate closed until ${human(gate)}`, 'm'));
    expect(r.stdout).toMatch(/^fleet-03\s+gated\s+1\s+/m);
    expect(r.stdout).toContain(`re-run after ${human(gate)} (in `);
    expect(r.stdout).toContain('(exit 75)');
  });

  test('exit 1 when a key failed for good, even with others gated', async () => {
    await sync(KP_INSTANCE, ['fleet-01', MISSING]);
    const r = await reportCli([report]);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[1]).toMatch(new RegExp(`^${MISSING}\\s+failed\\s+1\\s+after a fix\\s+key ${MISSING} was not found`));
    expect(r.stdout).toContain('fix the failures; a re-run alone will not get them through (exit 1)');
  });

  test('exit 1 for a torn or foreign line, which is listed and does not crash', async () => {
    await sync(KP_INSTANCE, ['fleet-00']);
    fs.appendFileSync(report, '{"v":1,"command":"sync","instanceId":"x","ke\n\u0000\u0001binary junk\n');
    const r = await reportCli([report]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`key-sync: ${report}: line 2 is not JSON (cut short, or written by something other than key-sync)`);
    expect(r.stdout).toContain(`key-sync: ${report}: line 3 is not JSON`);
    expect(r.stdout).toContain('2 lines unreadable, counted as failed (the run behind them is unknown)');
  });

  test('an empty file: no run acted on a key, exit 0; an absent file: exit 2 and what it means; usage: exit 2', async () => {
    fs.writeFileSync(report, '');
    const empty = await reportCli([report]);
    expect(empty).toMatchObject({ code: 0, stdout: `key-sync: ${report} holds no runs: no key-sync run acted on a key (an apply with nothing to create or replace runs none); nothing failed (exit 0)\n` });
    const absent = await reportCli([path.join(dir, 'absent.jsonl')]);
    expect(absent.code).toBe(2);
    expect(absent.stdout).toBe('');
    expect(absent.stderr).toContain(`key-sync: ${path.join(dir, 'absent.jsonl')} does not exist: no key-sync run appended to it. Either nothing ran`);
    expect(absent.stderr).toContain('Terraform runs key-sync in the stack directory, so give an absolute path');
    const dirGiven = await reportCli([dir]);
    expect(dirGiven.code).toBe(2);
    expect(dirGiven.stderr).toContain('is not a regular file');
    const none = await reportCli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('give the report file: `key-sync report FILE`');
    expect(none.stderr).toContain('Run `key-sync report --help` for usage.');
    // FILE defaults to $KEY_SYNC_REPORT
    expect((await reportCli([], { KEY_SYNC_REPORT: report })).code).toBe(0);
  });

  test('--json: one JSON object', async () => {
    await sync(KP_INSTANCE, ['fleet-00', 'fleet-01']);
    const r = await reportCli([report, '--json']);
    expect(r.code).toBe(75);
    const j = JSON.parse(r.stdout) as { exitCode: number; retryAfter: string; keys: Array<{ keyId: string; verdict: string }> };
    expect(j.exitCode).toBe(75);
    expect(j.retryAfter).toBe(gateOf('fleet-01').replace('Z', '.000Z'));
    expect(j.keys.map((k) => [k.keyId, k.verdict])).toEqual([['fleet-01', 'retry-later'], ['fleet-00', 'succeeded']]);
  });

  test('on GitHub Actions: annotations on stdout (stderr with --json), the Markdown table appended to the step summary, the step outputs', async () => {
    await sync(KP_INSTANCE, ['fleet-00', 'fleet-01', MISSING]);
    const summary = path.join(dir, 'step-summary.md');
    fs.writeFileSync(summary, '# earlier step\n');
    const outputs = path.join(dir, 'github-output');
    const gh = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: outputs };
    const r = await reportCli([report], gh);
    expect(r.code).toBe(1);
    const annotations = r.stdout.split('\n').filter((l) => l.startsWith('::'));
    expect(annotations).toHaveLength(2);
    expect(annotations[0]).toMatch(new RegExp(`^::error title=key-sync%3A sync ${MISSING} failed::sync of key ${MISSING} \\(instance ${KP_INSTANCE}\\): key ${MISSING} was not found`));
    expect(annotations[1]).toMatch(new RegExp(`^::warning title=key-sync%3A sync fleet-01 gated::sync of key fleet-01 .*; retry after ${human(gateOf('fleet-01'))} \\(in .*\\) \\[correlation id [0-9a-f-]{36}\\]$`));
    const md = fs.readFileSync(summary, 'utf8');
    expect(md.startsWith('# earlier step\n### key-sync: 1 failure to fix\n\n| Key | Outcome | Runs | Retry after | Message |\n| --- | --- | --- | --- | --- |\n')).toBe(true);
    expect(md).toContain(`| fleet-01 | gated | 1 | ${human(gateOf('fleet-01'))} | sync time gate closed until`);
    expect(fs.readFileSync(outputs, 'utf8')).toBe(`outcome=failed\nexit-code=1\nretry-after=${gateOf('fleet-01').replace('Z', '.000Z')}\n`);

    const j = await reportCli([report, '--json'], gh);
    expect(JSON.parse(j.stdout)).toMatchObject({ exitCode: 1 });
    expect(j.stderr.split('\n').filter((l) => l.startsWith('::'))).toHaveLength(2);
    // --github outside Actions: annotations, and a note that there is no step summary
    const flag = await reportCli([report, '--github']);
    expect(flag.stdout.split('\n').filter((l) => l.startsWith('::'))).toHaveLength(2);
    expect(flag.stderr).toContain('GITHUB_STEP_SUMMARY is not set');
  });

  test('--junit OUT: XML that parses back, one test case per key; an unwritable OUT is exit 2', async () => {
    await sync(KP_INSTANCE, ['fleet-00', 'fleet-01', MISSING]);
    const out = path.join(dir, 'junit.xml');
    const r = await reportCli([report, '--junit', out]);
    expect(r.code).toBe(1);
    const xml = fs.readFileSync(out, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'testcase' }).parse(xml) as { testsuites: { tests: string; failures: string; skipped: string; testsuite: { testcase: Array<Record<string, unknown>> } } };
    expect(doc.testsuites).toMatchObject({ tests: '3', failures: '1', skipped: '1' });
    const cases = doc.testsuites.testsuite.testcase;
    expect(cases.map((c) => c['name'])).toEqual([`key ${MISSING} (instance ${KP_INSTANCE})`, `key fleet-01 (instance ${KP_INSTANCE})`, `key fleet-00 (instance ${KP_INSTANCE})`]);
    expect(cases[0]).toMatchObject({ failure: { type: 'KS_NOT_FOUND' } });
    expect(cases[1]).toMatchObject({ skipped: { message: expect.stringMatching(new RegExp(`^retry after ${human(gateOf('fleet-01'))}: sync time gate closed`)) } });
    const bad = await reportCli([report, '--junit', path.join(dir, 'no', 'dir', 'j.xml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--junit .* could not be written \(ENOENT\)/);
  });
});

describe('no credential anywhere', () => {
  test('a server message echoing the API key: not in the report, the table, the annotations, the summary or the JUnit file', async () => {
    const body = { metadata: { collectionType: 'application/vnd.ibm.kms.error+json', collectionTotal: 1 }, resources: [{ errorMsg: `Forbidden for apikey ${CANARY_API_KEY}`, reasons: [{ code: 'FORBIDDEN_ERR', message: `caller ${CANARY_API_KEY} lacks Writer; token Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig`, status: 403 }] }] };
    emu.injectFaults('keys.sync', [{ status: 403, body }]);
    const run = await sync(KP_INSTANCE, [KP_KEY]);
    expect(run.code).toBe(1);
    expectNoSecrets(run);
    const summary = path.join(dir, 'summary.md');
    const junit = path.join(dir, 'junit.xml');
    const r = await reportCli([report, '--junit', junit], { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary, IBMCLOUD_API_KEY: CANARY_API_KEY });
    expect(r.code).toBe(1);
    expectNoSecrets(r);
    for (const f of [report, summary, junit]) {
      const text = fs.readFileSync(f, 'utf8');
      expect({ f, canary: text.includes('CANARY-apikey') || text.includes(CANARY_API_KEY.slice(-20)), jwt: /eyJ[A-Za-z0-9_-]{8,}/.test(text) }).toEqual({ f, canary: false, jwt: false });
    }
    expect(fs.readFileSync(report, 'utf8')).toContain('FORBIDDEN_ERR');
  });

  test('a report file that holds a credential anyway (tampered, or old) has it redacted on the way out', async () => {
    fs.writeFileSync(report, `${JSON.stringify({ v: 1, command: 'sync', instanceId: KP_INSTANCE, keyId: KP_KEY, outcome: 'failed', exitCode: 1, message: `leaked ${CANARY_API_KEY} here`, code: CANARY_API_KEY })}\n`);
    const summary = path.join(dir, 'summary.md');
    const junit = path.join(dir, 'junit.xml');
    const r = await reportCli([report, '--junit', junit, '--github'], { GITHUB_STEP_SUMMARY: summary, GITHUB_ACTIONS: 'true', IBMCLOUD_API_KEY: CANARY_API_KEY });
    expect(r.code).toBe(1);
    expectNoSecrets(r);
    expect(r.stdout).toContain('leaked [REDACTED] here');
    for (const f of [summary, junit]) expect(fs.readFileSync(f, 'utf8')).not.toContain(CANARY_API_KEY);
    const j = await reportCli([report, '--json'], { IBMCLOUD_API_KEY: CANARY_API_KEY });
    expectNoSecrets(j);
  });
});
