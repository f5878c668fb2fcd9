/**
 * `key-sync report FILE [--json] [--github] [--junit OUT]` -> its config, or a usage
 * error (exit 2). Pure. FILE defaults to $KEY_SYNC_REPORT; GitHub output is on with
 * --github or when GITHUB_ACTIONS=true (as GitHub sets it on its runners), and then
 * writes to the files GITHUB_STEP_SUMMARY and GITHUB_OUTPUT name.
 */
import * as path from 'node:path';
import { parseFlagsAndArgs, printable, usage, type Env } from './flags';
import { REPORT_ENV } from './report-file';

export const REPORT_OPTIONS = {
  json: { type: 'boolean' },
  github: { type: 'boolean' },
  junit: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface ReportConfig {
  /** The run report to read. */
  readonly file: string;
  readonly json: boolean;
  /** Annotations (and the step summary): --github, or GITHUB_ACTIONS=true. */
  readonly github: boolean;
  /** Whether --github was given (then a missing GITHUB_STEP_SUMMARY is worth a note). */
  readonly githubFlag: boolean;
  /** $GITHUB_STEP_SUMMARY, when GitHub output is on. */
  readonly stepSummary?: string;
  /** $GITHUB_OUTPUT, when GitHub output is on: the step's outputs (exit-code, retry-after). */
  readonly stepOutputs?: string;
  /** --junit OUT. */
  readonly junit?: string;
}

/** The config of `key-sync report`, or `help`. Throws a UsageError. */
export function parseReportArgs(args: readonly string[], env: Env): ReportConfig | 'help' {
  const { values, positionals } = parseFlagsAndArgs('report', args, REPORT_OPTIONS);
  if (values.help === true) return 'help';
  if (positionals.length > 1) usage(`\`key-sync report\` reads one file; got ${positionals.length} (${positionals.slice(0, 3).map((p) => `"${printable(p)}"`).join(', ')}${positionals.length > 3 ? ', ...' : ''})`);
  const fromEnv = env[REPORT_ENV];
  const file = positionals[0] ?? (fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv : undefined);
  if (file === undefined || file === '') usage(`give the report file: \`key-sync report FILE\`, the file ${REPORT_ENV} named while key-sync ran (or set ${REPORT_ENV})`);
  const junit = values.junit;
  if (junit !== undefined) {
    if (junit.trim() === '') usage('--junit needs a file name to write, e.g. --junit key-sync.junit.xml');
    if (path.resolve(junit) === path.resolve(file)) usage(`--junit "${printable(junit)}" is the report file itself; give another file to write the JUnit XML to`);
  }
  const githubFlag = values.github === true;
  const github = githubFlag || env['GITHUB_ACTIONS'] === 'true';
  const summary = env['GITHUB_STEP_SUMMARY'];
  const outputs = env['GITHUB_OUTPUT'];
  return {
    file,
    json: values.json === true,
    github,
    githubFlag,
    ...(github && summary !== undefined && summary !== '' ? { stepSummary: summary } : {}),
    ...(github && outputs !== undefined && outputs !== '' ? { stepOutputs: outputs } : {}),
    ...(junit === undefined ? {} : { junit }),
  };
}
