/**
 * The README's rotation example (marker
 * `rotation-main`) synthesized as written, with `cdktf-key-sync` pointed at this checkout,
 * and what the text around it says about the result: the requested-at record, the
 * rotation, the order, the hash.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { docBlock } from './doc-blocks';

const ROOT = path.resolve(__dirname, '..', '..');
/** The rotation hash of instance 0f6d2a8e-..., key 4a1e9c37-..., generation 2026-Q4 (sha256sum by hand; see constructs-rotation.test.ts). */
const Q4_HASH = 'dd0ee8e24542bbc953a13b775efb7d5be31959fdc2335c7ed754769eb17ce6d3';

test('the "Rotating keys" example synthesizes what the text says', () => {
  const block = docBlock('rotation-main');
  expect(block.lang).toBe('ts');
  // Inside the checkout, so `cdktf` resolves from its node_modules; removed afterwards.
  const dir = mkdtempSync(path.join(ROOT, '.doc-rotation-'));
  try {
    const file = path.join(dir, 'main.ts');
    writeFileSync(file, block.text.replace(/from 'cdktf-key-sync'/g, "from '../src'"));
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const json = JSON.parse(readFileSync(path.join(dir, 'cdktf.out', 'stacks', 'keys', 'cdk.tf.json'), 'utf8')) as {
      resource: { terraform_data: Record<string, { input?: unknown; lifecycle?: unknown; triggers_replace?: Record<string, string>; depends_on?: string[]; provisioner?: Array<{ 'local-exec': { command: string } }> }> };
    };
    const data = json.resource.terraform_data;
    expect(Object.keys(data).sort()).toEqual(['PaymentsKey_rotation', 'PaymentsKey_rotation_requested_at', 'PaymentsKey_sync']);
    expect(data['PaymentsKey_rotation_requested_at']).toMatchObject({
      input: { requested_at: '${plantimestamp()}' },
      lifecycle: { ignore_changes: ['input'] },
      triggers_replace: { rotation_hash: Q4_HASH, key_id: '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84', generation: '2026-Q4' },
    });
    expect(data['PaymentsKey_rotation']?.depends_on).toEqual(['terraform_data.PaymentsKey_rotation_requested_at']);
    expect(data['PaymentsKey_rotation']?.provisioner?.[0]?.['local-exec'].command).toMatch(/ rotate .* --generation '2026-Q4' --requested-at '\$\{terraform_data\.PaymentsKey_rotation_requested_at\.output\.requested_at\}' --max-wait '900'$/);
    expect(data['PaymentsKey_sync']?.depends_on).toEqual(['terraform_data.PaymentsKey_rotation']);
    expect(data['PaymentsKey_sync']?.triggers_replace).not.toHaveProperty('generation');
    expect(data['PaymentsKey_sync']?.provisioner?.[0]?.['local-exec'].command).toContain("--rotation-requested-at '${terraform_data.PaymentsKey_rotation_requested_at.output.requested_at}'");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
