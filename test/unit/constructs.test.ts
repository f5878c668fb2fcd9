import { Resource } from '@cdktf/provider-null/lib/resource';
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { DataResource, Testing, TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { KeySync, KeySyncCliAsset, KmsInstance, RootKey, type KeySyncOptions, type RootKeyProps } from '../../src';

// cdktf's jest matchers are registered by Testing.setupJest() (test/setup-after-env.ts);
// its own type declaration targets an older @types/jest, so declare the one used here.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    interface Matchers<R, T = {}> {
      toHaveResourceWithProperties(resourceConstructor: { tfResourceType: string }, properties: Record<string, unknown>): R;
    }
  }
}

const KP_INSTANCE = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const HPCS_INSTANCE = '6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73';
const KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const CRN_A = 'crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:payments-ledger';
const CRN_B = 'crn:v1:bluemix:public:databases-for-postgresql:us-south:a/1234567890abcdef1234567890abcdef:9c8b7a6f-5e4d-4c3b-a2f1-e0d9c8b7a6f5::';
const CRN_C = 'crn:v1:bluemix:public:messagehub:us-south:a/1234567890abcdef1234567890abcdef:3d2c1b0a-9f8e-4d7c-b6a5-f4e3d2c1b0a9::';
const ASSET = /^assets\/KeySyncCli\/[0-9A-F]{32}\/key-sync\.cjs$/;

interface NullResourceJson {
  triggers: Record<string, string>;
  provisioner: Array<{ 'local-exec': { command: string; environment?: unknown; when?: string } }>;
}

function synthJson(build: (stack: TerraformStack) => void): { resource: { null_resource: Record<string, NullResourceJson> } } & Record<string, any> {
  return JSON.parse(Testing.synthScope((scope) => build(scope as TerraformStack)));
}

function nullResources(build: (stack: TerraformStack) => void): Record<string, NullResourceJson> {
  return synthJson(build).resource.null_resource;
}

function commandOf(r: NullResourceJson): string {
  return r.provisioner[0]['local-exec'].command;
}

/** The command's words after the asset path, split like /bin/sh would for our single-quoted words. */
function argsOf(command: string): string[] {
  const words = command.match(/'(?:[^']|'\\'')*'|\S+/g) ?? [];
  return words.map((w) => (w.startsWith("'") ? w.slice(1, -1).replace(/'\\''/g, "'") : w));
}

function kp(extra: Partial<Parameters<typeof KmsInstance.keyProtect>[0]> = {}): KmsInstance {
  return KmsInstance.keyProtect({ instanceId: KP_INSTANCE, region: 'us-south', ...extra });
}

function oneKey(scope: Construct, props: Partial<RootKeyProps> = {}, sync: KeySyncOptions = {}, crns: string[] = [CRN_A, CRN_B]): RootKey {
  const key = new RootKey(scope, 'PaymentsKey', { instance: kp(), keyId: KEY, ...props });
  crns.forEach((resourceCrn, i) => key.associate(`Assoc${i}`, { resourceCrn }));
  key.sync(sync);
  return key;
}

describe('KeySync resource shape', () => {
  test('a null_resource named <key>_sync with readable triggers and one local-exec provisioner, no environment', () => {
    const synth = Testing.synthScope((scope) => {
      oneKey(scope, { name: 'payments-root', lifecycle: { state: 'active', rotation: '2026-11-01' } });
    });
    expect(synth).toHaveResourceWithProperties(Resource, {
      triggers: {
        sync_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        key_id: KEY,
        key_state: 'active',
        key_rotation: '2026-11-01',
        association_count: '2',
      },
    });
    const r = JSON.parse(synth).resource.null_resource;
    expect(Object.keys(r)).toEqual(['PaymentsKey_sync']);
    expect(r.PaymentsKey_sync.provisioner).toHaveLength(1);
    const exec = r.PaymentsKey_sync.provisioner[0]['local-exec'];
    expect(Object.keys(exec)).toEqual(['command']);
    expect(r.PaymentsKey_sync).not.toHaveProperty('provider');
  });

  test('lifecycle triggers are left out when not declared', () => {
    const r = nullResources((s) => oneKey(s)).PaymentsKey_sync;
    expect(Object.keys(r.triggers).sort()).toEqual(['association_count', 'key_id', 'sync_hash']);
  });

  test('declares the null provider once (required_providers) and reuses a NullProvider declared before', () => {
    const json = synthJson((s) => {
      oneKey(s);
      new RootKey(s, 'Other', { instance: kp(), keyId: 'other-key' }).sync();
    });
    expect(json.terraform.required_providers.null).toEqual(expect.objectContaining({ source: expect.stringMatching(/null$/) }));
    expect(json.provider.null).toHaveLength(1);
  });

  test('key.sync() is the construct with id Sync under the key; KeySync exposes resource and triggerHash', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'stack');
    const key = oneKey(stack);
    const sync = key.node.findChild('Sync') as KeySync;
    expect(sync).toBeInstanceOf(KeySync);
    expect(sync.node.path).toBe('stack/PaymentsKey/Sync');
    expect(sync.resource).toBeInstanceOf(Resource);
    expect(sync.triggerHash).toMatch(/^[0-9a-f]{64}$/);
    const json = JSON.parse(Testing.synth(stack));
    expect(json.resource.null_resource.PaymentsKey_sync.triggers.sync_hash).toBe(sync.triggerHash);
    expect(key.associations.map((a) => a.resourceCrn)).toEqual([CRN_A, CRN_B]);
  });

  test('associations declared after sync() are covered by the hash and the count', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'stack');
    const key = new RootKey(stack, 'K', { instance: kp(), keyId: KEY });
    const sync = key.sync();
    const before = sync.triggerHash;
    key.associate('Late', { resourceCrn: CRN_C });
    const r = JSON.parse(Testing.synth(stack)).resource.null_resource.K_sync;
    expect(r.triggers.association_count).toBe('1');
    expect(r.triggers.sync_hash).not.toBe(before);
    expect(r.triggers.sync_hash).toBe(sync.triggerHash);
  });

  test('resource names follow the construct path under the stack and are stable', () => {
    const names = (build: (s: TerraformStack) => void) => Object.keys(nullResources(build)).sort();
    const build = (s: TerraformStack) => {
      oneKey(s);
      const team = new (require('constructs').Construct)(s, 'Team-A') as Construct;
      new RootKey(team, 'Key', { instance: kp(), keyId: 'team-key' }).sync();
      const k = new RootKey(s, 'Third', { instance: kp(), keyId: 'third-key' });
      new KeySync(s, 'ThirdKeySync', { key: k });
    };
    expect(names(build)).toEqual(['PaymentsKey_sync', 'Team-A_Key_sync', 'ThirdKeySync']);
    expect(names(build)).toEqual(names(build));
  });
});

describe('the CLI asset', () => {
  test('one asset per stack, shared by every KeySync, referenced by its relative path', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'stack');
    oneKey(stack);
    new RootKey(stack, 'Other', { instance: kp(), keyId: 'other-key' }).sync();
    const assets = stack.node.findAll().filter((c) => c.constructor.name === 'KeySyncCliAsset');
    expect(assets.map((a) => a.node.path)).toEqual(['stack/KeySyncCli']);
    const r = JSON.parse(Testing.synth(stack)).resource.null_resource;
    const paths = Object.values(r).map((x) => argsOf(commandOf(x as NullResourceJson))[1]);
    expect(new Set(paths).size).toBe(1);
    expect(paths[0]).toMatch(ASSET);
  });

  test('each stack gets its own asset', () => {
    const app = Testing.app();
    const s1 = new TerraformStack(app, 'one');
    const s2 = new TerraformStack(app, 'two');
    oneKey(s1);
    oneKey(s2);
    expect(s1.node.tryFindChild('KeySyncCli')).toBeDefined();
    expect(s2.node.tryFindChild('KeySyncCli')).toBeDefined();
  });
});

describe('the command', () => {
  const base = ['node', expect.stringMatching(ASSET), 'sync', '--instance-id'];
  test.each<[string, () => KmsInstance, string, string[]]>([
    ['Key Protect public', () => kp(), KP_INSTANCE, ['--region', 'us-south', '--service', 'key-protect']],
    ['Key Protect private', () => kp({ privateEndpoint: true, region: 'eu-de' }), KP_INSTANCE, ['--region', 'eu-de', '--service', 'key-protect', '--private']],
    ['HPCS port form', () => KmsInstance.hyperProtect({ instanceId: HPCS_INSTANCE, region: 'us-south', port: 9730 }), HPCS_INSTANCE, ['--region', 'us-south', '--service', 'hpcs', '--port', '9730']],
    ['HPCS private port form', () => KmsInstance.hyperProtect({ instanceId: HPCS_INSTANCE, region: 'us-east', port: 13000, privateEndpoint: true }), HPCS_INSTANCE, ['--region', 'us-east', '--service', 'hpcs', '--port', '13000', '--private']],
    ['HPCS instance-host form', () => KmsInstance.hyperProtect({ instanceId: HPCS_INSTANCE, region: 'eu-gb' }), HPCS_INSTANCE, ['--region', 'eu-gb', '--service', 'hpcs']],
    ['explicit endpoint (emulator)', () => KmsInstance.fromEndpoint({ instanceId: KP_INSTANCE, endpoint: 'http://127.0.0.1:8811/' }), KP_INSTANCE, ['--endpoint', 'http://127.0.0.1:8811']],
    ['explicit https endpoint with base path', () => KmsInstance.fromEndpoint({ instanceId: HPCS_INSTANCE, endpoint: 'https://kms.example.com:8443/proxy', service: 'hpcs' }), HPCS_INSTANCE, ['--endpoint', 'https://kms.example.com:8443/proxy']],
  ])('%s', (_name, instance, instanceId, flags) => {
    const r = nullResources((s) => oneKey(s, { instance: instance() })).PaymentsKey_sync;
    const command = commandOf(r);
    expect(argsOf(command)).toEqual([...base, instanceId, '--key-id', KEY, ...flags, '--max-wait', '900']);
    // every value is single-quoted for /bin/sh
    expect(command).toContain(`--instance-id '${instanceId}' --key-id '${KEY}'`);
    for (let i = 0; i < flags.length; i++) {
      if (!flags[i].startsWith('--')) expect(command).toContain(`${flags[i - 1]} '${flags[i]}'`);
    }
  });

  test('key ring, max wait and verify-registrations', () => {
    const r = nullResources((s) => oneKey(s, { keyRing: 'payments-ring' }, { maxWaitSeconds: 0, verifyRegistrations: true })).PaymentsKey_sync;
    expect(argsOf(commandOf(r)).slice(4)).toEqual([KP_INSTANCE, '--key-id', KEY, '--key-ring', 'payments-ring', '--region', 'us-south', '--service', 'key-protect', '--max-wait', '0', '--verify-registrations']);
    expect(commandOf(r)).toContain("--max-wait '0' --verify-registrations");
  });

  test('an alias key id is passed as is', () => {
    const r = nullResources((s) => oneKey(s, { keyId: 'payments-root' })).PaymentsKey_sync;
    expect(commandOf(r)).toContain("--key-id 'payments-root'");
  });

  test('tokens are interpolated inside the quotes, with embedded quotes made safe by replace()', () => {
    const r = nullResources((s) => {
      const keyId = new TerraformVariable(s, 'key_id', { type: 'string' }).stringValue;
      const instanceId = new TerraformVariable(s, 'instance_id', { type: 'string' }).stringValue;
      const rootKey = new RootKey(s, 'K', { instance: KmsInstance.keyProtect({ instanceId, region: 'us-south' }), keyId });
      rootKey.sync();
    }).K_sync;
    const command = commandOf(r);
    expect(command).toContain(`--instance-id '\${replace(var.instance_id, "'", "'\\\\''")}'`);
    expect(command).toContain(`--key-id '\${replace(var.key_id, "'", "'\\\\''")}'`);
    expect(r.triggers.key_id).toBe('${var.key_id}');
  });

  test('no credential and no environment block, whatever the process environment holds', () => {
    process.env.IBMCLOUD_API_KEY = 'CANARY-apikey-constructs';
    try {
      const r = nullResources((s) => oneKey(s)).PaymentsKey_sync;
      expect(r.provisioner[0]['local-exec'].environment).toBeUndefined();
      expect(JSON.stringify(r)).not.toContain('CANARY');
    } finally {
      delete process.env.IBMCLOUD_API_KEY;
    }
  });
});

describe('trigger hash sensitivity (synthesized sync_hash)', () => {
  interface Case {
    instance?: () => KmsInstance;
    key?: Partial<RootKeyProps>;
    sync?: KeySyncOptions;
    crns?: string[];
  }
  const hashOf = (c: Case = {}): string =>
    nullResources((s) => oneKey(s, { ...(c.instance ? { instance: c.instance() } : {}), ...c.key }, c.sync ?? {}, c.crns ?? [CRN_A, CRN_B])).PaymentsKey_sync.triggers.sync_hash;
  const baseline = { key: { lifecycle: { state: 'active' as const, rotation: '2026-11-01' } } };
  const base = (c: Case): Case => ({ ...c, key: { ...baseline.key, ...c.key } });

  test.each<[string, Case, boolean]>([
    ['nothing changed', {}, false],
    ['instance id', { instance: () => KmsInstance.keyProtect({ instanceId: HPCS_INSTANCE, region: 'us-south' }) }, true],
    ['endpoint: region', { instance: () => kp({ region: 'us-east' }) }, true],
    ['endpoint: private', { instance: () => kp({ privateEndpoint: true }) }, true],
    ['endpoint: explicit URL', { instance: () => KmsInstance.fromEndpoint({ instanceId: KP_INSTANCE, endpoint: 'http://127.0.0.1:8811' }) }, true],
    ['endpoint: same URL given explicitly', { instance: () => KmsInstance.fromEndpoint({ instanceId: KP_INSTANCE, endpoint: 'https://us-south.kms.cloud.ibm.com/' }) }, false],
    ['key id', { key: { keyId: 'payments-root' } }, true],
    ['key ring', { key: { keyRing: 'payments' } }, true],
    ['lifecycle state', { key: { lifecycle: { state: 'disabled', rotation: '2026-11-01' } } }, true],
    ['lifecycle rotation', { key: { lifecycle: { state: 'active', rotation: '2026-11-02' } } }, true],
    ['association added', { crns: [CRN_A, CRN_B, CRN_C] }, true],
    ['association removed', { crns: [CRN_A] }, true],
    ['association changed', { crns: [CRN_A, CRN_C] }, true],
    ['extra trigger', { sync: { triggers: { ticket: 'OPS-1234' } } }, true],
    ['association order', { crns: [CRN_B, CRN_A] }, false],
    ['maxWaitSeconds', { sync: { maxWaitSeconds: 3600 } }, false],
    ['verifyRegistrations', { sync: { verifyRegistrations: true } }, false],
    ['key name (documentation only)', { key: { name: 'renamed' } }, false],
  ])('%s -> hash changes: %s', (_name, change, flips) => {
    const before = hashOf(base({}));
    const after = hashOf(base(change));
    if (flips) expect(after).not.toBe(before);
    else expect(after).toBe(before);
  });

  test('the same declaration hashes the same in another stack, app or construct id', () => {
    const a = nullResources((s) => oneKey(s)).PaymentsKey_sync.triggers.sync_hash;
    const b = nullResources((s) => {
      const key = new RootKey(s, 'Renamed', { instance: kp(), keyId: KEY });
      key.associate('x', { resourceCrn: CRN_B });
      key.associate('y', { resourceCrn: CRN_A });
      key.sync();
    }).Renamed_sync.triggers.sync_hash;
    expect(b).toBe(a);
  });
});

describe('the token case', () => {
  test('a token input renders sha256(jsonencode(...)) and no literal digest', () => {
    const r = nullResources((s) => {
      const keyId = new TerraformVariable(s, 'key_id', { type: 'string' }).stringValue;
      oneKey(s, { keyId, lifecycle: { rotation: '2026-11-01' } }, { triggers: { ticket: 'OPS-1' } });
    }).PaymentsKey_sync;
    const h = r.triggers.sync_hash;
    expect(h).toMatch(/^\$\{sha256\(jsonencode\(\{.*\}\)\)\}$/);
    expect(h).not.toMatch(/[0-9a-f]{64}/);
    expect(h).toContain('"keyId" = var.key_id');
    expect(h).toContain(`"associations" = ["${CRN_A}", "${CRN_B}"]`);
    expect(h).toContain('"triggers" = {"ticket" = "OPS-1"}');
    expect(h).toContain('"v" = 1');
  });

  test('token CRNs are sorted by Terraform: sort([...]) over the list', () => {
    const r = nullResources((s) => {
      const crn = new TerraformVariable(s, 'bucket_crn', { type: 'string' }).stringValue;
      oneKey(s, {}, {}, [CRN_B, crn, CRN_A]);
    }).PaymentsKey_sync;
    expect(r.triggers.sync_hash).toContain(`"associations" = sort(["${CRN_B}", var.bucket_crn, "${CRN_A}"])`);
  });

  test('a token port, region and endpoint are accepted without validation', () => {
    jest.spyOn(console, 'warn').mockImplementation(() => undefined); // cdktf: "${" inside a function argument
    const r = nullResources((s) => {
      const port = new TerraformVariable(s, 'port', { type: 'number' }).numberValue;
      const region = new TerraformVariable(s, 'region', { type: 'string' }).stringValue;
      oneKey(s, { instance: KmsInstance.hyperProtect({ instanceId: HPCS_INSTANCE, region, port }) });
    }).PaymentsKey_sync;
    expect(commandOf(r)).toContain('--port \'${replace(var.port, "\'", "\'\\\\\'\'")}\'');
    expect(r.triggers.sync_hash).toContain('"endpoint" = "https://api.${var.region}.hs-crypto.cloud.ibm.com:${var.port}"');
    jest.restoreAllMocks();
  });
});

describe("resourceType: 'terraform_data'", () => {
  interface TerraformDataJson {
    triggers_replace: Record<string, string>;
    provisioner: NullResourceJson['provisioner'];
  }
  const lifecycle = { state: 'active' as const, rotation: '2026-11-01' };

  test('a terraform_data named <key>_sync whose triggers_replace holds the same readable map, with the same local-exec', () => {
    const synth = Testing.synthScope((scope) => {
      oneKey(scope, { lifecycle }, { resourceType: 'terraform_data' });
    });
    expect(synth).toHaveResourceWithProperties(DataResource, {
      triggers_replace: {
        sync_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        key_id: KEY,
        key_state: 'active',
        key_rotation: '2026-11-01',
        association_count: '2',
      },
      provisioner: [{ 'local-exec': { command: expect.stringMatching(/^node 'assets\/KeySyncCli\/[0-9A-F]{32}\/key-sync\.cjs' sync --instance-id /) } }],
    });
    expect(synth).not.toHaveResourceWithProperties(Resource, {});
    const json = JSON.parse(synth);
    expect(Object.keys(json.resource)).toEqual(['terraform_data']);
    expect(Object.keys(json.resource.terraform_data)).toEqual(['PaymentsKey_sync']);
    expect(json.resource.terraform_data.PaymentsKey_sync).not.toHaveProperty('triggers');
    expect(json.resource.terraform_data.PaymentsKey_sync).not.toHaveProperty('provider');
  });

  test('no null provider anywhere in the synthesized stack (nothing for terraform init to download)', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'stack');
    oneKey(stack, {}, { resourceType: 'terraform_data' });
    new RootKey(stack, 'Other', { instance: kp(), keyId: 'other-key' }).sync({ resourceType: 'terraform_data' });
    const json = JSON.parse(Testing.synth(stack, true));
    expect(json.provider).toBeUndefined();
    expect(json.terraform?.required_providers).toBeUndefined();
    expect((stack.node.findChild('KeySyncCli') as KeySyncCliAsset).nullProvider).toBeUndefined();
    expect(JSON.stringify(json)).not.toMatch(/hashicorp\/null|"null"/);
  });

  test('trigger map, sync_hash, command and name are identical to the null_resource form', () => {
    const build = (resourceType: 'null_resource' | 'terraform_data') => (s: TerraformStack) =>
      oneKey(s, { lifecycle, keyRing: 'payments' }, { resourceType, triggers: { ticket: 'OPS-1' }, verifyRegistrations: true });
    const viaNull = nullResources(build('null_resource')).PaymentsKey_sync;
    const viaData = (synthJson(build('terraform_data')).resource as unknown as { terraform_data: Record<string, TerraformDataJson> }).terraform_data.PaymentsKey_sync;
    expect(viaData.triggers_replace).toEqual(viaNull.triggers);
    expect(viaData.triggers_replace.sync_hash).toBe(viaNull.triggers.sync_hash);
    expect(viaData.provisioner).toEqual(viaNull.provisioner);
    // the default is null_resource
    expect(nullResources((s) => oneKey(s, { lifecycle, keyRing: 'payments' }, { triggers: { ticket: 'OPS-1' } })).PaymentsKey_sync.triggers).toEqual(viaNull.triggers);
  });

  test('the token form of the hash is identical too', () => {
    const build = (resourceType: 'null_resource' | 'terraform_data') => (s: TerraformStack) => {
      const keyId = new TerraformVariable(s, 'key_id', { type: 'string' }).stringValue;
      oneKey(s, { keyId }, { resourceType });
    };
    const viaNull = nullResources(build('null_resource')).PaymentsKey_sync.triggers;
    const viaData = (synthJson(build('terraform_data')).resource as unknown as { terraform_data: Record<string, TerraformDataJson> }).terraform_data.PaymentsKey_sync.triggers_replace;
    expect(viaData).toEqual(viaNull);
    expect(viaData.sync_hash).toMatch(/^\$\{sha256\(jsonencode\(/);
  });

  test('KeySync exposes resourceType and a DataResource; triggerHash matches the synthesized value', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'stack');
    const key = oneKey(stack, {}, { resourceType: 'terraform_data' });
    const sync = key.node.findChild('Sync') as KeySync;
    expect(sync.resourceType).toBe('terraform_data');
    expect(sync.resource).toBeInstanceOf(DataResource);
    expect(sync.resource.terraformResourceType).toBe('terraform_data');
    const json = JSON.parse(Testing.synth(stack));
    expect(json.resource.terraform_data.PaymentsKey_sync.triggers_replace.sync_hash).toBe(sync.triggerHash);
    const other = new RootKey(stack, 'Default', { instance: kp(), keyId: 'other-key' }).sync();
    expect(other.resourceType).toBe('null_resource');
    expect(other.resource).toBeInstanceOf(Resource);
  });

  test('mixed in one stack: one null provider for the null_resource syncs, names shared across both types', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'stack');
    oneKey(stack, {}, { resourceType: 'terraform_data' });
    new RootKey(stack, 'Other', { instance: kp(), keyId: 'other-key' }).sync();
    const json = JSON.parse(Testing.synth(stack, true));
    expect(Object.keys(json.resource.terraform_data)).toEqual(['PaymentsKey_sync']);
    expect(Object.keys(json.resource.null_resource)).toEqual(['Other_sync']);
    expect(json.provider.null).toHaveLength(1);
    const k = new RootKey(stack, 'Third', { instance: kp(), keyId: 'third-key' });
    expect(() => new KeySync(stack, 'PaymentsKey_sync', { key: k })).toThrow(/resource name "PaymentsKey_sync" is already used by the sync resource of stack\/PaymentsKey\/Sync/);
  });
});

// (cdktf only: cdktn has no null provider binding)
describe('the null provider KeySync declares', () => {
  const stack = (): TerraformStack => new TerraformStack(Testing.app(), 'stack');

  test('a second default NullProvider declared after the first KeySync fails validation', () => {
    const s = stack();
    new RootKey(s, 'A', { instance: kp(), keyId: KEY }).sync();
    new NullProvider(s, 'mine');
    expect(() => Testing.synth(s, true)).toThrow(/stack\/mine: provider "mine" is a second default null provider \(KeySync declared stack\/KeySyncCli\/NullProvider\)\. Fix: declare your NullProvider before the first KeySync/);
  });

  test('a NullProvider declared before is reused; an aliased one is left alone', () => {
    const s = stack();
    new NullProvider(s, 'mine');
    new NullProvider(s, 'aliased', { alias: 'other' });
    new RootKey(s, 'A', { instance: kp(), keyId: KEY }).sync();
    const json = JSON.parse(Testing.synth(s, true));
    expect(json.provider.null).toHaveLength(2);
    expect(s.node.tryFindChild('KeySyncCli')?.node.tryFindChild('NullProvider')).toBeUndefined();
  });

  test('a NullProvider declared after a terraform_data KeySync is not a duplicate, and a later null_resource KeySync reuses it', () => {
    const s = stack();
    new RootKey(s, 'A', { instance: kp(), keyId: KEY }).sync({ resourceType: 'terraform_data' });
    new NullProvider(s, 'mine');
    new RootKey(s, 'B', { instance: kp(), keyId: 'other-key' }).sync();
    const json = JSON.parse(Testing.synth(s, true));
    expect(json.provider.null).toHaveLength(1);
    expect(s.node.tryFindChild('KeySyncCli')?.node.tryFindChild('NullProvider')).toBeUndefined();
  });
});
