/**
 * `key-sync report`, rendered: the table, the --json object, GitHub annotations and step
 * summary, and the JUnit XML file; and the sentences about a report file that cannot be
 * read. Pure: the clock is a parameter.
 */
import type { KeySummary, ReportSummary, UnreadableLine } from '../report-summary';
import { EXIT_FAILED, EXIT_OK, EXIT_RETRY_LATER } from './exit-codes';
import { duration, plural, utc } from './words';

/** What the report says about when to run again, relative to `now`. */
function retryWords(s: ReportSummary, now: number): string | undefined {
  const r = s.retryAfter;
  if (r === undefined) return undefined;
  // notBefore is on the service's clock; how far away it is, is measured on it too.
  const left = r.at.getTime() - (now + r.clockSkewMs);
  return left > 0 ? `${utc(r.at)} (in ${duration(left)})` : `${utc(r.at)} (passed ${duration(-left)} ago: a re-run now gets through)`;
}

function outcomeWord(k: KeySummary): string {
  return k.verdict === 'retry-later' && k.last.outcome === 'failed' ? 'failed (retry later)' : k.last.outcome;
}

function retryCell(k: KeySummary): string {
  switch (k.verdict) {
    case 'succeeded':
      return '-';
    case 'failed':
      return 'after a fix';
    case 'retry-later':
      return k.last.notBefore === undefined ? 'any time' : utc(k.last.notBefore);
  }
}

function runsCell(k: KeySummary): string {
  return k.runs === 1 ? '1' : `${k.runs} (last counts)`;
}

interface Column {
  readonly head: string;
  readonly cell: (k: KeySummary) => string;
}

/** The columns of the table and the step summary; instance and command only when they vary. */
function columns(s: ReportSummary): Column[] {
  const instances = new Set(s.keys.map((k) => k.last.instanceId.toLowerCase()));
  const commands = new Set(s.keys.map((k) => k.last.command));
  return [
    { head: 'KEY', cell: (k) => k.last.keyId },
    ...(instances.size > 1 ? [{ head: 'INSTANCE', cell: (k: KeySummary) => k.last.instanceId }] : []),
    ...(commands.size > 1 ? [{ head: 'COMMAND', cell: (k: KeySummary) => k.last.command }] : []),
    { head: 'OUTCOME', cell: outcomeWord },
    { head: 'RUNS', cell: runsCell },
    { head: 'RETRY AFTER', cell: retryCell },
    { head: 'MESSAGE', cell: (k) => k.last.message },
  ];
}

/** "line 7: not JSON (cut, or written by something other than key-sync)" */
export function unreadableWords(u: UnreadableLine): string {
  switch (u.problem) {
    case 'not-json':
      return `line ${u.line} is not JSON (cut short, or written by something other than key-sync)`;
    case 'not-an-object':
      return `line ${u.line} is JSON but not a report line`;
    case 'too-long':
      return `line ${u.line} is longer than any report line key-sync writes`;
    case 'missing-field':
      return `line ${u.line} has no "${u.field ?? ''}"`;
    case 'bad-field':
      return `line ${u.line} has an unusable "${u.field ?? ''}"`;
  }
}

/** The closing sentence: what the file says and what to do, with the exit code. */
export function reportVerdict(s: ReportSummary, file: string, now: number): string {
  if (s.runs === 0 && s.unreadable.length === 0) {
    return `${file} holds no runs: no key-sync run acted on a key (an apply with nothing to create or replace runs none); nothing failed (exit ${EXIT_OK})`;
  }
  const n = s.counts;
  const repeated = s.keys.some((k) => k.runs > 1) ? '; a key that ran several times counts by its last run' : '';
  const keys = `${plural(s.keys.length, 'key')} (${plural(s.runs, 'run')}${repeated}): ${n.succeeded} succeeded, ${n.retryLater} to retry later, ${n.failed} failed`;
  const unreadable = s.unreadable.length === 0 ? '' : `; ${plural(s.unreadable.length, 'line')} unreadable, counted as failed (the run behind ${s.unreadable.length === 1 ? 'it' : 'them'} is unknown)`;
  switch (s.exitCode) {
    case EXIT_OK:
      return `${keys}: every key succeeded (exit ${EXIT_OK})`;
    case EXIT_RETRY_LATER: {
      const when = retryWords(s, now);
      const untimed = s.retryLaterWithoutTime === 0 ? '' : `${when === undefined ? '' : '; '}${plural(s.retryLaterWithoutTime, 'key')} failed transiently with no time named: re-run when the service recovers`;
      return `${keys}. Nothing is broken: ${when === undefined ? '' : `re-run after ${when} and it gets through`}${untimed} (exit ${EXIT_RETRY_LATER})`;
    }
    default:
      return `${keys}${unreadable}: fix the failures; a re-run alone will not get them through (exit ${EXIT_FAILED})`;
  }
}

/** The human table: one row per key (worst first), the unreadable lines, the verdict. */
export function reportTable(s: ReportSummary, file: string, now: number): string {
  const cols = columns(s);
  const rows = [cols.map((c) => c.head), ...s.keys.map((k) => cols.map((c) => c.cell(k)))];
  const widths = cols.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  const table = s.keys.length === 0 ? '' : `${rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] as number))).join('  ')).join('\n')}\n`;
  const bad = s.unreadable.map((u) => `key-sync: ${file}: ${unreadableWords(u)}\n`).join('');
  return `${table}${bad}key-sync: ${reportVerdict(s, file, now)}\n`;
}

/** The --json object. */
export function reportJson(s: ReportSummary, file: string, now: number): Record<string, unknown> {
  const r = s.retryAfter;
  return {
    file,
    outcome: s.exitCode === EXIT_OK ? 'succeeded' : s.exitCode === EXIT_RETRY_LATER ? 'retry-later' : 'failed',
    exitCode: s.exitCode,
    retryAfter: r === undefined ? null : r.at.toISOString(),
    ...(r === undefined ? {} : { retryInMs: Math.max(0, r.at.getTime() - (now + r.clockSkewMs)) }),
    counts: { runs: s.runs, keys: s.keys.length, succeeded: s.counts.succeeded, retryLater: s.counts.retryLater, failed: s.counts.failed, unreadable: s.unreadable.length },
    keys: s.keys.map((k) => ({
      command: k.last.command,
      instanceId: k.last.instanceId,
      keyId: k.last.keyId,
      ...(k.last.keyRing === undefined ? {} : { keyRing: k.last.keyRing }),
      verdict: k.verdict,
      outcome: k.last.outcome,
      exitCode: k.last.exitCode,
      runs: k.runs,
      line: k.last.line,
      ...(k.last.time === undefined ? {} : { time: k.last.time.toISOString() }),
      ...(k.last.notBefore === undefined ? {} : { notBefore: k.last.notBefore.toISOString() }),
      ...(k.last.correlationId === undefined ? {} : { correlationId: k.last.correlationId }),
      ...(k.last.code === undefined ? {} : { code: k.last.code }),
      message: k.last.message,
    })),
    unreadable: s.unreadable.map((u) => ({ line: u.line, problem: u.problem, ...(u.field === undefined ? {} : { field: u.field }), message: unreadableWords(u) })),
    message: reportVerdict(s, file, now),
  };
}

// GitHub's workflow commands, escaped as @actions/core escapes them (its command.ts):
// the message escapes % CR LF; property values escape those and : and , as well.
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** `::warning title=...::message` (properties in the given order, empty ones left out). */
export function workflowCommand(command: 'warning' | 'error' | 'notice', properties: ReadonlyArray<readonly [string, string | undefined]>, message: string): string {
  const props = properties.filter((p): p is readonly [string, string] => p[1] !== undefined && p[1] !== '').map(([k, v]) => `${k}=${escapeProperty(v)}`);
  return `::${command}${props.length === 0 ? '' : ` ${props.join(',')}`}::${escapeData(message)}`;
}

function keyWhere(k: KeySummary): string {
  return `key ${k.last.keyId} (instance ${k.last.instanceId})`;
}

/** What an annotation says about a key: its message, when to retry, the run and correlation id. */
function annotationMessage(k: KeySummary, now: number): string {
  const nb = k.last.notBefore;
  const left = nb === undefined ? 0 : nb.getTime() - (now + (k.last.clockSkewMs ?? 0));
  const when = nb === undefined || k.verdict !== 'retry-later' ? '' : left > 0 ? `; retry after ${utc(nb)} (in ${duration(left)})` : `; retry now (the gate opened at ${utc(nb)})`;
  const runs = k.runs > 1 ? ` (the last of ${k.runs} runs)` : '';
  const id = k.last.correlationId === undefined ? '' : ` [correlation id ${k.last.correlationId}]`;
  return `${k.last.command} of ${keyWhere(k)}${runs}: ${k.last.message}${when}${id}`;
}

/**
 * One annotation per key that did not succeed (a warning to retry later, an error when
 * it failed) and per unreadable line (an error); a line each.
 */
export function githubAnnotations(s: ReportSummary, file: string, now: number): string {
  const lines: string[] = [];
  for (const k of s.keys) {
    if (k.verdict === 'succeeded') continue;
    const title = `key-sync: ${k.last.command} ${k.last.keyId} ${outcomeWord(k)}`;
    lines.push(workflowCommand(k.verdict === 'retry-later' ? 'warning' : 'error', [['title', title]], annotationMessage(k, now)));
  }
  for (const u of s.unreadable) lines.push(workflowCommand('error', [['title', `key-sync report: unreadable line ${u.line}`]], `${file}: ${unreadableWords(u)}; it counts as failed`));
  return lines.map((l) => `${l}\n`).join('');
}

/**
 * The step's outputs for $GITHUB_OUTPUT (`name=value` lines): what later steps and jobs
 * branch on without parsing anything: `outcome`, `exit-code`, and `retry-after` (RFC 3339,
 * empty unless some key is to retry later at a known time).
 */
export function githubOutputs(s: ReportSummary): string {
  const outcome = s.exitCode === EXIT_OK ? 'succeeded' : s.exitCode === EXIT_RETRY_LATER ? 'retry-later' : 'failed';
  return `outcome=${outcome}\nexit-code=${s.exitCode}\nretry-after=${s.retryAfter === undefined ? '' : s.retryAfter.at.toISOString()}\n`;
}

/** Text safe in a Markdown table cell: no line breaks, no pipes, no markup. */
export function markdownCell(s: string): string {
  return s
    .replace(/[\r\n]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~])/g, '\\$1');
}

/** The Markdown appended to $GITHUB_STEP_SUMMARY: a headline, the table, the verdict. */
export function stepSummary(s: ReportSummary, file: string, now: number): string {
  const headline = s.exitCode === EXIT_OK ? 'every key succeeded' : s.exitCode === EXIT_RETRY_LATER ? `nothing is broken, retry ${s.retryAfter === undefined ? 'later' : `after ${utc(s.retryAfter.at)}`}` : `${plural(s.counts.failed + s.unreadable.length, 'failure')} to fix`;
  const cols = columns(s);
  const head = `| ${cols.map((c) => markdownCell(c.head.charAt(0) + c.head.slice(1).toLowerCase())).join(' | ')} |\n|${cols.map(() => ' --- |').join('')}\n`;
  const rows = s.keys.map((k) => `| ${cols.map((c) => markdownCell(c.cell(k))).join(' | ')} |\n`).join('');
  const table = s.keys.length === 0 ? '' : `${head}${rows}\n`;
  const bad = s.unreadable.length === 0 ? '' : `${s.unreadable.map((u) => `- ${markdownCell(unreadableWords(u))}\n`).join('')}\n`;
  return `### key-sync: ${markdownCell(headline)}\n\n${table}${bad}${markdownCell(reportVerdict(s, file, now))}\n\n`;
}

/** XML 1.0 text: characters it cannot hold become U+FFFD; markup is escaped. */
export function xmlText(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** An XML attribute value (in double quotes): also quotes and white space a parser would fold. */
export function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

/**
 * JUnit XML: one test case per key (a failure when it failed, skipped with the reason
 * when it is to retry later) and one per unreadable line (an error).
 */
export function junitXml(s: ReportSummary, file: string, now: number): string {
  const failures = s.counts.failed;
  const errors = s.unreadable.length;
  const skipped = s.counts.retryLater;
  const tests = s.keys.length + errors;
  const counts = `tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}"`;
  const cases = s.keys.map((k) => {
    const open = `    <testcase classname="${xmlAttr(`key-sync.${k.last.command}`)}" name="${xmlAttr(keyWhere(k))}">`;
    const out = `      <system-out>${xmlText(annotationMessage(k, now))}</system-out>\n`;
    switch (k.verdict) {
      case 'succeeded':
        return `${open}\n${out}    </testcase>\n`;
      case 'retry-later': {
        const why = k.last.notBefore === undefined ? `retry later: ${k.last.message}` : `retry after ${utc(k.last.notBefore)}: ${k.last.message}`;
        return `${open}\n      <skipped message="${xmlAttr(why)}"/>\n${out}    </testcase>\n`;
      }
      case 'failed':
        return `${open}\n      <failure message="${xmlAttr(k.last.message)}" type="${xmlAttr(k.last.code ?? k.last.outcome)}">${xmlText(annotationMessage(k, now))}</failure>\n    </testcase>\n`;
    }
  }).join('');
  const bad = s.unreadable.map((u) => `    <testcase classname="key-sync.report" name="${xmlAttr(`${file} line ${u.line}`)}">\n      <error message="${xmlAttr(unreadableWords(u))}" type="unreadable-line"/>\n    </testcase>\n`).join('');
  const props = `    <properties>\n      <property name="exitCode" value="${s.exitCode}"/>\n${s.retryAfter === undefined ? '' : `      <property name="retryAfter" value="${xmlAttr(s.retryAfter.at.toISOString())}"/>\n`}    </properties>\n`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="key-sync" ${counts}>\n  <testsuite name="${xmlAttr(`key-sync report ${file}`)}" ${counts} timestamp="${new Date(now).toISOString().replace(/\.\d{3}Z$/, '')}">\n${props}${cases}${bad}  </testsuite>\n</testsuites>\n`;
}

/** The sentences about a report file that cannot be used (exit 2). */
export type ReportFileTrouble =
  | { readonly kind: 'absent' }
  | { readonly kind: 'not-a-file' }
  | { readonly kind: 'too-large'; readonly bytes: number; readonly limit: number }
  | { readonly kind: 'unreadable'; readonly code: string };

export function reportFileTrouble(file: string, t: ReportFileTrouble): string {
  switch (t.kind) {
    case 'absent':
      return `${file} does not exist: no key-sync run appended to it. Either nothing ran (an apply with nothing to create or replace runs no key-sync; create the file before the apply, e.g. \`(umask 077 && : > "$KEY_SYNC_REPORT")\`, and an empty file then says so), or KEY_SYNC_REPORT did not reach key-sync as this path: Terraform runs key-sync in the stack directory, so give an absolute path`;
    case 'not-a-file':
      return `${file} is not a regular file; give the file KEY_SYNC_REPORT named during the runs`;
    case 'too-large':
      return `${file} is ${Math.round(t.bytes / 1024 / 1024)} MiB, more than the ${Math.round(t.limit / 1024 / 1024)} MiB a report of runs can be; give the file KEY_SYNC_REPORT named (start a new one per pipeline run)`;
    case 'unreadable':
      return `${file} cannot be read (${t.code})`;
  }
}
