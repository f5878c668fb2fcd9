/**
 * The documentation blocks e2e tests run as written. Each is a fenced block right after
 * a marker line `<!-- e2e: NAME -->` (blank lines between them allowed), in README.md,
 * where the marker must occur exactly once.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** The files searched, in order. */
export function docFiles(): string[] {
  return [path.join(ROOT, 'README.md')];
}

export interface DocBlock {
  /** The block's text, without its fences. */
  readonly text: string;
  /** The fence's info string (`sh`, `ts`, `json`). */
  readonly lang: string;
  /** Where it was found, relative to the repository root. */
  readonly file: string;
}

/** The marker line of a block. */
export function marker(name: string): string {
  return `<!-- e2e: ${name} -->`;
}

/** The block after `<!-- e2e: NAME -->`; throws, naming the files searched, when there is none. */
export function docBlock(name: string): DocBlock {
  const m = marker(name);
  for (const file of docFiles()) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const count = text.split(m).length - 1;
    if (count === 0) continue;
    const rel = path.relative(ROOT, file);
    if (count > 1) throw new Error(`${rel} has the marker ${m} ${count} times; it must have it once`);
    const after = text.slice(text.indexOf(m) + m.length);
    const block = /^\s*\n```([A-Za-z]*)\n([\s\S]*?)\n```/.exec(after);
    if (!block) throw new Error(`${rel}: the marker ${m} is not followed by a fenced block`);
    return { text: `${block[2]!}\n`, lang: block[1]!, file: rel };
  }
  throw new Error(`no documentation block marked ${m} in ${docFiles().map((f) => path.relative(ROOT, f)).join(', ')}`);
}
