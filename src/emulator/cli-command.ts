import { parseArgs } from 'node:util';

/**
 * `key-sync emulator [--port N] [--host H] [--seed FILE] [--gate-seconds N]`: starts the
 * local emulator, prints what to export, and runs until SIGINT/SIGTERM (or `signal`).
 * Top-level imports stay light: the server loads only when the command runs.
 */

const USAGE = `Usage: key-sync emulator [--port N] [--host 127.0.0.1] [--seed FILE] [--gate-seconds N] [--token-ttl-seconds N]

Runs a local emulator of IBM Cloud IAM (/identity/token) and the Key Protect / HPCS key API
(/api/v2/keys/...) with the sync time gate, registrations, faults and an admin API under
/__emulator/. Binds 127.0.0.1 by default; stops on Ctrl-C (SIGINT) or SIGTERM.`;

/** Streams the command writes to. */
export interface EmulatorCommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

function intFlag(name: string, raw: string | undefined, min: number, max: number): number | string | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    return `--${name}: invalid value '${raw}': use an integer from ${min} to ${max}`;
  }
  return Number(raw);
}

/** Quotes a value for a POSIX shell `export` line. */
function shellQuote(v: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs the `emulator` command. Returns 0 after a clean stop, 2 for bad flags or a bad
 * seed (with a message naming the field and the fix), 1 if the server cannot start.
 */
export async function runEmulatorCommand(argv: string[], io: EmulatorCommandIo, signal?: AbortSignal): Promise<number> {
  const fail = (message: string): number => {
    io.stderr.write(`key-sync emulator: ${message}\n\n${USAGE}\n`);
    return 2;
  };
  let values: { port?: string; host?: string; seed?: string; 'gate-seconds'?: string; 'token-ttl-seconds'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        seed: { type: 'string' },
        'gate-seconds': { type: 'string' },
        'token-ttl-seconds': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    return fail(`${(e as Error).message}`);
  }
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const port = intFlag('port', values.port, 0, 65535);
  if (typeof port === 'string') return fail(port);
  const gateSeconds = intFlag('gate-seconds', values['gate-seconds'], 0, 366 * 86400);
  if (typeof gateSeconds === 'string') return fail(gateSeconds);
  const tokenTtlSeconds = intFlag('token-ttl-seconds', values['token-ttl-seconds'], 1, 366 * 86400);
  if (typeof tokenTtlSeconds === 'string') return fail(tokenTtlSeconds);

  // Loaded lazily (CommonJS require keeps this working under ts-jest and in the esbuild bundle).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startEmulator, isLoopbackHost } = require('./server') as typeof import('./server');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DEFAULT_SEED, DEMO_API_KEY, loadSeedFile } = require('./seed') as typeof import('./seed');
  const host = values.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    return fail(`--host: refusing '${host}': the emulator has no real security and binds loopback only; use 127.0.0.1 or ::1`);
  }
  let seed = DEFAULT_SEED;
  if (values.seed !== undefined) {
    try {
      seed = await loadSeedFile(values.seed);
    } catch (e) {
      return fail(`--seed: ${(e as Error).message}`);
    }
  }

  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  try {
    emulator = await startEmulator({
      host,
      seed,
      ...(port !== undefined ? { port } : {}),
      ...(gateSeconds !== undefined ? { gateSeconds } : {}),
      ...(tokenTtlSeconds !== undefined ? { tokenTtlSeconds } : {}),
    });
  } catch (e) {
    io.stderr.write(`key-sync emulator: cannot start: ${(e as Error).message}\n`);
    return 1;
  }

  const apiKey = seed.apiKeys[0] ?? DEMO_API_KEY;
  const lines = [`key-sync emulator listening on ${emulator.url}`, ''];
  lines.push('Instances and keys:');
  for (const inst of seed.instances) {
    lines.push(`  ${inst.kind === 'hpcs' ? 'HPCS       ' : 'Key Protect'} instance ${inst.id} (${inst.region})`);
    for (const k of seed.keys.filter((key) => key.instanceId.toLowerCase() === inst.id.toLowerCase())) {
      const aliases = k.aliases && k.aliases.length > 0 ? ` alias ${k.aliases.join(', ')}` : '';
      lines.push(`    key ${k.id} name ${k.name}${aliases}${k.extractable ? ' (standard key)' : ''}`);
    }
  }
  lines.push('', `API keys: ${seed.apiKeys.join(', ')}`, `Sync gate: ${gateSeconds ?? 3600} s; admin API: ${emulator.url}/__emulator/{log,clock,faults,state}`, '');
  lines.push('Export these to point key-sync (and IBM SDKs) at the emulator:');
  lines.push(`export IBMCLOUD_API_KEY=${shellQuote(apiKey)}`);
  lines.push(`export IBMCLOUD_IAM_API_ENDPOINT=${emulator.url}`);
  lines.push(`export IBMCLOUD_KP_API_ENDPOINT=${emulator.url}`);
  lines.push(`export DEMO_API_KEY=${shellQuote(apiKey)}`);
  lines.push('', 'Press Ctrl-C to stop.');
  io.stdout.write(`${lines.join('\n')}\n`);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    if (signal?.aborted) return stop();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
  });
  await emulator.close();
  io.stdout.write('key-sync emulator stopped.\n');
  return 0;
}
