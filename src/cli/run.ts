/**
 * The CLI as a function: argv + environment + streams -> exit code. Never calls
 * process.exit (main.ts does the process wiring). Start-up stays cheap: the HTTP client
 * (undici) and the emulator load only when a command needs them (dynamic imports, which
 * the esbuild bundle keeps lazy).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Dispatcher } from 'undici';
import type { KmsClient, RegistrationsResult, Sleep, SyncResult } from '../client/kms-client';
import { createRedactor } from '../client/errors';
import { HELP, KEYS_FILE_MAX_BYTES, parseCommand, parseKeysFile, type ApiConfig, type Env, type FleetSyncConfig, type RegistrationsConfig, type SyncConfig } from './args';
import { FleetProgress, fleetJson, fleetTable, syncFleet } from './fleet';
import { checkKeyId } from '../domain';
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  ProgressPrinter,
  exitCodeFor,
  registrationsJson,
  registrationsText,
  syncJson,
  syncLine,
  type TextSink,
} from './output';

declare const KEY_SYNC_VERSION: string;

/** The package version: inlined by the bundler; read from package.json under ts-jest/tsx. */
export function version(): string {
  if (typeof KEY_SYNC_VERSION === 'string') return KEY_SYNC_VERSION;
  try {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'dev';
  } catch {
    return 'dev';
  }
}

// Lazy loading. `require` rather than `import()`: the package compiles to CommonJS (a
// real import() would need ESM paths under ts-jest), and esbuild turns a require of a
// bundled module into a lazily-run initialiser, so undici and the emulator cost nothing
// until a command needs them.
/* eslint-disable @typescript-eslint/no-require-imports */
const loadClient = (): typeof import('../client/kms-client') => require('../client/kms-client') as typeof import('../client/kms-client');
const loadEmulator = (): typeof import('../emulator/cli-command') => require('../emulator/cli-command') as typeof import('../emulator/cli-command');
/* eslint-enable @typescript-eslint/no-require-imports */

export interface RunIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Whether stderr is a terminal (progress is redrawn in place). */
  readonly isTTY: boolean;
  /** SIGINT/SIGTERM: stop, say what state the sync is in, exit 75 (0 if already accepted). */
  readonly signal?: AbortSignal;
  /** Clock for tests (epoch ms). */
  readonly now?: () => number;
  readonly dispatcher?: Dispatcher;
  readonly sleep?: Sleep;
  readonly random?: () => number;
}

/**
 * Real sleep scaled by the KEY_SYNC_TIME_SCALE test hook: `sleep(ms)` waits ms * scale and
 * then moves this clock forward by the time skipped, so deadlines and gate waits stay
 * consistent while a test runs an hour-long wait in milliseconds. Scale 1: plain time.
 */
export function scaledTime(scale: number, realNow: () => number, realSleep: Sleep): { now: () => number; sleep: Sleep } {
  if (scale === 1) return { now: realNow, sleep: realSleep };
  let skipped = 0;
  return {
    now: () => realNow() + skipped,
    sleep: async (ms, signal) => {
      await realSleep(ms * scale, signal);
      skipped += ms - ms * scale;
    },
  };
}

export async function run(argv: readonly string[], env: Env, io: RunIo): Promise<number> {
  const cmd = parseCommand(argv, env);
  switch (cmd.kind) {
    case 'help':
      io.stdout.write(HELP);
      return EXIT_OK;
    case 'version':
      io.stdout.write(`key-sync ${version()}\n`);
      return EXIT_OK;
    case 'usage-error':
      io.stderr.write(`key-sync: ${cmd.message}\nRun \`key-sync ${cmd.topic === undefined ? '' : `${cmd.topic} `}--help\` for usage.\n`);
      return EXIT_USAGE;
    case 'emulator': {
      const { runEmulatorCommand } = loadEmulator();
      return runEmulatorCommand([...cmd.argv], { stdout: io.stdout as NodeJS.WritableStream, stderr: io.stderr as NodeJS.WritableStream }, io.signal);
    }
    case 'sync':
      return guarded(cmd.config, io, () => runSync(cmd.config, io));
    case 'fleet-sync': {
      const keys = fleetKeys(cmd.config, io);
      if (keys === undefined) return EXIT_USAGE;
      return guarded(cmd.config, io, () => runFleetSync(cmd.config, keys, io));
    }
    case 'registrations':
      return guarded(cmd.config, io, () => runRegistrations(cmd.config, io));
  }
}

/** Anything unexpected: exit 1 with a redacted message (never a stack with secrets). */
async function guarded(config: ApiConfig, io: RunIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    const redact = createRedactor(config.credentials.kind === 'api-key' ? [config.credentials.apiKey] : [config.credentials.token]);
    io.stderr.write(`key-sync: internal error: ${redact(e instanceof Error ? e.message : String(e))}\n`);
    return EXIT_FAILED;
  }
}

async function makeClient(config: ApiConfig, io: RunIo, maxConcurrentRequests?: number): Promise<{ client: KmsClient; now: () => number }> {
  const { KmsClient, realSleep } = loadClient();
  const time = scaledTime(config.timeScale, io.now ?? Date.now, io.sleep ?? realSleep);
  const client = new KmsClient({
    baseUrl: config.baseUrl,
    credentials: config.credentials,
    now: time.now,
    sleep: time.sleep,
    userAgent: `key-sync/${version()}`,
    ...(io.dispatcher === undefined ? {} : { dispatcher: io.dispatcher }),
    ...(io.random === undefined ? {} : { random: io.random }),
    ...(config.attemptTimeoutMs === undefined ? {} : { limits: { attemptTimeoutMs: config.attemptTimeoutMs } }),
    ...(maxConcurrentRequests === undefined ? {} : { maxConcurrentRequests }),
  });
  return { client, now: time.now };
}

async function runSync(config: SyncConfig, io: RunIo): Promise<number> {
  const { client, now } = await makeClient(config, io);
  const progress = new ProgressPrinter(io.stderr, io.isTTY, `key-sync: key ${config.keyId}`, now);
  for (const n of config.notes) progress.note(`key-sync: ${n}`);
  try {
    let registrations: number | undefined;
    if (config.verifyRegistrations) {
      const reg = await client.listRegistrations({
        instanceId: config.instanceId,
        keyId: config.keyId,
        ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
        pageSize: 5000,
        onProgress: progress.onProgress,
        ...(io.signal === undefined ? {} : { signal: io.signal }),
      });
      if (reg.outcome === 'listed') {
        registrations = reg.registrations.length;
        progress.note(registrations === 0
          ? `key-sync: warning: key ${config.keyId} has no registrations: the sync has nobody to notify (registrations can lag behind reality; syncing anyway)`
          : `key-sync: key ${config.keyId} has ${registrations} registration${registrations === 1 ? '' : 's'}`);
      } else if (reg.code === 'KS_ABORTED') {
        progress.finish();
        return report(abortedBeforeSync(reg), config, io, registrations);
      } else {
        progress.note(`key-sync: warning: could not list the registrations of key ${config.keyId} (${reg.message}); syncing anyway`);
      }
    }
    const result = await client.sync(config.keyId, {
      instanceId: config.instanceId,
      ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
      maxWaitSeconds: config.maxWaitSeconds,
      onProgress: progress.onProgress,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
    progress.finish();
    return report(result, config, io, registrations);
  } finally {
    progress.finish();
    await client.close();
  }
}

function abortedBeforeSync(reg: RegistrationsResult): SyncResult {
  return {
    outcome: 'failed',
    correlationId: reg.correlationId,
    attempts: 0,
    waitedMs: reg.waitedMs,
    code: 'KS_ABORTED',
    retryLater: true,
    phase: reg.phase,
    message: 'interrupted while listing registrations; no sync was sent. The next apply will retry it',
  };
}

function report(result: SyncResult, config: SyncConfig, io: RunIo, registrations: number | undefined): number {
  const subject = { keyId: config.keyId, instanceId: config.instanceId, ...(registrations === undefined ? {} : { registrations }) };
  if (config.json) io.stdout.write(`${JSON.stringify(syncJson(result, subject))}\n`);
  else (result.outcome === 'synced' ? io.stdout : io.stderr).write(`${syncLine(result, subject)}\n`);
  return exitCodeFor(result);
}

async function runRegistrations(config: RegistrationsConfig, io: RunIo): Promise<number> {
  const { client, now } = await makeClient(config, io);
  const progress = new ProgressPrinter(io.stderr, io.isTTY, 'key-sync', now);
  for (const n of config.notes) progress.note(`key-sync: ${n}`);
  try {
    const r = await client.listRegistrations({
      instanceId: config.instanceId,
      ...(config.keyId === undefined ? {} : { keyId: config.keyId }),
      ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
      ...(config.crnQuery === undefined ? {} : { crnQuery: config.crnQuery }),
      pageSize: 5000,
      onProgress: progress.onProgress,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
    progress.finish();
    if (config.json) io.stdout.write(`${JSON.stringify(registrationsJson(r, config.instanceId, config.keyId))}\n`);
    else (r.outcome === 'listed' ? io.stdout : io.stderr).write(registrationsText(r, config.instanceId, config.keyId));
    return exitCodeFor(r);
  } finally {
    progress.finish();
    await client.close();
  }
}

/**
 * The keys of a fleet sync known before any request: repeated --key-id, then the keys
 * file (read and checked here, exit 2 on a bad line), without duplicates. undefined after
 * printing a usage error. --all-registered keys come from the service later.
 */
function fleetKeys(config: FleetSyncConfig, io: RunIo): string[] | undefined {
  const keys: string[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  const add = (k: string): void => {
    if (seen.has(k)) duplicates++;
    else {
      seen.add(k);
      keys.push(k);
    }
  };
  config.keyIds.forEach(add);
  if (config.keysFile !== undefined) {
    let text: string;
    try {
      const buf = readFileSync(config.keysFile);
      if (buf.length > KEYS_FILE_MAX_BYTES) throw Object.assign(new Error('too large'), { code: `larger than ${KEYS_FILE_MAX_BYTES} bytes` });
      text = buf.toString('utf8');
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'unreadable';
      io.stderr.write(`key-sync: --keys-file ${config.keysFile} cannot be read (${code}); give a file with one key id or alias per line\nRun \`key-sync sync --help\` for usage.\n`);
      return undefined;
    }
    const parsed = parseKeysFile(text, config.keysFile);
    if (!parsed.ok) {
      io.stderr.write(`key-sync: ${parsed.message}\nRun \`key-sync sync --help\` for usage.\n`);
      return undefined;
    }
    duplicates += parsed.duplicates;
    parsed.keys.forEach(add);
  }
  if (duplicates > 0) io.stderr.write(`key-sync: ${duplicates} duplicate key${duplicates === 1 ? '' : 's'} given; each key is synced once\n`);
  return keys;
}

async function runFleetSync(config: FleetSyncConfig, given: readonly string[], io: RunIo): Promise<number> {
  const { client, now } = await makeClient(config, io, config.concurrency);
  const progress = new FleetProgress(io.stderr, io.isTTY, now);
  for (const n of config.notes) progress.note(`key-sync: ${n}`);
  try {
    let keys = given;
    let registrations: number | undefined;
    if (config.allRegistered) {
      const reg = await client.listRegistrations({
        instanceId: config.instanceId,
        ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
        pageSize: 5000,
        ...(io.signal === undefined ? {} : { signal: io.signal }),
      });
      if (reg.outcome !== 'listed') {
        progress.finish();
        if (config.json) io.stdout.write(`${JSON.stringify(registrationsJson(reg, config.instanceId, undefined))}\n`);
        else io.stderr.write(registrationsText(reg, config.instanceId, undefined));
        return exitCodeFor(reg);
      }
      registrations = reg.registrations.length;
      const distinct: string[] = [];
      const seen = new Set<string>();
      let unusable = 0;
      for (const r of reg.registrations) {
        const k = r.keyId;
        if (typeof k !== 'string' || checkKeyId(k) !== undefined) {
          unusable++;
          continue;
        }
        if (!seen.has(k)) {
          seen.add(k);
          distinct.push(k);
        }
      }
      keys = distinct;
      progress.note(`key-sync: ${registrations} registration${registrations === 1 ? '' : 's'} name ${keys.length} key${keys.length === 1 ? '' : 's'} of instance ${config.instanceId}${unusable > 0 ? ` (${unusable} without a usable key id, skipped)` : ''}${keys.length === 0 ? '; nothing to sync' : ''}`);
    }
    const result = await syncFleet(client, keys, {
      instanceId: config.instanceId,
      ...(config.keyRing === undefined ? {} : { keyRing: config.keyRing }),
      maxWaitSeconds: config.maxWaitSeconds,
      concurrency: config.concurrency,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      onChange: progress.update,
    }, now);
    progress.finish();
    const source = config.allRegistered ? 'all-registered' : config.keysFile !== undefined ? 'keys-file' : 'key-id';
    if (config.json) {
      io.stdout.write(`${JSON.stringify(fleetJson(result, config.instanceId, { source, concurrency: config.concurrency, ...(registrations === undefined ? {} : { registrations }) }))}\n`);
    } else {
      io.stdout.write(fleetTable(result, config.instanceId, now()));
    }
    return result.exitCode;
  } finally {
    progress.finish();
    await client.close();
  }
}
