/**
 * Shared harness of the reliability suite (not a test file): per-file random canary
 * credentials registered in an emulator, CLI runs with leak checks, a connection
 * recorder, a black-holed port, and a plain-text table printer for the fault matrix.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SEED } from '../../src/emulator/seed';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/server';
import { KP_INSTANCE, KP_KEY, runCli, type CliRun } from '../helpers/cli';

export { KP_INSTANCE, KP_KEY };

/** Random per test file: a canary that leaks cannot be a coincidence of another test. */
export const CANARY_KEY = `CANARY-apikey-${randomBytes(12).toString('hex')}`;
export const CANARY_TOKEN = `CANARY-token-${randomBytes(12).toString('hex')}`;

export type Creds = 'apikey' | 'token';

/** An emulator on 127.0.0.1:0 that knows the canary API key and accepts the canary token. */
export function startCanary(opts: Omit<EmulatorOptions, 'seed' | 'staticTokens'> = {}): Promise<RunningEmulator> {
  return startEmulator({
    port: 0,
    ...opts,
    seed: { ...DEFAULT_SEED, apiKeys: [...DEFAULT_SEED.apiKeys, CANARY_KEY] },
    staticTokens: [CANARY_TOKEN],
  });
}

/** Minimal CLI environment: PATH, one canary credential, endpoints, fast time. */
export function env(creds: Creds, urls: { kms: string; iam: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    ...(creds === 'apikey' ? { IBMCLOUD_API_KEY: CANARY_KEY, IBMCLOUD_IAM_API_ENDPOINT: urls.iam } : { IBMCLOUD_IAM_TOKEN: CANARY_TOKEN }),
    IBMCLOUD_KP_API_ENDPOINT: urls.kms,
    KEY_SYNC_TIME_SCALE: '0.001',
    KEY_SYNC_ATTEMPT_TIMEOUT_MS: '400',
    KEY_SYNC_TOKEN_CACHE: 'off',
    ...extra,
  };
}

/** Every place a credential must never appear: returns the names of the leaking ones. */
export function leaks(texts: Record<string, string>): string[] {
  const bad: string[] = [];
  for (const [name, text] of Object.entries(texts)) {
    if (text.includes(CANARY_KEY) || text.includes(CANARY_TOKEN) || /CANARY-(apikey|token)-[0-9a-f]{6}/.test(text)) bad.push(`${name}: canary`);
    if (/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/.test(text)) bad.push(`${name}: JWT`);
    if (/Bearer\s+(?!\[REDACTED\])[A-Za-z0-9]/.test(text)) bad.push(`${name}: bearer`);
  }
  return bad;
}

/** Leaks in a CLI run and in the emulator's request log. */
export function runLeaks(run: CliRun, emu?: RunningEmulator): string[] {
  return leaks({ stdout: run.stdout, stderr: run.stderr, ...(emu === undefined ? {} : { 'emulator log': JSON.stringify(emu.log()) }) });
}

export { runCli };
export type { CliRun };

/** The one JSON object a --json run prints (undefined if stdout is not exactly that). */
export function jsonOf(run: CliRun): Record<string, unknown> | undefined {
  const lines = run.stdout.trim().split('\n').filter((l) => l !== '');
  if (lines.length !== 1) return undefined;
  try {
    return JSON.parse(lines[0] as string) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A loopback TCP server that only counts connections (and closes them). */
export async function connectionRecorder(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    n++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.destroy();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  return {
    port,
    connections: () => n,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      srv.close(() => r());
    }),
  };
}

/** A fresh empty directory. */
export function emptyDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Every file and directory under `dir` (relative paths). */
export function entriesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      out.push(path.relative(dir, p));
      if (statSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** A plain-text table: header, rule, rows; columns padded to the widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...rows.map(line)].join('\n');
}

/**
 * A loopback TCP proxy in front of `port` that calls `onData` with each chunk a client
 * sends (to see that a request is in flight, e.g. one the server will never answer).
 */
export async function tapProxy(port: number, onData: (chunk: string) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (d: Buffer) => onData(d.toString('latin1')));
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port: own } = srv.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${own}`,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      srv.close(() => r());
    }),
  };
}

/** Whether python3 is here (it holds a listen queue full for {@link blackHole}). */
export const HAS_PYTHON = spawnSync('python3', ['-c', 'print(1)'], { encoding: 'utf8' }).status === 0;

/**
 * A black-holed TCP port on loopback: a socket that listens with a queue of one and never
 * accepts, its queue filled, so the kernel drops further SYNs and a connect hangs, as to a
 * black-holed address. Needs python3 ({@link HAS_PYTHON}): Node cannot set a listen backlog
 * of zero.
 */
export async function blackHole(): Promise<{ port: number; close: () => void }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ks-blackhole-'));
  const script = path.join(dir, 'hold.py');
  writeFileSync(script, [
    'import socket, time',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
    'port = s.getsockname()[1]',
    'fill = []',
    'for _ in range(8):',
    '    c = socket.socket(); c.setblocking(False)',
    '    try: c.connect(("127.0.0.1", port))',
    '    except BlockingIOError: pass',
    '    fill.append(c)',
    'print(port, flush=True)',
    'time.sleep(60)',
  ].join('\n'));
  const py = spawn('python3', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const close = (): void => {
    py.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      py.once('error', reject);
      py.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    });
    return { port, close };
  } catch (e) {
    close();
    throw e;
  }
}
