/**
 * What a command that acts on keys calls once its outcome is known: with KEY_SYNC_REPORT
 * set, append one redacted line per key to the run report; a file problem becomes a note
 * on stderr and never changes the exit code.
 */
import type { Sanitizer } from '../../client/sanitize';
import { appendReportLines, reportFileFromEnv } from '../report-file';
import { reportFileNote, reportLine, type ReportEntry } from '../output/report-line';
import type { TextSink } from '../output/sink';

export function recordRuns(env: Readonly<Record<string, string | undefined>>, entries: readonly ReportEntry[], sanitizer: Sanitizer, err: TextSink): void {
  const file = reportFileFromEnv(env);
  if (file === undefined || entries.length === 0) return;
  const lines = entries.map((e) => reportLine(e, sanitizer.redact));
  const { problems } = appendReportLines(file, lines);
  for (const p of problems) err.write(`${reportFileNote(file, p)}\n`);
}
