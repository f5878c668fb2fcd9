/**
 * `key-sync report FILE`: reads the run report that KEY_SYNC_REPORT made runs append to,
 * and tells CI what it says (report-summary.ts decides, output/report.ts words it). No
 * credentials, no network. Every string read from the file goes through the sanitizer
 * (with whatever credentials the environment holds), so neither a tampered file nor an
 * old one can put a secret into the table, the annotations, the summary or the XML.
 */
import * as fs from 'node:fs';
import { createSanitizer } from '../../client/sanitize';
import type { ReportConfig } from '../report-args';
import { parseReport, summarize } from '../report-summary';
import { EXIT_USAGE } from '../output/exit-codes';
import { githubAnnotations, githubOutputs, junitXml, reportFileTrouble, reportJson, reportTable, stepSummary, type ReportFileTrouble } from '../output/report';
import { SafeSink, redactLines } from '../output/sink';
import type { RunIo } from './context';

/** Larger than any report of runs (a line is < 4 KiB: this is 16,000 of them and more). */
export const REPORT_FILE_MAX_BYTES = 64 * 1024 * 1024;
/** Longest message read back from a line (a written one is shorter). */
const MESSAGE_MAX_CHARS = 4000;
const CREDENTIAL_ENV = ['IBMCLOUD_API_KEY', 'IC_API_KEY', 'IBMCLOUD_IAM_TOKEN', 'IC_IAM_TOKEN'] as const;

function codeOf(e: unknown): string {
  const c = (e as { code?: unknown }).code;
  return typeof c === 'string' ? c : 'error';
}

/** The file's text, or why it cannot be used. */
function readReport(file: string): { text: string } | { trouble: ReportFileTrouble } {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = codeOf(e);
    return { trouble: code === 'ENOENT' ? { kind: 'absent' } : { kind: 'unreadable', code } };
  }
  if (!st.isFile()) return { trouble: { kind: 'not-a-file' } };
  if (st.size > REPORT_FILE_MAX_BYTES) return { trouble: { kind: 'too-large', bytes: st.size, limit: REPORT_FILE_MAX_BYTES } };
  try {
    return { text: fs.readFileSync(file, 'utf8') };
  } catch (e) {
    return { trouble: { kind: 'unreadable', code: codeOf(e) } };
  }
}

export function runReport(config: ReportConfig, io: RunIo): number {
  const env = io.env ?? process.env;
  const secrets = CREDENTIAL_ENV.flatMap((k) => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? [] : [v, v.replace(/^bearer\s+/i, '')];
  });
  const sanitizer = createSanitizer(secrets);
  const out = new SafeSink(io.stdout);
  const err = new SafeSink(io.stderr);
  out.use(sanitizer);
  err.use(sanitizer);
  const now = (io.now ?? Date.now)();

  const read = readReport(config.file);
  if ('trouble' in read) {
    err.write(`key-sync: ${reportFileTrouble(config.file, read.trouble)}\n`);
    return EXIT_USAGE;
  }
  const { runs, unreadable } = parseReport(read.text, (s) => sanitizer.text(s, MESSAGE_MAX_CHARS) ?? '');
  const summary = summarize(runs, unreadable);

  if (config.json) out.json(reportJson(summary, config.file, now));
  else out.write(reportTable(summary, config.file, now));

  if (config.github) {
    // With --json, stdout stays one JSON object: the runner reads commands on stderr too.
    (config.json ? err : out).write(githubAnnotations(summary, config.file, now));
    if (config.stepSummary !== undefined) {
      try {
        fs.appendFileSync(config.stepSummary, redactLines(stepSummary(summary, config.file, now), sanitizer));
      } catch (e) {
        err.write(`key-sync: note: the step summary GITHUB_STEP_SUMMARY=${config.stepSummary} could not be written (${codeOf(e)})\n`);
      }
    } else if (config.githubFlag) {
      err.write('key-sync: note: GITHUB_STEP_SUMMARY is not set (GitHub Actions sets it in a step); no step summary written\n');
    }
    if (config.stepOutputs !== undefined) {
      try {
        fs.appendFileSync(config.stepOutputs, githubOutputs(summary));
      } catch (e) {
        err.write(`key-sync: note: the step outputs GITHUB_OUTPUT=${config.stepOutputs} could not be written (${codeOf(e)})\n`);
      }
    }
  }

  if (config.junit !== undefined) {
    try {
      fs.writeFileSync(config.junit, redactLines(junitXml(summary, config.file, now), sanitizer));
    } catch (e) {
      err.write(`key-sync: --junit ${config.junit} could not be written (${codeOf(e)}); check that its directory exists and is writable\n`);
      return EXIT_USAGE;
    }
  }
  return summary.exitCode;
}
