/**
 * The CLI as a function: argv + environment + streams -> exit code. Never calls
 * process.exit (main.ts does the process wiring). Start-up stays cheap: the HTTP client
 * (undici) and the emulator load only when a command needs them.
 */
import { setMaxListeners } from 'node:events';
import { createSanitizer } from '../client/sanitize';
import { secretsOf } from '../client/iam';
import type { ApiConfig } from './endpoint-config';
import { helpText } from './help';
import { parseCommand, type Env } from './parse-command';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './output/exit-codes';
import { SafeSink } from './output/sink';
import { runFleetSync, fleetKeys } from './commands/fleet-sync';
import { runRegistrations } from './commands/registrations';
import { runRotate } from './commands/rotate';
import { runStatus } from './commands/status';
import { runReport } from './commands/report';
import { runSync } from './commands/sync';
import type { RunIo } from './commands/context';
import { version } from './version';

export type { RunIo } from './commands/context';
export { scaledTime } from './test-hooks';
export { version } from './version';

/* eslint-disable-next-line @typescript-eslint/no-require-imports */
const loadEmulator = (): typeof import('../emulator/cli-command') => require('../emulator/cli-command') as typeof import('../emulator/cli-command');

export async function run(argv: readonly string[], env: Env, io: RunIo): Promise<number> {
  // A fleet waits on many keys at once, each listening to the one signal.
  if (io.signal !== undefined) setMaxListeners(0, io.signal);
  const cmd = parseCommand(argv, env);
  const ioWithEnv: RunIo = { ...io, env };
  switch (cmd.kind) {
    case 'help':
      new SafeSink(io.stdout).write(helpText(cmd.topic));
      return EXIT_OK;
    case 'version':
      new SafeSink(io.stdout).write(`key-sync ${version()}\n`);
      return EXIT_OK;
    case 'usage-error':
      new SafeSink(io.stderr).write(`key-sync: ${cmd.message}\nRun \`key-sync ${cmd.topic === undefined ? '' : `${cmd.topic} `}--help\` for usage.\n`);
      return EXIT_USAGE;
    case 'emulator': {
      const { runEmulatorCommand } = loadEmulator();
      return runEmulatorCommand([...cmd.argv], { stdout: io.stdout as NodeJS.WritableStream, stderr: io.stderr as NodeJS.WritableStream }, io.signal);
    }
    case 'sync':
      return guarded(cmd.config, io, () => runSync(cmd.config, ioWithEnv));
    case 'fleet-sync': {
      const keys = fleetKeys(cmd.config);
      const err = new SafeSink(io.stderr);
      if (!keys.ok) {
        err.write(`key-sync: ${keys.message}\nRun \`key-sync sync --help\` for usage.\n`);
        return EXIT_USAGE;
      }
      if (keys.duplicates > 0) err.write(`key-sync: ${keys.duplicates} duplicate key${keys.duplicates === 1 ? '' : 's'} given; each key is synced once\n`);
      return guarded(cmd.config, io, () => runFleetSync(cmd.config, keys.keys, ioWithEnv));
    }
    case 'registrations':
      return guarded(cmd.config, io, () => runRegistrations(cmd.config, ioWithEnv));
    case 'rotate':
      return guarded(cmd.config, io, () => runRotate(cmd.config, ioWithEnv));
    case 'status': {
      const keys = fleetKeys(cmd.config);
      if (!keys.ok) {
        new SafeSink(io.stderr).write(`key-sync: ${keys.message}\nRun \`key-sync status --help\` for usage.\n`);
        return EXIT_USAGE;
      }
      return guarded(cmd.config, io, () => runStatus(cmd.config, keys.keys, ioWithEnv));
    }
    case 'report':
      return runReport(cmd.config, ioWithEnv);
  }
}

/** Anything unexpected: exit 1 with a redacted message (never a stack with secrets). */
async function guarded(config: ApiConfig, io: RunIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    const err = new SafeSink(io.stderr);
    err.use(createSanitizer(secretsOf(config.credentials)));
    err.write(`key-sync: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_FAILED;
  }
}
