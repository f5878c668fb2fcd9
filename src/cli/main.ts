/**
 * The `key-sync` executable (bundled into dist/key-sync.cjs): wires the process to
 * run(). SIGINT/SIGTERM abort the run, which stops within a second, says what state the
 * sync is in and exits 75 (0 if the sync was already accepted). Sets process.exitCode
 * rather than calling process.exit, so output is flushed.
 */
import { setFlagsFromString } from 'node:v8';
import { run } from './run';

// undici parses HTTP with llhttp compiled to WebAssembly. V8 first compiles it with its
// baseline compiler (Liftoff) and then re-optimises it on background threads; a process
// that is done after two requests then waits ~200 ms at exit for that background work.
// Liftoff alone is plenty for a CLI that parses a few responses. Set before undici loads.
setFlagsFromString('--liftoff-only');

const controller = new AbortController();

function onSignal(signal: NodeJS.Signals): void {
  if (controller.signal.aborted) {
    // A second signal: the user insists.
    process.exit(process.exitCode ?? 75);
  }
  controller.abort(signal);
  // Safety net: the run stops promptly on abort; if anything still holds the event loop
  // a second later, exit anyway (75 unless the run already decided otherwise).
  setTimeout(() => process.exit(process.exitCode ?? 75), 1000).unref();
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// A reader that went away (`key-sync ... | head`) is not a failure of the sync: the exit
// code follows the outcome, and no stack trace is printed.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

run(process.argv.slice(2), process.env, {
  stdout: process.stdout,
  stderr: process.stderr,
  isTTY: process.stderr.isTTY === true,
  signal: controller.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // run() handles its own errors; this is a bug. Print the type only (no text that
    // could carry a credential).
    process.stderr.write(`key-sync: internal error (${err instanceof Error ? err.name : typeof err})\n`);
    process.exitCode = 1;
  },
);
