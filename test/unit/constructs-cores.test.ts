/**
 * The construct suite's key cases, written for either core: jest runs this file twice,
 * in the default project on cdktf and in the project `cdktn` on CDK Terrain (the
 * constructs built with src/constructs/core-cdktn.ts, as `cdktf-key-sync/cdktn` ships
 * them; see test/cdktn-resolver.js). The pinned digests and expressions below are the
 * same constants in both runs, so both cores give the same sync hash for the same
 * declaration.
 */
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, LocalBackend, Testing, TerraformStack, TerraformVariable } from 'cdktf';
import {
  DEFAULT_KEY_SYNC_RESOURCE_TYPE,
  KeySyncConfigError,
  KmsInstance,
  RootKey,
  type KeySyncOptions,
  type KeySyncResourceType,
} from '../../src';
import { CORE_LABEL, CORE_PACKAGE } from '../../src/constructs/core';
import { commandOf, syncResources, triggersOf, type SynthJson } from '../helpers/sync-resource';

/** The core this jest project is configured for (jest.config.js `globals`). */
const EXPECTED_CORE = (globalThis as { KEY_SYNC_TEST_CORE?: string }).KEY_SYNC_TEST_CORE;
const REPO = path.resolve(__dirname, '../..');

const KP_INSTANCE = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const HPCS_INSTANCE = '6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73';
const KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const CRN_A = 'crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:payments-ledger';
const CRN_B = 'crn:v1:bluemix:public:databases-for-postgresql:us-south:a/1234567890abcdef1234567890abcdef:9c8b7a6f-5e4d-4c3b-a2f1-e0d9c8b7a6f5::';

/**
 * Pinned (checked by hand with sha256sum over the canonical JSON): the sync hashes of
 * {@link declare}'s two keys. A change here re-syncs every user's keys on upgrade, and a
 * difference between the two projects would re-sync every key of a stack moved from
 * cdktf to cdktn.
 */
const PAYMENTS_HASH = '1b3b64ce9d6a1bebe3a1900a7984298538aab858be6a1df81270ee2434e800c7';
const ANALYTICS_HASH = 'd298cd2b36e034d203484d17f811ba33c6dc8ec27944969fc6bca46b4eec3e1f';

/** The declaration every case synthesizes: a Key Protect key (ring, markers, two CRNs, a trigger) and an HPCS key. */
function declare(stack: TerraformStack, sync: KeySyncOptions = {}): void {
  const payments = new RootKey(stack, 'PaymentsKey', {
    instance: KmsInstance.keyProtect({ instanceId: KP_INSTANCE, region: 'us-south' }),
    keyId: KEY,
    keyRing: 'payments',
    lifecycle: { state: 'active', rotation: '2026-11-01' },
  });
  payments.associate('Ledger', { resourceCrn: CRN_A });
  payments.associate('Db', { resourceCrn: CRN_B });
  payments.sync({ ...sync, triggers: { ticket: 'OPS-1' } });
  const analytics = new RootKey(stack, 'AnalyticsKey', {
    instance: KmsInstance.hyperProtect({ instanceId: HPCS_INSTANCE, region: 'us-south', port: 9730 }),
    keyId: 'analytics-root',
  });
  analytics.sync({ ...sync, maxWaitSeconds: 0 });
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = realpathSync(mkdtempSync(path.join(tmpdir(), 'ks-cores-')));
  dirs.push(d);
  return d;
}

/** A full synth with a real App (assets copied) into a temp outdir. */
function synthApp(build: (stack: TerraformStack) => void): { json: SynthJson; stackDir: string; outdir: string } {
  const outdir = tempDir();
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'keys');
  new LocalBackend(stack, { path: 'terraform.keys.tfstate' });
  build(stack);
  app.synth();
  const stackDir = path.join(outdir, 'stacks', 'keys');
  return { json: JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')) as SynthJson, stackDir, outdir };
}

function synthJson(build: (stack: TerraformStack) => void): SynthJson {
  return JSON.parse(Testing.synthScope((scope) => build(scope as TerraformStack))) as SynthJson;
}

describe(`the constructs on ${CORE_PACKAGE}`, () => {
  test('this project runs the core it is configured for, and the test sees the same one', () => {
    expect(EXPECTED_CORE).toBeDefined();
    expect(CORE_PACKAGE).toBe(EXPECTED_CORE);
    expect(require.resolve('cdktf')).toContain(`${path.sep}node_modules${path.sep}${EXPECTED_CORE}${path.sep}`);
  });

  test('the default resource type is null_resource on cdktf and terraform_data on cdktn', () => {
    expect(DEFAULT_KEY_SYNC_RESOURCE_TYPE).toBe(CORE_PACKAGE === 'cdktf' ? 'null_resource' : 'terraform_data');
    const { json } = synthApp((s) => declare(s));
    expect(Object.keys(json.resource ?? {})).toEqual([DEFAULT_KEY_SYNC_RESOURCE_TYPE]);
    // a provider only where null_resource needs one
    const terraform = json['terraform'] as { required_providers?: Record<string, unknown> };
    if (CORE_PACKAGE === 'cdktf') expect(Object.keys(terraform.required_providers ?? {})).toEqual(['null']);
    else expect(terraform.required_providers).toBeUndefined();
  });

  test.each<KeySyncResourceType>(['terraform_data', ...(CORE_PACKAGE === 'cdktf' ? (['null_resource'] as const) : [])])(
    '%s: <key>_sync with readable triggers and the pinned sync hash, one local-exec, no environment',
    (type) => {
      const { json } = synthApp((s) => declare(s, { resourceType: type }));
      const resources = syncResources(json, type);
      expect(Object.keys(resources).sort()).toEqual(['AnalyticsKey_sync', 'PaymentsKey_sync']);
      const payments = resources['PaymentsKey_sync']!;
      expect(triggersOf(payments)).toEqual({
        sync_hash: PAYMENTS_HASH,
        key_id: KEY,
        key_state: 'active',
        key_rotation: '2026-11-01',
        association_count: '2',
      });
      expect(triggersOf(resources['AnalyticsKey_sync']!)).toEqual({ sync_hash: ANALYTICS_HASH, key_id: 'analytics-root', association_count: '0' });
      expect(payments.provisioner).toHaveLength(1);
      expect(payments.provisioner[0]!['local-exec'].environment).toBeUndefined();
      expect(commandOf(payments)).toMatch(
        /^node 'assets\/KeySyncCli\/[0-9A-F]{32}\/key-sync\.cjs' sync --instance-id '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20' --key-id '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84' --key-ring 'payments' --region 'us-south' --service 'key-protect' --max-wait '900'$/,
      );
      expect(commandOf(resources['AnalyticsKey_sync']!)).toMatch(/ --region 'us-south' --service 'hpcs' --port '9730' --max-wait '0'$/);
    },
  );

  test('self-contained stack directory: the bundled CLI is copied in, byte for byte, and no synth-machine path is written', () => {
    const { json, stackDir, outdir } = synthApp((s) => declare(s));
    const command = commandOf(syncResources(json, DEFAULT_KEY_SYNC_RESOURCE_TYPE)['PaymentsKey_sync']!);
    const asset = /^node '([^']+)'/.exec(command)?.[1];
    expect(asset).toBeDefined();
    expect(readFileSync(path.join(stackDir, asset!))).toEqual(readFileSync(path.join(REPO, 'dist', 'key-sync.cjs')));
    const text = readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8');
    expect(text).not.toContain(REPO);
    expect(text).not.toContain(outdir);
  });

  test('the token form of the hash is the same Terraform expression', () => {
    const json = synthJson((s) => {
      const keyId = new TerraformVariable(s, 'key_id', { type: 'string' }).stringValue;
      const key = new RootKey(s, 'K', { instance: KmsInstance.keyProtect({ instanceId: KP_INSTANCE, region: 'us-south' }), keyId, lifecycle: { rotation: '2026-11-01' } });
      key.associate('A', { resourceCrn: CRN_A });
      key.sync({ resourceType: 'terraform_data' });
    });
    expect(triggersOf(syncResources(json, 'terraform_data')['K_sync']!)['sync_hash']).toBe(
      '${sha256(jsonencode({"v" = 1, "instanceId" = "0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20", "endpoint" = "https://us-south.kms.cloud.ibm.com", "keyId" = var.key_id, "lifecycle" = {"rotation" = "2026-11-01"}, "associations" = ["' +
        CRN_A +
        '"], "triggers" = {}}))}',
    );
  });

  test("the README's moved block for leaving null_resource: key.sync({ resourceType: 'terraform_data' }).resource.moveFromId(...)", () => {
    const json = synthJson((s) => {
      const key = new RootKey(s, 'PaymentsKey', { instance: KmsInstance.keyProtect({ instanceId: KP_INSTANCE, region: 'us-south' }), keyId: KEY });
      key.sync({ resourceType: 'terraform_data' }).resource.moveFromId('null_resource.PaymentsKey_sync');
    });
    expect(json['moved']).toEqual([{ from: 'null_resource.PaymentsKey_sync', to: 'terraform_data.PaymentsKey_sync' }]);
    expect(Object.keys(syncResources(json, 'terraform_data'))).toEqual(['PaymentsKey_sync']);
  });

  // Which null_resource case exists depends on the core this project runs (decided at collection).
  const bareKey = (): RootKey => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    return new RootKey(stack, 'K', { instance: KmsInstance.keyProtect({ instanceId: KP_INSTANCE, region: 'us-south' }), keyId: KEY });
  };
  if (CORE_PACKAGE === 'cdktf') {
    test('null_resource: a resource of the null provider binding', () => {
      expect(bareKey().sync({ resourceType: 'null_resource' }).resource.terraformResourceType).toBe('null_resource');
    });
  } else {
    test('null_resource: refused on cdktn with the path, the value and the fix', () => {
      const key = bareKey();
      let caught: unknown;
      try {
        key.sync({ resourceType: 'null_resource' });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(KeySyncConfigError);
      const err = caught as KeySyncConfigError;
      expect({ path: err.path, prop: err.prop, value: err.value }).toEqual({ path: 'stack/K/Sync', prop: 'resourceType', value: 'null_resource' });
      expect(err.problem).toBe(`is not available with ${CORE_LABEL}: it has no null provider binding (@cdktf/provider-null would load a second core)`);
      expect(err.fix).toMatch(/^use 'terraform_data' .*the default here.*syncs once more$/);
      expect(err.message).toBe(`stack/K/Sync: resourceType "null_resource" ${err.problem}. Fix: ${err.fix}`);
    });
  }
});
