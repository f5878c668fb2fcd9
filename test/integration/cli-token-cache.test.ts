/**
 * The IAM token cache through the real CLI: the processes of one apply (Terraform starts
 * one per key, ten at a time) exchange the API key once, not once each; a token the key
 * service refuses is dropped and replaced; another API key never gets this key's token;
 * an unsafe directory turns the cache off with a note; the API key is in no file.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import { CANARY_API_KEY, KP_INSTANCE, KP_KEY, cliEnv, requests, runCli } from '../helpers/cli';
import { DEFAULT_SEED } from '../../src/emulator/seed';

const OTHER_KEY = 'CANARY-apikey-other-5c4b3a29180716f5e4d3';
let emu: RunningEmulator;
let runtime: string;

beforeEach(async () => {
  emu = await startEmulator({ port: 0, gateSeconds: 0, seed: { ...DEFAULT_SEED, apiKeys: [...DEFAULT_SEED.apiKeys, CANARY_API_KEY, OTHER_KEY] } });
  runtime = mkdtempSync(path.join(tmpdir(), 'ks-token-cache-'));
});

afterEach(async () => {
  await emu.close();
  rmSync(runtime, { recursive: true, force: true });
});

/** The CLI with the cache on, in this test's runtime directory. */
function envWithCache(extra: Record<string, string> = {}): Record<string, string> {
  return cliEnv(emu, { KEY_SYNC_TOKEN_CACHE: 'on', XDG_RUNTIME_DIR: runtime, ...extra });
}

const SYNC = ['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY, '--max-wait', '0'];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

test('ten processes at once exchange the API key once; the token file holds no API key', async () => {
  const runs = await Promise.all(Array.from({ length: 10 }, () => runCli(SYNC, envWithCache())));
  for (const r of runs) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(requests(emu, 'iam.token')).toHaveLength(1);
  expect(requests(emu, 'keys.sync')).toHaveLength(10);
  const files = filesUnder(runtime);
  expect(files.map((f) => path.relative(runtime, f))).toEqual([expect.stringMatching(/^key-sync\/[0-9a-f]{64}\.token$/)]);
  for (const f of files) expect(readFileSync(f, 'utf8')).not.toContain(CANARY_API_KEY);
  // A later process of the same runner uses it too.
  expect((await runCli(SYNC, envWithCache())).code).toBe(0);
  expect(requests(emu, 'iam.token')).toHaveLength(1);
});

test('turned off: every process exchanges for itself and nothing is written', async () => {
  for (let i = 0; i < 3; i++) expect((await runCli(SYNC, envWithCache({ KEY_SYNC_TOKEN_CACHE: 'off' }))).code).toBe(0);
  expect(requests(emu, 'iam.token')).toHaveLength(3);
  expect(filesUnder(runtime)).toEqual([]);
});

test('another API key never gets this key\'s token', async () => {
  expect((await runCli(SYNC, envWithCache())).code).toBe(0);
  expect((await runCli(SYNC, envWithCache({ IBMCLOUD_API_KEY: OTHER_KEY }))).code).toBe(0);
  expect(requests(emu, 'iam.token')).toHaveLength(2);
  expect(filesUnder(path.join(runtime, 'key-sync')).filter((f) => f.endsWith('.token'))).toHaveLength(2);
});

test('a cached token the key service refuses is dropped and replaced (one refresh, then the new one is shared)', async () => {
  expect((await runCli(SYNC, envWithCache())).code).toBe(0);
  emu.injectFaults('keys.sync', [{ status: 401 }]);
  const r = await runCli(SYNC, envWithCache());
  expect(r.code).toBe(0);
  expect(requests(emu, 'iam.token')).toHaveLength(2);
  // The next process uses the replacement: no third exchange.
  expect((await runCli(SYNC, envWithCache())).code).toBe(0);
  expect(requests(emu, 'iam.token')).toHaveLength(2);
});

test('a directory others can read turns the cache off with a note; the sync still works', async () => {
  const dir = path.join(runtime, 'key-sync');
  expect((await runCli(SYNC, envWithCache())).code).toBe(0);
  chmodSync(dir, 0o755);
  const r = await runCli(SYNC, envWithCache());
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/^key-sync: note: the IAM token cache is off: \S+ has mode 0755, which lets others in: chmod 700 /m);
  expect(requests(emu, 'iam.token')).toHaveLength(2);
});
