/**
 * Flag tables of each command and the parsing of argv against them, with usage errors
 * that name the flag and suggest the near one. Pure.
 *
 * Parsing uses `node:util` `parseArgs`: maintained with Node itself, already loaded by the
 * runtime (no start-up cost, no dependency in the bundle), strict about unknown flags
 * and missing values.
 */
import { parseArgs } from 'node:util';

export type Env = Readonly<Record<string, string | undefined>>;

/** A usage or configuration mistake, found before any request (exit 2). */
export class UsageError extends Error {}

export function usage(message: string): never {
  throw new UsageError(message);
}

/** A value safe to echo in a message (flags never hold secrets; still cut and cleaned). */
export function printable(v: string): string {
  // eslint-disable-next-line no-control-regex
  const s = v.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

type OptionSpec = { readonly type: 'string' | 'boolean'; readonly multiple?: boolean; readonly short?: string };
type Options = Readonly<Record<string, OptionSpec>>;
/** The values parseArgs gives for an option table. */
export type Values<O extends Options> = { [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : O[K] extends { multiple: true } ? string[] : string };

export const ENDPOINT_OPTIONS = {
  'instance-id': { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  service: { type: 'string' },
  port: { type: 'string' },
  private: { type: 'boolean' },
  'key-ring': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const SYNC_OPTIONS = {
  ...ENDPOINT_OPTIONS,
  // Repeated --key-id, --keys-file or --all-registered: a fleet sync.
  'key-id': { type: 'string', multiple: true },
  'keys-file': { type: 'string' },
  'all-registered': { type: 'boolean' },
  concurrency: { type: 'string' },
  'max-wait': { type: 'string' },
  'verify-registrations': { type: 'boolean' },
  // Sync only the keys whose resources lag past the grace period (see `status`).
  'if-behind': { type: 'boolean' },
  'grace-hours': { type: 'string' },
  'rotation-requested-at': { type: 'string' },
} as const;

export const STATUS_OPTIONS = {
  ...ENDPOINT_OPTIONS,
  'key-id': { type: 'string', multiple: true },
  'keys-file': { type: 'string' },
  'all-registered': { type: 'boolean' },
  'grace-hours': { type: 'string' },
  concurrency: { type: 'string' },
} as const;

export const ROTATE_OPTIONS = {
  ...ENDPOINT_OPTIONS,
  'key-id': { type: 'string', multiple: true },
  generation: { type: 'string' },
  'requested-at': { type: 'string' },
  'max-wait': { type: 'string' },
} as const;

export const REGISTRATIONS_OPTIONS = {
  ...ENDPOINT_OPTIONS,
  'key-id': { type: 'string', multiple: true },
  crn: { type: 'string' },
} as const;

/**
 * Edit distance counting insertions, deletions, substitutions and swaps of two neighbours
 * (optimal string alignment), for near-flag suggestions: `--kye-id` is one swap away.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    const up = d[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = v;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** The name of `known` nearest to `given` (`--keyid` -> `--key-id`), if one is near enough. */
export function nearestFlag(given: string, known: readonly string[]): string | undefined {
  const bare = (s: string): string => s.replace(/^-+/, '').replace(/[-_]/g, '').toLowerCase();
  const g = (given.split('=')[0] ?? given).replace(/^-+/, '');
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const d = bare(g) === bare(k) ? 0 : editDistance(g.toLowerCase(), k);
    if (best === undefined || d < best.d) best = { name: k, d };
  }
  if (best === undefined || best.d > Math.min(2, Math.max(1, Math.floor(best.name.length / 3)))) return undefined;
  return given.startsWith('-') ? `--${best.name}` : best.name;
}

/** Turns parseArgs' errors into our wording (the caller adds the hint to run --help). */
function parseArgsMessage(e: unknown, command: string, options: Options): string {
  const err = e as { code?: string; message?: string };
  const flag = /'(-{1,2}[^' ]+)/.exec(err.message ?? '')?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const near = flag === undefined ? undefined : nearestFlag(flag, Object.keys(options));
      return `unknown flag ${printable(flag ?? '')} for \`key-sync ${command}\`${near === undefined ? '' : `; did you mean ${near}?`}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(err.message ?? '')
        ? `${flag ?? 'a flag'} needs a value, e.g. ${flag ?? '--flag'} VALUE`
        : `${flag ?? 'a switch'} takes no value; give it alone`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${printable(/'([^']*)'/.exec(err.message ?? '')?.[1] ?? '')}" for \`key-sync ${command}\`; every value goes after its flag, e.g. --key-id ID`;
    default:
      return printable(err.message ?? String(e));
  }
}

/** Parses `args` against `options`, or throws a UsageError. */
export function parseFlags<O extends Options>(command: string, args: readonly string[], options: O): Values<O> {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values as Values<O>;
  } catch (e) {
    usage(parseArgsMessage(e, command, options));
  }
}

/** A flag's value checked by a domain rule: the value, or a usage error naming flag, value and fix. */
export function checked(flag: string, value: string, problem: { problem: string; fix: string } | undefined): string {
  if (problem !== undefined) usage(`${flag} "${printable(value)}" ${problem.problem}; ${problem.fix}`);
  return value;
}

/** One value of a flag that may be given once only. */
export function single(flag: string, values: readonly string[] | undefined): string | undefined {
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) usage(`${flag} given ${values.length} times; give one key per call`);
  return values[0];
}

/** A whole number flag within [min, max]. */
export function wholeNumber(flag: string, raw: string, min: number, max: number, what: string): number {
  const t = raw.trim();
  const n = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!(n >= min && n <= max)) usage(`${flag} "${printable(raw)}" is not a whole number from ${min} to ${max}; ${what}`);
  return n;
}

/** Like {@link parseFlags}, for a command that also takes arguments (`key-sync report FILE`). */
export function parseFlagsAndArgs<O extends Options>(command: string, args: readonly string[], options: O): { values: Values<O>; positionals: string[] } {
  try {
    const r = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
    return { values: r.values as Values<O>, positionals: r.positionals };
  } catch (e) {
    usage(parseArgsMessage(e, command, options));
  }
}
