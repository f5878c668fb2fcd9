/**
 * `npm run demo:rotation` (`npm run build:cli && tsx scripts/demo-rotation.ts`; jest's
 * globalSetup has built the bundle) into a temp outdir: with the stand-in, and with real
 * terraform/tofu when one is on PATH. The story must hold and the output must carry no
 * credential.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SEED } from '../../src/emulator/seed';
import { skipUnless } from '../helpers/skip';

const root = path.resolve(__dirname, '..', '..');

function runDemo(extraEnv: Record<string, string>): { status: number | null; out: string } {
  const outdir = mkdtempSync(path.join(tmpdir(), 'demo-rotation-out-'));
  try {
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/demo-rotation.ts'], {
      cwd: root,
      env: { ...process.env, KEY_SYNC_DEMO_OUTDIR: outdir, CHECKPOINT_DISABLE: '1', ...extraEnv },
      encoding: 'utf8',
      timeout: 90_000,
    });
    return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function expectStory(status: number | null, out: string): void {
  expect({ status, out }).toEqual({ status: 0, out: expect.stringContaining('Summary') });
  expect(out).toMatch(/PaymentsKey_rotation +create +new\n +exit 0: key-sync: rotated key 4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84 .*rotated for generation 2026-Q3: new version/);
  expect(out).toMatch(/PaymentsKey_sync +create +new\n +exit 0: key-sync: no sync needed, key .*that rotation notified its associated resources/);
  expect(out).toMatch(/\[3\/5\][^\n]*\n( +terraform_data\.\S+ +no-op +unchanged\n){4}/);
  expect(out).toMatch(/rotated for generation 2026-Q4: new version/);
  expect(out).toMatch(/exit 75: key-sync: not rotated yet, .*rotation time gate closed until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(one rotation an hour; last rotated at/);
  expect(out).toMatch(/PaymentsKey_rotation +replace +tainted by a failed provisioner\n +exit 0: key-sync: rotated key .*generation 2027-Q1/);
  expect(out).toContain('payments key versions: 4');
  expect(out).toContain('rotate requests seen by the emulator: 3 (3 x 204)');
  expect(out).not.toContain('DEMO FAILED');
  for (const k of DEFAULT_SEED.apiKeys) expect(out).not.toContain(k);
  expect(out).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  expect(out).not.toMatch(/Bearer /i);
}

test('npm run demo:rotation with the stand-in: the whole story, exit 0', () => {
  const { status, out } = runDemo({ KEY_SYNC_DEMO_APPLY: 'stand-in' });
  expectStory(status, out);
  expect(out).toContain('Applying with the stand-in');
}, 120_000);

const hasTerraform = ['terraform', 'tofu'].some((b) => spawnSync(b, ['version'], { stdio: 'ignore' }).status === 0);
skipUnless(hasTerraform, '"npm run demo:rotation with real terraform"', 'neither terraform nor tofu is on PATH').test('npm run demo:rotation with real terraform/tofu: the whole story, exit 0', () => {
  const { status, out } = runDemo({});
  expectStory(status, out);
  expect(out).toMatch(/Applying with (terraform|tofu) \(every resource is a terraform_data/);
}, 120_000);
