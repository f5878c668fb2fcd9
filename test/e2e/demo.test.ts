import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SEED } from '../../src/emulator/seed';
import { skipUnless } from '../helpers/skip';

const root = path.resolve(__dirname, '..', '..');

/**
 * `npm start` runs `npm run build:cli && tsx scripts/demo.ts`; jest's globalSetup has
 * built the bundle, so this runs the same script the same way, into a temp outdir.
 */
function runDemo(extraEnv: Record<string, string>): { status: number | null; out: string } {
  const outdir = mkdtempSync(path.join(tmpdir(), 'demo-out-'));
  try {
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/demo.ts'], {
      cwd: root,
      env: { ...process.env, KEY_SYNC_DEMO_OUTDIR: outdir, CHECKPOINT_DISABLE: '1', ...extraEnv },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function expectStory(status: number | null, out: string): void {
  expect({ status, out }).toEqual({ status: 0, out: expect.stringContaining('Summary') });
  expect(out).toMatch(/PaymentsKey_sync +replace +triggers changed: .*sync_hash/);
  expect(out).toMatch(/AnalyticsKey_sync +no-op/);
  expect(out).toMatch(/exit 75: .*gate closed until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, in 1 h/);
  expect(out).toMatch(/PaymentsKey_sync +replace +tainted by a failed provisioner\n +exit 0: key-sync: synced/);
  expect(out).toMatch(/sync requests seen by the emulator: 5 \(4 x 204, 1 x 409 gated\)/);
  // Step 2 lists what main.ts synthesizes (null_resource); a switch to terraform_data is
  // explained in step 3, before its addresses are shown.
  const step2 = out.slice(out.indexOf('[2/5]'), out.indexOf('[3/5]'));
  expect(step2).toMatch(/null_resource\.PaymentsKey_sync +sync_hash/);
  expect(step2).not.toContain('terraform_data');
  // The gate line's clock skew is the demo's own clock jump, and the demo says so.
  expect(out).toMatch(/by the key service's clock, which is 1 h( \d+ min)? ahead of this machine's.*\n +\(the emulator's clock is ahead of this machine's because this demo moved it forward/);
  expect(out).not.toContain('DEMO FAILED');
  // Nothing that looks like a credential: not the demo API key, not a token.
  for (const k of DEFAULT_SEED.apiKeys) expect(out).not.toContain(k);
  expect(out).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  expect(out).not.toMatch(/Bearer /i);
}

test('npm start with the stand-in: the whole story, exit 0, summary', () => {
  const { status, out } = runDemo({ KEY_SYNC_DEMO_APPLY: 'stand-in' });
  expectStory(status, out);
  expect(out).toMatch(/a stand-in runs each local-exec command exactly as Terraform would/);
  expect(out).toMatch(/null_resource\.PaymentsKey_sync/);
}, 90_000);

const hasTerraform = ['terraform', 'tofu'].some((b) => spawnSync(b, ['version'], { stdio: 'ignore' }).status === 0);
skipUnless(hasTerraform, '"npm start with real terraform"', 'neither terraform nor tofu is on PATH').test('npm start with real terraform/tofu: the whole story, exit 0, summary', () => {
  const { status, out } = runDemo({});
  expectStory(status, out);
  expect(out).toMatch(/\[3\/5\] Apply with (terraform|tofu)/);
}, 120_000);
