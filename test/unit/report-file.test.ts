/**
 * Appending to the run report file: created 0600, appended to (never truncated), never
 * through a symlink, never into a directory or FIFO, an existing loose mode reported and
 * left alone; write failures are returned (the caller prints a note), never thrown.
 * Real files in a temp directory; failures of write() are injected.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createSanitizer } from '../../src/client/sanitize';
import { recordRuns } from '../../src/cli/commands/record-runs';
import { reportFileNote, type ReportEntry } from '../../src/cli/output/report-line';
import { appendReportLines, reportFileFromEnv, type ReportFs } from '../../src/cli/report-file';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ks-report-file-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const LINE_A = '{"a":1}\n';
const LINE_B = '{"b":2}\n';

test('creates the file 0600 (whatever the umask lets through) and appends lines in order', () => {
  const f = path.join(dir, 'r.jsonl');
  const old = process.umask(0o000);
  try {
    expect(appendReportLines(f, [LINE_A])).toEqual({ written: 1, problems: [] });
  } finally {
    process.umask(old);
  }
  expect(fs.statSync(f).mode & 0o777).toBe(0o600);
  expect(appendReportLines(f, [LINE_B, LINE_A])).toEqual({ written: 2, problems: [] });
  expect(fs.readFileSync(f, 'utf8')).toBe(`${LINE_A}${LINE_B}${LINE_A}`);
});

test('never writes through a symbolic link (the target stays untouched)', () => {
  const target = path.join(dir, 'target');
  fs.writeFileSync(target, 'precious\n', { mode: 0o600 });
  const link = path.join(dir, 'r.jsonl');
  fs.symlinkSync(target, link);
  expect(appendReportLines(link, [LINE_A])).toEqual({ written: 0, problems: [{ kind: 'symlink' }] });
  expect(fs.readFileSync(target, 'utf8')).toBe('precious\n');
  // a dangling link is not followed to create its target either
  const dangling = path.join(dir, 'dangling');
  fs.symlinkSync(path.join(dir, 'would-be-created'), dangling);
  expect(appendReportLines(dangling, [LINE_A]).problems).toEqual([{ kind: 'symlink' }]);
  expect(fs.existsSync(path.join(dir, 'would-be-created'))).toBe(false);
});

test('a directory is refused', () => {
  expect(appendReportLines(dir, [LINE_A])).toEqual({ written: 0, problems: [{ kind: 'not-a-file' }] });
});

test('a FIFO nobody reads is refused at once (no blocking)', () => {
  const fifo = path.join(dir, 'fifo');
  try {
    execFileSync('mkfifo', [fifo]);
  } catch {
    // mkfifo missing: nothing to test here, and the assertion below says so
  }
  expect(fs.statSync(fifo).isFIFO()).toBe(true);
  const started = Date.now();
  expect(appendReportLines(fifo, [LINE_A])).toEqual({ written: 0, problems: [{ kind: 'not-a-file' }] });
  expect(Date.now() - started).toBeLessThan(1000);
});

test('an existing file others can read is written, reported, and its mode left alone', () => {
  const f = path.join(dir, 'r.jsonl');
  fs.writeFileSync(f, '');
  fs.chmodSync(f, 0o644);
  expect(appendReportLines(f, [LINE_A])).toEqual({ written: 1, problems: [{ kind: 'loose-permissions', mode: 0o644 }] });
  expect(fs.statSync(f).mode & 0o777).toBe(0o644);
  expect(reportFileNote(f, { kind: 'loose-permissions', mode: 0o644 })).toBe(`key-sync: note: the run report KEY_SYNC_REPORT=${f} can be read or written by others (mode 0644); key-sync leaves its mode alone: \`chmod 600 ${f}\` (it creates the file 0600 itself)`);
});

test('a missing directory: open-failed with the code, and a note that says to use an absolute path', () => {
  const f = path.join(dir, 'no-such-dir', 'r.jsonl');
  const r = appendReportLines(f, [LINE_A]);
  expect(r).toEqual({ written: 0, problems: [{ kind: 'open-failed', code: 'ENOENT' }] });
  expect(reportFileNote(f, r.problems[0]!)).toMatch(/could not be opened \(ENOENT\); check that its directory exists and is writable \(use an absolute path: Terraform runs key-sync in the stack directory\)$/);
});

/** Real fs, with write() replaced. */
function withWrite(write: (fd: number, b: Uint8Array) => number): ReportFs {
  return { openSync: fs.openSync, fstatSync: fs.fstatSync, closeSync: fs.closeSync, writeSync: write };
}

test('a short write (disk full) is reported and the fragment ended, so the next lines stay whole', () => {
  const f = path.join(dir, 'r.jsonl');
  let calls = 0;
  const io = withWrite((fd, b) => {
    calls++;
    // the first line gets only 3 bytes through
    return calls === 1 ? fs.writeSync(fd, b.subarray(0, 3)) : fs.writeSync(fd, b);
  });
  const r = appendReportLines(f, [LINE_A, LINE_B], io);
  expect(r).toEqual({ written: 1, problems: [{ kind: 'short-write', written: 3, length: LINE_A.length }] });
  expect(fs.readFileSync(f, 'utf8')).toBe(`{"a\n${LINE_B}`);
});

test('a failing write (ENOSPC) is returned, not thrown, with how many lines are missing', () => {
  const f = path.join(dir, 'r.jsonl');
  const io = withWrite(() => {
    throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
  });
  const r = appendReportLines(f, [LINE_A, LINE_B], io);
  expect(r).toEqual({ written: 0, problems: [{ kind: 'write-failed', code: 'ENOSPC', lines: 2 }] });
  expect(reportFileNote(f, r.problems[0]!)).toBe(`key-sync: note: the run report KEY_SYNC_REPORT=${f} is missing 2 lines of this run (ENOSPC)`);
});

test('KEY_SYNC_REPORT: unset or blank means no report', () => {
  expect(reportFileFromEnv({})).toBeUndefined();
  expect(reportFileFromEnv({ KEY_SYNC_REPORT: '  ' })).toBeUndefined();
  expect(reportFileFromEnv({ KEY_SYNC_REPORT: '/r.jsonl' })).toBe('/r.jsonl');
});

describe('recordRuns', () => {
  const CANARY = 'CANARY-apikey-record-runs-0a9b8c7d6e5f';
  const e: ReportEntry = { time: new Date(0), command: 'sync', instanceId: 'i', keyId: 'k', outcome: 'failed', exitCode: 1, retryLater: false, correlationId: 'c', attempts: 1, message: `IAM said ${CANARY}` };

  test('appends one redacted line per entry; nothing without KEY_SYNC_REPORT', () => {
    const f = path.join(dir, 'r.jsonl');
    const notes: string[] = [];
    const err = { write: (s: string) => notes.push(s) };
    recordRuns({}, [e], createSanitizer([CANARY]), err);
    expect(fs.existsSync(f)).toBe(false);
    recordRuns({ KEY_SYNC_REPORT: f }, [e, { ...e, keyId: 'k2' }], createSanitizer([CANARY]), err);
    const text = fs.readFileSync(f, 'utf8');
    expect(text).not.toContain('CANARY');
    expect(text.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { keyId: string; message: string }).keyId)).toEqual(['k', 'k2']);
    expect(notes).toEqual([]);
  });

  test('a problem is a note on stderr (the caller keeps its exit code)', () => {
    const notes: string[] = [];
    recordRuns({ KEY_SYNC_REPORT: dir }, [e], createSanitizer([]), { write: (s: string) => notes.push(s) });
    expect(notes).toEqual([`key-sync: note: the run report KEY_SYNC_REPORT=${dir} was not written: it is not a regular file; point KEY_SYNC_REPORT at a file (it is created if missing)\n`]);
  });
});
