import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SEED } from '../../src/emulator/seed';

// `npm start` runs `npm run build:cli && tsx scripts/demo.ts`; jest's globalSetup has
// built the bundle, so this runs the same script the same way, into a temp outdir.
test('the npm start demo runs the whole story and exits 0 with its summary', () => {
  const root = path.resolve(__dirname, '..', '..');
  const outdir = mkdtempSync(path.join(tmpdir(), 'demo-out-'));
  try {
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/demo.ts'], {
      cwd: root,
      env: { ...process.env, KEY_SYNC_DEMO_OUTDIR: outdir, CHECKPOINT_DISABLE: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    expect({ status: r.status, out }).toEqual({ status: 0, out: expect.stringContaining('Summary') });
    expect(out).toMatch(/PaymentsKey_sync +replace +triggers changed: .*sync_hash/);
    expect(out).toMatch(/AnalyticsKey_sync +no-op/);
    expect(out).toMatch(/exit 75: .*gate.*UTC/);
    expect(out).toMatch(/sync requests seen by the emulator: 5 \(4 x 204, 1 x 409 gated\)/);
    expect(out).not.toContain('DEMO FAILED');
    // Nothing that looks like a credential: not the demo API key, not a token.
    for (const k of DEFAULT_SEED.apiKeys) expect(out).not.toContain(k);
    expect(out).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    expect(out).not.toMatch(/Bearer /i);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}, 90_000);
