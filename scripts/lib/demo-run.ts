/** What the two demos share: a line writer, the checks they make of what happened, and how they end. */

export function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

const problems: string[] = [];

/** Records a problem when `cond` is false; the demo goes on and fails at the end. */
export function check(cond: boolean, what: string): void {
  if (!cond) problems.push(what);
}

/** The exit code of the demo: 1, after listing every failed check, or 0. */
export function verdict(): number {
  if (problems.length === 0) return 0;
  say();
  for (const p of problems) say(`DEMO FAILED: ${p}`);
  return 1;
}

/** Runs a demo's main and sets the exit code from it (1, with the reason, if it throws). */
export function runDemo(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
