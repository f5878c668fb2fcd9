/**
 * Appending to the run report (KEY_SYNC_REPORT=FILE). Terraform runs ten provisioners
 * at once, so many processes append to one file: each line goes out in one write() of
 * the whole line (newline included) to a file opened O_APPEND, which a local filesystem
 * keeps whole and never interleaves with another process's write.
 *
 * The file is created 0600 (O_CREAT), never through a symbolic link (O_NOFOLLOW), never
 * blocking on a FIFO (O_NONBLOCK); an existing file's mode is never changed, only
 * reported when others can read or write it. Never throws: a problem is returned, the
 * caller prints a note and keeps its exit code.
 */
import * as fs from 'node:fs';

/** The environment variable naming the report file. */
export const REPORT_ENV = 'KEY_SYNC_REPORT';

/** The report file the environment names, if any (unset or blank: no report). */
export function reportFileFromEnv(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const v = env[REPORT_ENV];
  return v === undefined || v.trim() === '' ? undefined : v;
}

/** Why (part of) a report was not written, or what is wrong with the file. */
export type ReportFileProblem =
  | { readonly kind: 'symlink' }
  | { readonly kind: 'not-a-file' }
  | { readonly kind: 'open-failed'; readonly code: string }
  | { readonly kind: 'write-failed'; readonly code: string; readonly lines: number }
  | { readonly kind: 'short-write'; readonly written: number; readonly length: number }
  | { readonly kind: 'loose-permissions'; readonly mode: number };

/** The part of node:fs used here (tests inject failures). */
export interface ReportFs {
  openSync(path: string, flags: number, mode: number): number;
  fstatSync(fd: number): { isFile(): boolean; mode: number };
  writeSync(fd: number, buffer: Uint8Array): number;
  closeSync(fd: number): void;
}

const C = fs.constants;
/** O_NOFOLLOW and O_NONBLOCK do not exist on Windows (0 there: no effect). */
const OPEN_FLAGS = C.O_WRONLY | C.O_APPEND | C.O_CREAT | (C.O_NOFOLLOW ?? 0) | (C.O_NONBLOCK ?? 0);
const FILE_MODE = 0o600;
/** Read or write for group or others. */
const LOOSE_BITS = 0o066;

function codeOf(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'error';
}

/**
 * Appends `lines` (each ending in "\n") to `file`, one write() per line. Returns how many
 * lines were written whole, and the problems met.
 */
export function appendReportLines(file: string, lines: readonly string[], io: ReportFs = fs): { written: number; problems: ReportFileProblem[] } {
  const problems: ReportFileProblem[] = [];
  if (lines.length === 0) return { written: 0, problems };
  let fd: number;
  try {
    fd = io.openSync(file, OPEN_FLAGS, FILE_MODE);
  } catch (e) {
    const code = codeOf(e);
    // ELOOP: O_NOFOLLOW met a symlink (EMLINK on some BSDs); EISDIR/ENXIO: a directory,
    // or a FIFO nobody reads.
    if (code === 'ELOOP' || code === 'EMLINK') problems.push({ kind: 'symlink' });
    else if (code === 'EISDIR' || code === 'ENXIO') problems.push({ kind: 'not-a-file' });
    else problems.push({ kind: 'open-failed', code });
    return { written: 0, problems };
  }
  let written = 0;
  try {
    const st = io.fstatSync(fd);
    if (!st.isFile()) {
      problems.push({ kind: 'not-a-file' });
      return { written, problems };
    }
    if ((st.mode & LOOSE_BITS) !== 0) problems.push({ kind: 'loose-permissions', mode: st.mode & 0o7777 });
    for (let i = 0; i < lines.length; i++) {
      const buf = Buffer.from(lines[i] as string, 'utf8');
      let n: number;
      try {
        n = io.writeSync(fd, buf);
      } catch (e) {
        problems.push({ kind: 'write-failed', code: codeOf(e), lines: lines.length - i });
        break;
      }
      if (n === buf.length) {
        written++;
        continue;
      }
      problems.push({ kind: 'short-write', written: n, length: buf.length });
      // End the fragment, so the lines after it (ours or another process's) stay whole.
      try {
        io.writeSync(fd, Buffer.from('\n'));
      } catch {
        // Nothing more to do: the report will count the fragment as unreadable.
      }
    }
  } catch (e) {
    problems.push({ kind: 'write-failed', code: codeOf(e), lines: lines.length - written });
  } finally {
    try {
      io.closeSync(fd);
    } catch {
      // Closing a descriptor we wrote through: nothing to recover.
    }
  }
  return { written, problems };
}
