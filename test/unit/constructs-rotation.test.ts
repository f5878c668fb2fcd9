/**
 * KeyRotation's synth, written for either core (jest runs it on cdktf and, in the project
 * `cdktn`, on CDK Terrain): the requested-at record, the rotate resource, ordering with
 * the key's sync in both declaration orders, what the hashes cover (a generation change
 * re-runs the rotation only; maxWaitSeconds changes nothing), and the errors that name
 * the path, the prop, the value and the fix.
 */
import { Testing, TerraformStack, TerraformVariable } from 'cdktf';
import {
  DEFAULT_KEY_SYNC_RESOURCE_TYPE,
  KeyRotation,
  KeySyncConfigError,
  KmsInstance,
  RootKey,
  type KeyRotationOptions,
  type KeySyncOptions,
  type KeySyncResourceType,
} from '../../src';
import { CORE_LABEL, CORE_PACKAGE } from '../../src/constructs/core';
import { commandOf, syncResources, triggersOf, type SynthJson, type SyncResourceJson } from '../helpers/sync-resource';

const KP_INSTANCE = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const HPCS_INSTANCE = '6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73';
const KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const CRN_A = 'crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:payments-ledger';
const CRN_B = 'crn:v1:bluemix:public:databases-for-postgresql:us-south:a/1234567890abcdef1234567890abcdef:9c8b7a6f-5e4d-4c3b-a2f1-e0d9c8b7a6f5::';

/**
 * Pinned, computed by hand:
 * printf '%s' '{"generation":"2026-Q4","instanceId":"0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20","keyId":"4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84","kind":"rotation","v":1}' | sha256sum
 * A change here re-rotates every declared key on upgrade.
 */
const Q4_HASH = 'dd0ee8e24542bbc953a13b775efb7d5be31959fdc2335c7ed754769eb17ce6d3';

const REQUESTED_AT_REF = '${terraform_data.PaymentsKey_rotation_requested_at.output.requested_at}';

interface RecordJson {
  readonly input: Record<string, string>;
  readonly triggers_replace: Record<string, string>;
  readonly lifecycle: { readonly ignore_changes: readonly string[] };
  readonly provisioner?: unknown;
}

type Json = SynthJson & { resource: Record<string, Record<string, SyncResourceJson & { depends_on?: string[] }>> };

interface Declared {
  readonly rotation?: KeyRotationOptions;
  readonly sync?: KeySyncOptions | false;
  readonly syncFirst?: boolean;
  readonly privateEndpoint?: boolean;
  readonly keyRing?: string;
  readonly crns?: readonly string[];
}

function synth(d: Declared = {}): Json {
  return JSON.parse(Testing.synthScope((scope) => {
    const key = new RootKey(scope, 'PaymentsKey', {
      instance: KmsInstance.keyProtect({ instanceId: KP_INSTANCE, region: 'us-south', ...(d.privateEndpoint ? { privateEndpoint: true } : {}) }),
      keyId: KEY,
      keyRing: d.keyRing ?? 'payments',
      lifecycle: { state: 'active' },
    });
    for (const [i, crn] of (d.crns ?? [CRN_A]).entries()) key.associate(`R${i}`, { resourceCrn: crn });
    const sync = (): void => {
      if (d.sync !== false) key.sync(d.sync ?? {});
    };
    if (d.syncFirst) sync();
    if (d.rotation !== undefined) key.rotate(d.rotation);
    if (!d.syncFirst) sync();
  })) as Json;
}

function record(json: Json): RecordJson {
  const r = json.resource['terraform_data']?.['PaymentsKey_rotation_requested_at'] as unknown as RecordJson | undefined;
  if (r === undefined) throw new Error(`no requested-at record in ${JSON.stringify(Object.keys(json.resource))}`);
  return r;
}

function rotationResource(json: Json, type: KeySyncResourceType = DEFAULT_KEY_SYNC_RESOURCE_TYPE): SyncResourceJson & { depends_on?: string[] } {
  const r = syncResources(json, type)['PaymentsKey_rotation'];
  if (r === undefined) throw new Error('no PaymentsKey_rotation');
  return r;
}

function syncResource(json: Json, type: KeySyncResourceType = DEFAULT_KEY_SYNC_RESOURCE_TYPE): SyncResourceJson & { depends_on?: string[] } {
  const r = syncResources(json, type)['PaymentsKey_sync'];
  if (r === undefined) throw new Error('no PaymentsKey_sync');
  return r;
}

function thrown(f: () => unknown): KeySyncConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof KeySyncConfigError) return e;
    throw e;
  }
  throw new Error('expected a KeySyncConfigError');
}

describe(`KeyRotation on ${CORE_PACKAGE}`, () => {
  test('key.rotate(): a terraform_data requested-at record set by plantimestamp(), kept by ignore_changes, replaced with the rotation hash', () => {
    const json = synth({ rotation: { generation: '2026-Q4' } });
    expect(record(json)).toEqual({
      input: { requested_at: '${plantimestamp()}' },
      lifecycle: { ignore_changes: ['input'] },
      triggers_replace: { rotation_hash: Q4_HASH, key_id: KEY, generation: '2026-Q4' },
    });
  });

  test('the rotate resource: readable triggers, after the record, one local-exec running `key-sync rotate` with the recorded time', () => {
    const json = synth({ rotation: { generation: '2026-Q4' } });
    const r = rotationResource(json);
    expect(triggersOf(r)).toEqual({ rotation_hash: Q4_HASH, key_id: KEY, generation: '2026-Q4' });
    expect(r.depends_on).toEqual(['terraform_data.PaymentsKey_rotation_requested_at']);
    expect(r.provisioner).toHaveLength(1);
    expect(r.provisioner[0]!['local-exec'].environment).toBeUndefined();
    expect(commandOf(r)).toMatch(new RegExp(
      "^node 'assets/KeySyncCli/[0-9A-F]{32}/key-sync\\.cjs' rotate --instance-id '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20' --key-id '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84' --key-ring 'payments' --region 'us-south' --service 'key-protect' --generation '2026-Q4' --requested-at '" +
        REQUESTED_AT_REF.replace(/[$.{}]/g, '\\$&') +
        "' --max-wait '900'$",
    ));
  });

  test('the sync runs after the rotation and is told its requested-at, whichever is declared first', () => {
    for (const syncFirst of [false, true]) {
      const json = synth({ rotation: { generation: '2026-Q4' }, syncFirst });
      const s = syncResource(json);
      expect({ syncFirst, dependsOn: s.depends_on }).toEqual({ syncFirst, dependsOn: [`${DEFAULT_KEY_SYNC_RESOURCE_TYPE}.PaymentsKey_rotation`] });
      expect(commandOf(s)).toMatch(new RegExp(` --max-wait '900' --rotation-requested-at '${REQUESTED_AT_REF.replace(/[$.{}]/g, '\\$&')}'$`));
      expect(rotationResource(json).depends_on).toEqual(['terraform_data.PaymentsKey_rotation_requested_at']);
    }
  });

  test('without a rotation the sync is as before: no depends_on, no --rotation-requested-at', () => {
    const s = syncResource(synth());
    expect(s.depends_on).toBeUndefined();
    expect(commandOf(s)).toMatch(/ --max-wait '900'$/);
  });

  test('a rotation without a sync synthesizes on its own', () => {
    const json = synth({ rotation: { generation: 1 }, sync: false });
    expect(Object.keys(syncResources(json, DEFAULT_KEY_SYNC_RESOURCE_TYPE)).filter((n) => !n.endsWith('_requested_at'))).toEqual(['PaymentsKey_rotation']);
    expect(triggersOf(rotationResource(json))['generation']).toBe('1');
  });

  describe('what the hashes cover', () => {
    const q4 = synth({ rotation: { generation: '2026-Q4' } });
    const hashes = (j: Json): { rotation: string; record: string; sync: string; syncCommand: string } => ({
      rotation: triggersOf(rotationResource(j))['rotation_hash']!,
      record: record(j).triggers_replace['rotation_hash']!,
      sync: triggersOf(syncResource(j))['sync_hash']!,
      syncCommand: commandOf(syncResource(j)),
    });
    const base = hashes(q4);

    test('a generation bump changes the rotation hash (and the record\'s) only: it rotates, it does not sync', () => {
      const bumped = hashes(synth({ rotation: { generation: '2027-Q1' } }));
      expect(bumped.rotation).not.toBe(base.rotation);
      expect(bumped.record).toBe(bumped.rotation);
      expect(bumped.sync).toBe(base.sync);
      expect(bumped.syncCommand).toBe(base.syncCommand);
    });

    test('the sync hash is the same with or without a rotation declared', () => {
      expect(hashes(q4).sync).toBe(triggersOf(syncResource(synth()))['sync_hash']);
    });

    test('maxWaitSeconds changes nothing that triggers: neither hash, only the command', () => {
      const slow = synth({ rotation: { generation: '2026-Q4', maxWaitSeconds: 3600 } });
      expect(hashes(slow)).toEqual(base);
      expect(triggersOf(rotationResource(slow))).toEqual(triggersOf(rotationResource(q4)));
      expect(record(slow)).toEqual(record(q4));
      expect(commandOf(rotationResource(slow))).toMatch(/ --max-wait '3600'$/);
    });

    test('an association change re-syncs and does not rotate', () => {
      const more = hashes(synth({ rotation: { generation: '2026-Q4' }, crns: [CRN_A, CRN_B] }));
      expect(more.rotation).toBe(base.rotation);
      expect(more.sync).not.toBe(base.sync);
    });

    test('the same key reached another way (private endpoint, key ring) is not a new rotation', () => {
      expect(hashes(synth({ rotation: { generation: '2026-Q4' }, privateEndpoint: true })).rotation).toBe(base.rotation);
      expect(hashes(synth({ rotation: { generation: '2026-Q4' }, keyRing: 'other-ring' })).rotation).toBe(base.rotation);
    });

    test('a number and the same digits as a string are the same generation', () => {
      expect(hashes(synth({ rotation: { generation: 7 } })).rotation).toBe(hashes(synth({ rotation: { generation: '7' } })).rotation);
    });
  });

  test.each<KeySyncResourceType>(['terraform_data', ...(CORE_PACKAGE === 'cdktf' ? (['null_resource'] as const) : [])])(
    "resourceType '%s' for the rotation: the same triggers in the type's attribute; the record stays a terraform_data",
    (type) => {
      const json = synth({ rotation: { generation: '2026-Q4', resourceType: type }, sync: { resourceType: 'terraform_data' } });
      const r = rotationResource(json, type);
      expect(type === 'null_resource' ? r.triggers : r.triggers_replace).toEqual({ rotation_hash: Q4_HASH, key_id: KEY, generation: '2026-Q4' });
      expect(record(json).input).toEqual({ requested_at: '${plantimestamp()}' });
      expect(syncResource(json, 'terraform_data').depends_on).toEqual([`${type}.PaymentsKey_rotation`]);
    },
  );

  test('tokens: the rotation hash becomes the same document under sha256(jsonencode(...))', () => {
    const json = JSON.parse(Testing.synthScope((s) => {
      const keyId = new TerraformVariable(s, 'key_id', { type: 'string' }).stringValue;
      const key = new RootKey(s, 'K', { instance: KmsInstance.keyProtect({ instanceId: KP_INSTANCE, region: 'us-south' }), keyId });
      key.rotate({ generation: '2026-Q4', resourceType: 'terraform_data' });
    })) as Json;
    expect(triggersOf(syncResources(json, 'terraform_data')['K_rotation']!)['rotation_hash']).toBe(
      '${sha256(jsonencode({"v" = 1, "kind" = "rotation", "instanceId" = "0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20", "keyId" = var.key_id, "generation" = "2026-Q4"}))}',
    );
  });

  test('new KeyRotation(scope, id, { key, ... }) anywhere in the stack; its names follow its path', () => {
    const json = JSON.parse(Testing.synthScope((s) => {
      const key = new RootKey(s, 'AnalyticsKey', { instance: KmsInstance.hyperProtect({ instanceId: HPCS_INSTANCE, region: 'us-south', port: 9730 }), keyId: 'analytics-root' });
      const rotation = new KeyRotation(s, 'QuarterlyRotation', { key, generation: '2026-Q4', maxWaitSeconds: 0 });
      expect(rotation.generation).toBe('2026-Q4');
      expect(rotation.requestedAt).toMatch(/^\$\{TfToken\[TOKEN\.\d+\]\}$/);
      key.sync();
    })) as Json;
    const r = syncResources(json, DEFAULT_KEY_SYNC_RESOURCE_TYPE)['QuarterlyRotation']!;
    expect(commandOf(r)).toMatch(/ --region 'us-south' --service 'hpcs' --port '9730' --generation '2026-Q4' --requested-at '\$\{terraform_data\.QuarterlyRotation_requested_at\.output\.requested_at\}' --max-wait '0'$/);
    expect((syncResources(json, DEFAULT_KEY_SYNC_RESOURCE_TYPE)['AnalyticsKey_sync'] as { depends_on?: string[] }).depends_on).toEqual([`${DEFAULT_KEY_SYNC_RESOURCE_TYPE}.QuarterlyRotation`]);
  });

  describe('errors name the path, the prop, the value and the fix', () => {
    const bareKey = (): RootKey => {
      const stack = new TerraformStack(Testing.app(), 'stack');
      return new RootKey(stack, 'K', { instance: KmsInstance.keyProtect({ instanceId: KP_INSTANCE, region: 'us-south' }), keyId: KEY });
    };

    test.each<[string, KeyRotationOptions, string, string, RegExp]>([
      ['empty generation', { generation: '' }, 'generation', '', /^is empty$/],
      ['generation with a $', { generation: 'q${4}' }, 'generation', 'q${4}', /^contains one of " \\ \$ % \{ \}$/],
      ['fractional generation', { generation: 1.5 }, 'generation', '1.5', /^is not a whole number$/],
      ['negative generation', { generation: -1 }, 'generation', '-1', /^is outside 0 to 9007199254740991$/],
      ['maxWaitSeconds too large', { generation: 'g', maxWaitSeconds: 100_000 }, 'maxWaitSeconds', '100000', /^is outside 0-86400$/],
      ['unknown resource type', { generation: 'g', resourceType: 'local_file' as KeySyncResourceType }, 'resourceType', 'local_file', /^is not a resource type KeySync can create$/],
    ])('%s', (_n, options, prop, value, problem) => {
      const err = thrown(() => bareKey().rotate(options));
      expect({ path: err.path, prop: err.prop, value: err.value }).toEqual({ path: 'stack/K/Rotation', prop, value });
      expect(err.problem).toMatch(problem);
      expect(err.fix.length).toBeGreaterThan(20);
      expect(err.message).toBe(`stack/K/Rotation: ${prop} "${value}" ${err.problem}. Fix: ${err.fix}`);
    });

    test('a second rotation of the same key', () => {
      const key = bareKey();
      key.rotate({ generation: 'a' });
      const err = thrown(() => new KeyRotation(key, 'Again', { key, generation: 'b' }));
      expect({ path: err.path, prop: err.prop, value: err.value }).toEqual({ path: 'stack/K/Again', prop: 'key', value: 'stack/K' });
      expect(err.problem).toBe('already has a declared rotation (stack/K/Rotation); a key has at most one, whose generation you change to rotate it again');
      expect(err.fix).toContain("change its generation (e.g. '2026-Q4' to '2027-Q1')");
    });

    test('not a RootKey', () => {
      const stack = new TerraformStack(Testing.app(), 'stack');
      const err = thrown(() => new KeyRotation(stack, 'R', { key: { keyId: KEY } as unknown as RootKey, generation: 'g' }));
      expect({ path: err.path, prop: err.prop }).toEqual({ path: 'stack/R', prop: 'key' });
      expect(err.fix).toContain('new KeyRotation(this, "Rotation", { key, generation: "2026-Q4" })');
    });

    if (CORE_PACKAGE === 'cdktn') {
      test('null_resource is refused on cdktn', () => {
        const err = thrown(() => bareKey().rotate({ generation: 'g', resourceType: 'null_resource' }));
        expect(err.problem).toBe(`is not available with ${CORE_LABEL}: it has no null provider binding (@cdktf/provider-null would load a second core)`);
      });
    }
  });
});
