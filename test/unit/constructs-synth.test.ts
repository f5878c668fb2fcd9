import { cpSync, mkdtempSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Testing, TerraformStack } from 'cdktf';
import { DEMO, DEMO_STACK_NAME, DemoStack } from '../../main';
import { KmsInstance, RootKey } from '../../src';

const REPO = path.resolve(__dirname, '../..');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

function tempDir(prefix: string): string {
  return realpathSync(mkdtempSync(path.join(tmpdir(), prefix)));
}

interface NullResourceJson {
  triggers: Record<string, string>;
  provisioner: Array<{ 'local-exec': { command: string } }>;
}

function synthDemo(env: Record<string, string | undefined> = {}): { outdir: string; stackDir: string; json: { resource: { null_resource: Record<string, NullResourceJson> } } & Record<string, any> } {
  const outdir = tempDir('key-sync-demo-');
  const app = new App({ outdir });
  new DemoStack(app, DEMO_STACK_NAME, env);
  app.synth();
  const stackDir = path.join(outdir, 'stacks', DEMO_STACK_NAME);
  return { outdir, stackDir, json: JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')) };
}

function assetPathOf(command: string): string {
  const m = command.match(/^node '([^']+)' sync /);
  if (!m) throw new Error(`unexpected command: ${command}`);
  return m[1];
}

describe('a full synth never writes a credential', () => {
  const CANARIES = {
    IBMCLOUD_API_KEY: 'CANARY-apikey-5f0e1d2c',
    IC_API_KEY: 'CANARY-apikey-ic-7a8b9c',
    IBMCLOUD_IAM_TOKEN: 'CANARY-token-3c4d5e6f',
    IC_IAM_TOKEN: 'CANARY-token-ic-1a2b3c',
  };
  let saved: Record<string, string | undefined>;
  beforeEach(() => {
    saved = Object.fromEntries(Object.keys(CANARIES).map((k) => [k, process.env[k]]));
    Object.assign(process.env, CANARIES);
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  test.each([
    ['the demo app (regional endpoints)', () => synthDemo().outdir],
    ['the demo app pointed at the emulator', () => synthDemo({ KEY_SYNC_DEMO_ENDPOINT: 'http://127.0.0.1:8811' }).outdir],
    ['Testing.fullSynth of a stack', () => {
      const stack = new TerraformStack(Testing.app(), 'canary');
      const key = new RootKey(stack, 'Key', { instance: KmsInstance.hyperProtect({ instanceId: DEMO.analytics.instanceId, region: 'us-south' }), keyId: DEMO.analytics.keyId });
      key.associate('A', { resourceCrn: DEMO.analytics.associations.RawBucket });
      key.sync({ verifyRegistrations: true });
      return Testing.fullSynth(stack);
    }],
  ])('%s', (_name, synth) => {
    const outdir = synth();
    const files = filesUnder(outdir);
    expect(files.some((f) => f.endsWith('cdk.tf.json'))).toBe(true);
    for (const f of files) {
      const text = readFileSync(f, 'latin1');
      expect({ file: f, canary: text.includes('CANARY-') }).toEqual({ file: f, canary: false });
    }
  });
});

describe('the synthesized stack directory is self-contained', () => {
  test('copied elsewhere, it holds no absolute path of the checkout or the outdir, and the command names an asset that exists there', () => {
    const { outdir, stackDir, json } = synthDemo();
    const copy = path.join(tempDir('key-sync-copy-'), 'stack');
    cpSync(stackDir, copy, { recursive: true });
    const forbidden = [REPO, realpathSync(REPO), process.cwd(), outdir, stackDir, path.dirname(require.resolve('cdktf'))];
    for (const f of filesUnder(copy)) {
      const text = readFileSync(f, 'latin1');
      for (const p of forbidden) expect({ file: path.relative(copy, f), contains: p, found: text.includes(p) }).toEqual({ file: path.relative(copy, f), contains: p, found: false });
    }
    const commands = Object.values(json.resource.null_resource).map((r) => r.provisioner[0]['local-exec'].command);
    expect(commands).toHaveLength(2);
    const assets = new Set(commands.map(assetPathOf));
    expect(assets.size).toBe(1);
    const asset = [...assets][0];
    expect(path.isAbsolute(asset)).toBe(false);
    const copied = path.join(copy, asset);
    expect(statSync(copied).isFile()).toBe(true);
    expect(readFileSync(copied).equals(readFileSync(path.join(REPO, 'dist', 'key-sync.cjs')))).toBe(true);
    // only one copy of the CLI in the stack directory
    expect(filesUnder(path.join(copy, 'assets'))).toEqual([copied]);
    expect(json.terraform.backend.local.path).toBe(`terraform.${DEMO_STACK_NAME}.tfstate`);
  });
});

describe('the demo stack (main.ts)', () => {
  test('two keys, two associations each, one sync each, with the seed values', () => {
    const { json } = synthDemo();
    const r = json.resource.null_resource;
    expect(Object.keys(r).sort()).toEqual(['AnalyticsKey_sync', 'PaymentsKey_sync']);
    expect(r.PaymentsKey_sync.triggers).toEqual(expect.objectContaining({ key_id: DEMO.payments.keyId, association_count: '2', key_rotation: '2026-11-01', key_state: 'active' }));
    expect(r.AnalyticsKey_sync.triggers).toEqual(expect.objectContaining({ key_id: DEMO.analytics.keyId, association_count: '2' }));
    expect(r.PaymentsKey_sync.provisioner[0]['local-exec'].command).toContain(`--instance-id '${DEMO.payments.instanceId}' --key-id '${DEMO.payments.keyId}' --region 'us-south' --service 'key-protect' --max-wait '900'`);
    expect(r.AnalyticsKey_sync.provisioner[0]['local-exec'].command).toContain(`--instance-id '${DEMO.analytics.instanceId}' --key-id '${DEMO.analytics.keyId}' --region 'us-south' --service 'hpcs' --port '9730' --max-wait '900'`);
  });

  test('KEY_SYNC_DEMO_ENDPOINT points both keys at one endpoint', () => {
    const { json } = synthDemo({ KEY_SYNC_DEMO_ENDPOINT: 'http://127.0.0.1:8811' });
    for (const r of Object.values(json.resource.null_resource)) {
      expect(r.provisioner[0]['local-exec'].command).toMatch(/--endpoint 'http:\/\/127\.0\.0\.1:8811' --max-wait '900'$/);
      expect(r.provisioner[0]['local-exec'].command).not.toContain('--region');
    }
  });

  test('a rotation marker from the environment changes only that key\'s hash', () => {
    const before = synthDemo().json.resource.null_resource;
    const after = synthDemo({ KEY_SYNC_DEMO_PAYMENTS_ROTATION: '2026-12-01' }).json.resource.null_resource;
    expect(after.PaymentsKey_sync.triggers.sync_hash).not.toBe(before.PaymentsKey_sync.triggers.sync_hash);
    expect(after.PaymentsKey_sync.triggers.key_rotation).toBe('2026-12-01');
    expect(after.AnalyticsKey_sync.triggers.sync_hash).toBe(before.AnalyticsKey_sync.triggers.sync_hash);
    const analytics = synthDemo({ KEY_SYNC_DEMO_ANALYTICS_ROTATION: '2027-01-15' }).json.resource.null_resource;
    expect(analytics.AnalyticsKey_sync.triggers.sync_hash).not.toBe(before.AnalyticsKey_sync.triggers.sync_hash);
    expect(analytics.PaymentsKey_sync.triggers.sync_hash).toBe(before.PaymentsKey_sync.triggers.sync_hash);
  });

  test('synth is deterministic', () => {
    expect(synthDemo().json).toEqual(synthDemo().json);
  });
});
