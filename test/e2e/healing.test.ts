/**
 * The README's scheduled-healing step, run as written (its `npx key-sync` resolved to the
 * bundled CLI) against the emulator: with a key behind it syncs that key only and exits
 * 0; gated, it exits 0 and says the next run retries; a permanent failure fails the step.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import { DEFAULT_SEED } from '../../src/emulator/seed';
import { CLI, CANARY_API_KEY, KP_INSTANCE, KP_KEY, requests, runProcess } from '../helpers/cli';
import { docBlock } from './doc-blocks';

const H = 3_600_000;
let emu: RunningEmulator;

beforeEach(async () => {
  emu = await startEmulator({ port: 0, now: Date.parse('2026-12-01T10:00:00Z'), registrationAckSeconds: 10 * 3600, seed: { ...DEFAULT_SEED, apiKeys: [...DEFAULT_SEED.apiKeys, CANARY_API_KEY] } });
});
afterEach(async () => emu.close());

/** The step, with `npx` on PATH resolving `npx key-sync` to the bundle. */
async function step(extra: Record<string, string> = {}) {
  const bin = mkdtempSync(path.join(tmpdir(), 'ks-heal-bin-'));
  const npx = path.join(bin, 'npx');
  writeFileSync(npx, `#!/bin/sh\n[ "$1" = key-sync ] || { echo "unexpected npx $1" >&2; exit 127; }\nshift\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(npx, 0o755);
  return runProcess('/bin/sh', ['-c', docBlock('healing-step').text], {
    PATH: `${bin}:${process.env['PATH'] ?? ''}`,
    IBMCLOUD_API_KEY: CANARY_API_KEY,
    IBMCLOUD_IAM_API_ENDPOINT: emu.url,
    IBMCLOUD_KP_API_ENDPOINT: emu.url,
    KEY_SYNC_TOKEN_CACHE: 'off',
    KP_INSTANCE_ID: KP_INSTANCE,
    KP_REGION: 'us-south',
    ...extra,
  }, { timeoutMs: 30_000 });
}

function rotatePayments(): void {
  const key = emu.state.keys.get(KP_KEY);
  if (key === undefined) throw new Error('seed key missing');
  expect(emu.state.action(key, 'rotate', emu.clock.now()).ok).toBe(true);
}

test('a key behind: the step syncs it (only it) and succeeds', async () => {
  rotatePayments();
  emu.clock.advance(5 * H);
  const r = await step();
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('heal: nothing behind, or every key that was behind is synced');
  expect(r.stdout).toMatch(/^4a1e9c37\S+\s+synced\s+204/m);
  expect(requests(emu, 'keys.sync')).toHaveLength(1);
});

test('nothing behind: the step sends no sync and succeeds', async () => {
  const r = await step();
  expect(r.code).toBe(0);
  expect(requests(emu, 'keys.sync')).toHaveLength(0);
});

test('gated: the step succeeds and says the next run retries', async () => {
  rotatePayments();
  emu.clock.advance(5 * H);
  // Another sync of the key just now: the gate is closed for an hour.
  const key = emu.state.keys.get(KP_KEY);
  if (key === undefined) throw new Error('seed key missing');
  expect(emu.state.sync(key, emu.clock.now()).ok).toBe(true);
  const r = await step({ KEY_SYNC_TIME_SCALE: '0.001' });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('heal: some syncs are gated or the service is busy; the next scheduled run retries them');
});

test('a permanent failure fails the step with its exit code', async () => {
  emu.injectFaults('registrations.all', [{ status: 403, times: 10 }]);
  const r = await step();
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('heal: key-sync failed (exit 1)');
});
