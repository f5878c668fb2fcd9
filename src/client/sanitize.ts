/**
 * The one sanitizer for text that reaches output: everything a server sends (error
 * bodies, reason codes, IAM errorCode and request id, registration and key fields, header
 * values) passes through {@link Sanitizer.text} at the client's boundary, and the CLI's
 * output layer redacts once more before writing. Pure: no I/O.
 *
 * Order matters, so that no step can hide a secret from a later one:
 * 1. delete invisible format characters (zero-width, bidi controls, BOM, soft hyphen):
 *    deleting can only join, so a token split by U+200B is whole again;
 * 2. turn control characters and line/paragraph separators into spaces (terminal escapes
 *    lose their ESC);
 * 3. redact known secrets, matched on a skeleton of the text without white space, so a
 *    secret split by spaces or controls is found too (and every secret, whatever its
 *    length: a short one garbles a message, a leaked one cannot be taken back);
 * 4. redact credential-shaped text (Bearer, apikey=, JWT shape), whoever it belongs to;
 * 5. collapse white space and cut to a length.
 */

export const REDACTED = '[REDACTED]';
/** Most characters of server-provided text we ever show in a message. */
export const SERVER_TEXT_MAX_CHARS = 500;
/** Longest input examined; the rest is dropped before any work (bounds the cost). */
const INPUT_MAX_CHARS = 64 * 1024;

// eslint-disable-next-line no-control-regex
const FORMAT_CHARS = /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/** What the skeleton leaves out when looking for a known secret. */
const SKIPPED_IN_SKELETON = /\s/;
const SAFE_NO_SPACE = /^[\x21-\x7e]*$/;

const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/\b(Bearer|Basic)\s+[^\s"',;]+/gi, `$1 ${REDACTED}`],
  [/((?:api_?key|access_token|refresh_token|token|password|secret)["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/gi, `$1${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, REDACTED],
];

export interface Sanitizer {
  /**
   * Server-sent text made safe to print: cleaned, redacted, collapsed, cut to `maxChars`
   * (default {@link SERVER_TEXT_MAX_CHARS}); `undefined` for a non-string or empty text.
   */
  text(value: unknown, maxChars?: number): string | undefined;
  /** Redacts secrets from text we compose (our words around a socket error, say). */
  redact(text: string): string;
  /** Adds a secret learned later (a token just obtained). */
  add(secret: string | undefined): void;
}

/** Neutralises invisible and control characters (steps 1 and 2). */
export function neutralise(text: string): string {
  return text.replace(FORMAT_CHARS, '').replace(CONTROL_CHARS, ' ');
}

/** Builds a sanitizer that knows `secrets` (API key, tokens; more via `add`). */
export function createSanitizer(secrets: Iterable<string | undefined> = []): Sanitizer {
  const known = new Set<string>();
  const add = (s: string | undefined): void => {
    if (typeof s !== 'string') return;
    const bare = neutralise(s).replace(/\s+/g, '');
    if (bare !== '') known.add(bare);
  };
  for (const s of secrets) add(s);

  const redactKnown = (text: string): string => {
    if (known.size === 0) return text;
    if (SAFE_NO_SPACE.test(text)) {
      let out = text;
      for (const s of known) if (out.includes(s)) out = out.split(s).join(REDACTED);
      return out;
    }
    // Skeleton without white space, with each of its characters' index in `text`.
    const index: number[] = [];
    let skeleton = '';
    for (let i = 0; i < text.length; i++) {
      const ch = text[i] as string;
      if (SKIPPED_IN_SKELETON.test(ch)) continue;
      skeleton += ch;
      index.push(i);
    }
    const ranges: Array<[number, number]> = [];
    for (const s of known) {
      for (let at = skeleton.indexOf(s); at >= 0; at = skeleton.indexOf(s, at + s.length)) {
        ranges.push([index[at] as number, (index[at + s.length - 1] as number) + 1]);
      }
    }
    if (ranges.length === 0) return text;
    ranges.sort((a, b) => a[0] - b[0]);
    let out = '';
    let pos = 0;
    for (const [from, to] of ranges) {
      if (to <= pos) continue;
      if (from >= pos) out += `${text.slice(pos, from)}${REDACTED}`;
      pos = to;
    }
    return out + text.slice(pos);
  };

  const redact = (text: string): string => {
    let out = redactKnown(neutralise(String(text)));
    for (const [re, to] of PATTERNS) out = out.replace(re, to);
    return out;
  };

  return {
    add,
    redact,
    text(value, maxChars = SERVER_TEXT_MAX_CHARS) {
      if (typeof value !== 'string') return undefined;
      const clean = redact(value.slice(0, INPUT_MAX_CHARS)).replace(/\s+/g, ' ').trim();
      if (clean === '') return undefined;
      return clean.length > maxChars ? `${clean.slice(0, Math.max(1, maxChars - 1))}…` : clean;
    },
  };
}
