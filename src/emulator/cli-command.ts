import { parseArgs } from 'node:util';

/**
 * `key-sync emulator [flags]`: starts the local emulator, prints what to export, and runs
 * until SIGINT/SIGTERM (or `signal`). Top-level imports stay light: the server loads only
 * when the command runs.
 */

/** Every flag the command accepts, with its help line; parseArgs and `--help` both use it. */
export const EMULATOR_FLAGS = {
  port: { type: 'string', arg: 'N', help: 'Port to listen on (default 0: any free port).' },
  host: { type: 'string', arg: 'HOST', help: 'Loopback interface to bind: 127.0.0.1 (default) or ::1.' },
  seed: { type: 'string', arg: 'FILE', help: 'Seed JSON file: instances, keys, registrations, API keys, faults, settings (default: the built-in demo seed).' },
  'gate-seconds': { type: 'string', arg: 'N', help: 'Period of the sync gate and of the once-per-period rotation gate (default 3600).' },
  'token-ttl-seconds': { type: 'string', arg: 'N', help: 'Lifetime of IAM access tokens (default 3600).' },
  'registration-ack-seconds': {
    type: 'string',
    arg: 'N',
    help: 'Seconds after a rotation or accepted sync at which registrations that follow it carry the new key version (default 0: at once).',
  },
  'max-page-size': { type: 'string', arg: 'N', help: 'Most items per listing page whatever limit asks, 1-5000 (default: no cap).' },
  'version-date-skew-seconds': { type: 'string', arg: 'N', help: "Seconds from a rotation's lastRotateDate to its new version's creationDate, -60 to 60 (default 0; negative as --version-date-skew-seconds=-30)." },
  help: { type: 'boolean', short: 'h', arg: '', help: 'Print this help and exit.' },
} as const;

type FlagName = keyof typeof EMULATOR_FLAGS;

function usage(): string {
  const names = Object.keys(EMULATOR_FLAGS) as FlagName[];
  const synopsis = names.filter((n) => n !== 'help').map((n) => `[--${n} ${EMULATOR_FLAGS[n].arg}]`);
  const rows = names.map((n) => {
    const f = EMULATOR_FLAGS[n];
    const left = `  ${'short' in f ? `-${f.short}, ` : ''}--${n}${f.arg ? ` ${f.arg}` : ''}`;
    return `${left.padEnd(34)} ${f.help}`;
  });
  return `Usage: key-sync emulator ${synopsis.join(' ')}

Runs a local emulator of IBM Cloud IAM (/identity/token) and the Key Protect / HPCS key API
(/api/v2/keys/...) with the sync time gate, rotation and key versions, registrations that
lag a rotation until acknowledged, faults and an admin API under /__emulator/ (log, clock,
faults, state, settings, registrations/ack). Binds 127.0.0.1 by default; stops on Ctrl-C
(SIGINT) or SIGTERM.

Flags:
${rows.join('\n')}`;
}

const USAGE = usage();

/** Streams the command writes to. */
export interface EmulatorCommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

function intFlag(name: string, raw: string | undefined, min: number, max: number): number | string | undefined {
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
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
  let values: { [K in FlagName]?: (typeof EMULATOR_FLAGS)[K]['type'] extends 'boolean' ? boolean : string };
  try {
    const options = Object.fromEntries(
      Object.entries(EMULATOR_FLAGS).map(([name, f]) => [name, 'short' in f ? { type: f.type, short: f.short } : { type: f.type }]),
    ) as Record<FlagName, { type: 'string' | 'boolean'; short?: string }>;
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }) as { values: typeof values });
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
  const registrationAckSeconds = intFlag('registration-ack-seconds', values['registration-ack-seconds'], 0, 366 * 86400);
  if (typeof registrationAckSeconds === 'string') return fail(registrationAckSeconds);
  const maxPageSize = intFlag('max-page-size', values['max-page-size'], 1, 5000);
  if (typeof maxPageSize === 'string') return fail(maxPageSize);
  const versionDateSkewSeconds = intFlag('version-date-skew-seconds', values['version-date-skew-seconds'], -60, 60);
  if (typeof versionDateSkewSeconds === 'string') return fail(versionDateSkewSeconds);

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
      ...(registrationAckSeconds !== undefined ? { registrationAckSeconds } : {}),
      ...(maxPageSize !== undefined ? { maxPageSize } : {}),
      ...(versionDateSkewSeconds !== undefined ? { versionDateSkewSeconds } : {}),
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
  const settings = emulator.state.settings;
  lines.push(
    '',
    `API keys: ${seed.apiKeys.join(', ')}`,
    `Sync and rotation gate: ${gateSeconds ?? 3600} s; registrations acknowledge a new key version ${settings.registrationAckSeconds === 0 ? 'at once' : `after ${settings.registrationAckSeconds} s`}; listing pages ${settings.maxPageSize === undefined ? 'uncapped' : `capped at ${settings.maxPageSize} items`}`,
    `Admin API: ${emulator.url}/__emulator/{log,clock,faults,state,settings,registrations/ack}`,
    '',
  );
  lines.push('Export these to point key-sync (and IBM SDKs) at the emulator:');
  lines.push(`export IBMCLOUD_API_KEY=${shellQuote(apiKey)}`);
  lines.push(`export IBMCLOUD_IAM_API_ENDPOINT=${emulator.url}`);
  lines.push(`export IBMCLOUD_KP_API_ENDPOINT=${emulator.url}`);
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
