/**
 * Helpers for CLI integration tests: run dist/key-sync.cjs as a child process against an
 * emulator on 127.0.0.1 with a canary API key, and count what the emulator saw.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { DEFAULT_SEED } from '../../src/emulator/seed';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/server';
import type { RequestLogEntry } from '../../src/emulator/request-log';

export const CLI = path.resolve(__dirname, '../../dist/key-sync.cjs');
export const KP_INSTANCE = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
export const KP_KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
export const HPCS_INSTANCE = '6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73';
export const HPCS_KEY = 'c7e2a9f4-1b6d-4c38-9e05-a3f8d2b1c6e9';
/** Must never appear in any output. */
export const CANARY_API_KEY = 'CANARY-apikey-7f3e9b1c5d2a4e6f8091a2b3c4d5e6f7';

/** Starts the emulator with the default seed plus the canary API key (and `extra` seed parts). */
export async function startCanaryEmulator(opts: Omit<EmulatorOptions, 'seed'> & { seed?: Partial<typeof DEFAULT_SEED> } = {}): Promise<RunningEmulator> {
  const { seed, ...rest } = opts;
  return startEmulator({ port: 0, ...rest, seed: { ...DEFAULT_SEED, ...seed, apiKeys: [...DEFAULT_SEED.apiKeys, CANARY_API_KEY] } });
}

/** Environment for the CLI: only what it needs (no inherited credentials). */
export function cliEnv(emu: { url: string } | undefined, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    IBMCLOUD_API_KEY: CANARY_API_KEY,
    KEY_SYNC_TIME_SCALE: '0.001',
    // Each run exchanges its own token, so tests that count IAM requests do not depend on
    // the order they run in (the shared cache has tests of its own).
    KEY_SYNC_TOKEN_CACHE: 'off',
  };
  if (emu !== undefined) {
    env['IBMCLOUD_IAM_API_ENDPOINT'] = emu.url;
    env['IBMCLOUD_KP_API_ENDPOINT'] = emu.url;
  }
  return { ...env, ...extra };
}

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface RunOptions {
  /** Sees stderr as it arrives (e.g. to move the emulator clock when the CLI starts waiting for the gate). */
  readonly onStderr?: (all: string, child: ReturnType<typeof spawn>) => void;
  readonly onSpawn?: (child: ReturnType<typeof spawn>) => void;
  /** SIGKILL after this long (default 20 s). */
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

/**
 * Runs a command asynchronously and collects its output. Asynchronously on purpose: an
 * emulator started in the test process answers from this event loop, which spawnSync
 * would block.
 */
export function runProcess(command: string, args: readonly string[], env: Record<string, string | undefined>, opts: RunOptions = {}): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }) });
    opts.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      opts.onStderr?.(stderr, child);
    });
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Runs the bundled CLI (`node dist/key-sync.cjs ...args`). */
export function runCli(args: readonly string[], env: Record<string, string>, opts: RunOptions = {}): Promise<CliRun> {
  return runProcess(process.execPath, [CLI, ...args], env, opts);
}

/** Requests the emulator saw for a route. */
export function requests(emu: RunningEmulator, route: RequestLogEntry['route']): RequestLogEntry[] {
  return emu.log().filter((e) => e.route === route);
}

/** Every request except the admin API. */
export function apiRequests(emu: RunningEmulator): RequestLogEntry[] {
  return emu.log().filter((e) => e.route !== 'admin');
}

/** A loopback port with nothing listening (connection refused). */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Asserts no credential leaked into the output. */
export function expectNoSecrets(run: CliRun): void {
  for (const out of [run.stdout, run.stderr]) {
    expect(out).not.toContain(CANARY_API_KEY);
    expect(out).not.toContain('CANARY-apikey');
    expect(out).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}/);
    expect(out).not.toMatch(/Bearer\s+(?!\[REDACTED\])\S/);
  }
}

/** The one JSON object a `--json` run printed on stdout (fails the test on anything else). */
export function jsonOut(run: CliRun): Record<string, unknown> {
  const lines = run.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
}
