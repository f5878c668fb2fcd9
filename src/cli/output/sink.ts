/**
 * Where output goes: a line writer that redacts every known secret once more before it
 * writes (the last line of defence; server text was already sanitized at the client's
 * boundary) and never throws when the reader has gone (`key-sync ... | head`): the exit
 * code follows the outcome, not the pipe.
 */
import type { Sanitizer } from '../../client/sanitize';

export interface TextSink {
  write(chunk: string): unknown;
}

/** A sink that redacts with `sanitizer` (once the credentials are known) and swallows write errors. */
export class SafeSink implements TextSink {
  private sanitizer: Sanitizer | undefined;

  constructor(private readonly out: TextSink) {}

  /** From now on, redact with this sanitizer. */
  use(sanitizer: Sanitizer): void {
    this.sanitizer = sanitizer;
  }

  write(chunk: string): boolean {
    const text = this.sanitizer === undefined ? chunk : redactLines(chunk, this.sanitizer);
    try {
      this.out.write(text);
    } catch {
      // EPIPE and friends: the reader is gone; nothing to tell it.
    }
    return true;
  }

  /** A JSON value as one line, every string redacted (the structure stays valid JSON). */
  json(value: unknown): void {
    const s = this.sanitizer;
    const line = JSON.stringify(value, s === undefined ? undefined : (_k, v: unknown) => (typeof v === 'string' ? s.redact(v) : v));
    const prev = this.sanitizer;
    this.sanitizer = undefined;
    try {
      this.write(`${line}\n`);
    } finally {
      this.sanitizer = prev;
    }
  }
}

/** Redacts each line on its own, keeping the line breaks (and a TTY's \r redraws) as they are. */
export function redactLines(text: string, s: Sanitizer): string {
  return text.replace(/[^\r\n]+/g, (line) => {
    // Keep the ANSI "erase line" of a redrawn progress line: it is ours, not a server's.
    const m = /^(\u001b\[2K)?(.*)$/s.exec(line);
    return `${m?.[1] ?? ''}${s.redact(m?.[2] ?? line)}`;
  });
}
