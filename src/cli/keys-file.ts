/**
 * The --keys-file format: one key id or alias per line; `#` starts a comment; blank lines
 * are ignored; surrounding blanks (and CR of CRLF files) are trimmed. Pure.
 */
import { checkKeyId } from '../domain';
import { printable } from './flags';

/** Largest --keys-file read (a million keys is about 40 MB; nobody has that many). */
export const KEYS_FILE_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The keys of a --keys-file. A bad line is a usage error naming the file, the line number,
 * the value and the fix. Duplicates are kept once (first place) and counted.
 */
export function parseKeysFile(text: string, file: string): { ok: true; keys: string[]; duplicates: number } | { ok: false; message: string } {
  const keys: string[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const hash = raw.indexOf('#');
    const value = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (value === '') continue;
    const problem = checkKeyId(value);
    if (problem !== undefined) {
      return { ok: false, message: `--keys-file ${printable(file)} line ${i + 1}: "${printable(value)}" ${problem.problem}; ${problem.fix} (one key per line, # for comments)` };
    }
    if (seen.has(value)) {
      duplicates++;
      continue;
    }
    seen.add(value);
    keys.push(value);
  }
  if (keys.length === 0) return { ok: false, message: `--keys-file ${printable(file)} lists no keys; put one key id or alias per line (# for comments)` };
  return { ok: true, keys, duplicates };
}
