/** Exit codes (sysexits-style: 75 is EX_TEMPFAIL; README "How retries and the time gate work"). Pipelines branch on them: they are stable. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** EX_TEMPFAIL: not done yet, retry later. */
export const EXIT_RETRY_LATER = 75;

/** 0 done (synced, listed, read, rotated, already rotated), 75 retry later (gate, transient budget spent, interrupted), else 1. */
export function exitCodeFor(r: { readonly outcome: string; readonly retryLater: boolean }): number {
  if (r.outcome === 'synced' || r.outcome === 'listed' || r.outcome === 'read' || r.outcome === 'rotated' || r.outcome === 'already-rotated') return EXIT_OK;
  return r.retryLater ? EXIT_RETRY_LATER : EXIT_FAILED;
}

/** The worst exit code: 1 over 75 over 0 (2 never happens after parsing). */
export function worstExitCode(codes: Iterable<number>): number {
  let worst = EXIT_OK;
  for (const c of codes) {
    if (c === EXIT_FAILED) return EXIT_FAILED;
    if (c === EXIT_RETRY_LATER) worst = EXIT_RETRY_LATER;
    else if (c !== EXIT_OK && worst === EXIT_OK) worst = c;
  }
  return worst;
}
