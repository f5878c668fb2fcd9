/**
 * The one sanitizer for text that reaches output: everything a server sends (error
 * bodies, reason codes, IAM errorCode and request id, registration and key fields, header
 * values) passes through {@link Sanitizer.text} at the client's boundary, and the CLI's
 * output layer redacts once more before writing. Pure: no I/O.
 *
 * Order matters, so that no step can hide a secret from a later one:
 * 1. delete invisible characters (every default-ignorable and format character: zero
 *    width, bidi controls, BOM, soft hyphen, variation selectors, tags, fillers): deleting
 *    can only join, so a token split by U+200B is whole again;
 * 2. turn control characters and line/paragraph separators into spaces (terminal escapes
 *    lose their ESC);
 * 3. redact known secrets, matched on a skeleton of the text without white space, so a
 *    secret split by spaces or controls is found too (and every secret, whatever its
 *    length: a short one garbles a message, a leaked one cannot be taken back); a text
 *    cut short (at a size cap, or here) also loses a piece of a secret left at its end;
 * 4. redact credential-shaped text (Bearer, apikey=, JWT shape), whoever it belongs to;
 * 5. collapse white space and cut to a length.
 */

export const REDACTED = '[REDACTED]';
/** Most characters of server-provided text we ever show in a message. */
export const SERVER_TEXT_MAX_CHARS = 500;
/**
 * Fewest characters of a known secret that count as a piece of it at the end of a text
 * that was cut short (shorter pieces are not worth garbling a message for).
 */
const PIECE_MIN_CHARS = 4;

// Deleted, not replaced: invisible characters can only join what they split.
const INVISIBLE_CHARS = /[\p{Default_Ignorable_Code_Point}\p{Cf}]/gu;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/** What the skeleton leaves out when looking for a known secret. */
const SKIPPED_IN_SKELETON = /\s/;
const SAFE_NO_SPACE = /^[\x21-\x7e]*$/;

const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/\b(Bearer|Basic)\s+[^\s"',;]+/gi, `$1 ${REDACTED}`],
  [/((?:api_?key|access_token|refresh_token|token|password|secret)["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/gi, `$1${REDACTED}`],
  // A JWT only where a run of its characters starts (not inside one): one attempt per
  // run keeps this linear on hostile text such as "-eyJ" repeated.
  [/(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, REDACTED],
];

export interface Sanitizer {
  /**
   * Server-sent text made safe to print: cleaned, redacted, collapsed, cut to `maxChars`
   * (default {@link SERVER_TEXT_MAX_CHARS}); `undefined` for a non-string or empty text.
   * `cutShort`: the text arrived cut (at a size cap), so it may end in a piece of a secret.
   */
  text(value: unknown, maxChars?: number, cutShort?: boolean): string | undefined;
  /** Redacts secrets from text we compose (our words around a socket error, say). */
  redact(text: string): string;
  /** Adds a secret learned later (a token just obtained). */
  add(secret: string | undefined): void;
}

/** Neutralises invisible and control characters (steps 1 and 2). */
export function neutralise(text: string): string {
  return text.replace(INVISIBLE_CHARS, '').replace(CONTROL_CHARS, ' ');
}

/** The first `n` UTF-16 units of `s`, never half of a surrogate pair. */
function cutAt(s: string, n: number): string {
  if (s.length <= n) return s;
  const code = s.charCodeAt(n - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
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

  /** Redacts known secrets, and with `cutShort` a piece of one left at the end. */
  const redactKnown = (text: string, cutShort: boolean): string => {
    if (known.size === 0) return text;
    // Skeleton without white space, with each of its characters' index in `text`.
    const plain = SAFE_NO_SPACE.test(text);
    const index: number[] = [];
    let skeleton = '';
    if (plain) skeleton = text;
    else {
      for (let i = 0; i < text.length; i++) {
        const ch = text[i] as string;
        if (SKIPPED_IN_SKELETON.test(ch)) continue;
        skeleton += ch;
        index.push(i);
      }
    }
    const at = (i: number): number => (plain ? i : (index[i] as number));
    const ranges: Array<[number, number]> = [];
    for (const s of known) {
      for (let k = skeleton.indexOf(s); k >= 0; k = skeleton.indexOf(s, k + s.length)) ranges.push([at(k), at(k + s.length - 1) + 1]);
      if (cutShort) {
        for (let k = Math.min(s.length - 1, skeleton.length); k >= PIECE_MIN_CHARS; k--) {
          if (skeleton.endsWith(s.slice(0, k))) {
            ranges.push([at(skeleton.length - k), text.length]);
            break;
          }
        }
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

  const redactWith = (text: string, cutShort: boolean): string => {
    let out = redactKnown(neutralise(String(text)), cutShort);
    for (const [re, to] of PATTERNS) out = out.replace(re, to);
    return out;
  };

  return {
    add,
    redact: (text) => redactWith(text, false),
    text(value, maxChars = SERVER_TEXT_MAX_CHARS, cutShort = false) {
      if (typeof value !== 'string') return undefined;
      // Nothing past a few times what is shown can be shown: examine no more (bounds the
      // cost), and treat the cut as one more place a secret can be cut in two.
      const limit = Math.max(4096, maxChars * 4);
      const input = cutAt(value, limit);
      const clean = redactWith(input, cutShort || input.length < value.length).replace(/\s+/g, ' ').trim();
      if (clean === '') return undefined;
      return clean.length > maxChars ? `${cutAt(clean, Math.max(1, maxChars - 1))}…` : clean;
    },
  };
}
