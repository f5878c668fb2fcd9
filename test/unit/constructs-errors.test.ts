import { Testing, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { CLI_BUNDLE_CONTEXT_KEY, DEFAULT_KEY_SYNC_RESOURCE_TYPE, KeySync, KeySyncConfigError, KmsInstance, RootKey, locateCliBundle } from '../../src';

const KP_INSTANCE = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const CRN_A = 'crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:payments-ledger';

function stack(context?: Record<string, unknown>): TerraformStack {
  return new TerraformStack(Testing.app(context ? { context } : {}), 'stack');
}
const kp = () => KmsInstance.keyProtect({ instanceId: KP_INSTANCE, region: 'us-south' });

/** Runs `fn`, expects a KeySyncConfigError with exactly these parts, and checks the message shape. */
function expectConfigError(fn: () => unknown, path: string | RegExp, prop: string, value: string, problem: RegExp, fix: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(KeySyncConfigError);
  const err = caught as KeySyncConfigError;
  if (path instanceof RegExp) expect(err.path).toMatch(path);
  expect({ path: err.path, prop: err.prop, value: err.value }).toEqual({ path: path instanceof RegExp ? err.path : path, prop, value });
  expect(err.problem).toMatch(problem);
  expect(err.fix).toMatch(fix);
  expect(err.message).toBe(`${err.path}: ${prop} "${value}" ${err.problem}. Fix: ${err.fix}`);
}

/** A factory's path: its name and where this test file called it (a KmsInstance has no construct path). */
const calledHere = (factory: string): RegExp => new RegExp(`^${factory.replace('.', '\\.')} \\(called at test/unit/constructs-errors\\.test\\.ts:\\d+:\\d+\\)$`);

describe('KmsInstance factories', () => {
  test.each<[string, () => unknown, string, string, string, RegExp, RegExp]>([
    ['keyProtect: instance id not a UUID', () => KmsInstance.keyProtect({ instanceId: 'my-kp', region: 'us-south' }), 'KmsInstance.keyProtect', 'instanceId', 'my-kp', /not an instance UUID/, /GUID/],
    ['keyProtect: unknown region', () => KmsInstance.keyProtect({ instanceId: KP_INSTANCE, region: 'us-nowhere' }), 'KmsInstance.keyProtect', 'region', 'us-nowhere', /not a known Key Protect region/, /us-south.*fromEndpoint/],
    ['hyperProtect: region Key Protect has but HPCS lacks', () => KmsInstance.hyperProtect({ instanceId: KP_INSTANCE, region: 'jp-osa' }), 'KmsInstance.hyperProtect', 'region', 'jp-osa', /not a known Hyper Protect Crypto Services region/, /fromEndpoint/],
    ['hyperProtect: port below range', () => KmsInstance.hyperProtect({ instanceId: KP_INSTANCE, region: 'us-south', port: 7999 }), 'KmsInstance.hyperProtect', 'port', '7999', /outside .* 8000-19999/, /omit port/],
    ['hyperProtect: port above range', () => KmsInstance.hyperProtect({ instanceId: KP_INSTANCE, region: 'us-south', port: 20000 }), 'KmsInstance.hyperProtect', 'port', '20000', /8000-19999/, /port/],
    ['hyperProtect: fractional port', () => KmsInstance.hyperProtect({ instanceId: KP_INSTANCE, region: 'us-south', port: 9730.5 }), 'KmsInstance.hyperProtect', 'port', '9730.5', /8000-19999/, /port/],
    ['hyperProtect: instance id', () => KmsInstance.hyperProtect({ instanceId: '', region: 'us-south' }), 'KmsInstance.hyperProtect', 'instanceId', '', /not an instance UUID/, /GUID/],
    ['fromEndpoint: plain http to a non-loopback host', () => KmsInstance.fromEndpoint({ instanceId: KP_INSTANCE, endpoint: 'http://kms.example.com' }), 'KmsInstance.fromEndpoint', 'endpoint', 'http://kms.example.com', /plain http to the non-loopback host "kms.example.com"/, /https:\/\//],
    ['fromEndpoint: not a URL', () => KmsInstance.fromEndpoint({ instanceId: KP_INSTANCE, endpoint: 'us-south.kms.cloud.ibm.com' }), 'KmsInstance.fromEndpoint', 'endpoint', 'us-south.kms.cloud.ibm.com', /not an absolute URL/, /https:\/\/us-south/],
    ['fromEndpoint: other scheme', () => KmsInstance.fromEndpoint({ instanceId: KP_INSTANCE, endpoint: 'ftp://127.0.0.1' }), 'KmsInstance.fromEndpoint', 'endpoint', 'ftp://127.0.0.1', /unsupported scheme/, /https/],
    ['fromEndpoint: credentials in the URL', () => KmsInstance.fromEndpoint({ instanceId: KP_INSTANCE, endpoint: 'https://u:p@kms.example.com' }), 'KmsInstance.fromEndpoint', 'endpoint', 'https://<redacted>@kms.example.com', /user information/, /environment/],
    ['fromEndpoint: unknown service', () => KmsInstance.fromEndpoint({ instanceId: KP_INSTANCE, endpoint: 'https://kms.example.com', service: 'vault' as 'hpcs' }), 'KmsInstance.fromEndpoint', 'service', 'vault', /not a key-management service/, /key-protect.*hpcs/],
    ['fromEndpoint: instance id', () => KmsInstance.fromEndpoint({ instanceId: 'x', endpoint: 'https://kms.example.com' }), 'KmsInstance.fromEndpoint', 'instanceId', 'x', /UUID/, /GUID/],
  ])('%s', (_name, fn, path, prop, value, problem, fix) => expectConfigError(fn, calledHere(path), prop, value, problem, fix));

  test('plain http to loopback is fine', () => {
    for (const endpoint of ['http://127.0.0.1:8811', 'http://localhost:1', 'http://[::1]:8811']) {
      expect(KmsInstance.fromEndpoint({ instanceId: KP_INSTANCE, endpoint }).endpoint).toBe(endpoint);
    }
  });
});

describe('RootKey', () => {
  test.each<[string, Record<string, unknown>, string, string, RegExp, RegExp]>([
    ['key id neither UUID nor alias', { keyId: 'not a key!' }, 'keyId', 'not a key!', /neither a key UUID nor a valid alias/, /UUID.*alias/],
    ['key id a reserved word', { keyId: 'keys' }, 'keyId', 'keys', /reserves/, /UUID or another alias/],
    ['key ring', { keyRing: 'bad_ring' }, 'keyRing', 'bad_ring', /not a valid key ring id/, /2-100 letters/],
    ['lifecycle state', { lifecycle: { state: 'enabled' } }, 'lifecycle.state', 'enabled', /not a key state/, /"active", "disabled", "deleted"/],
    ['lifecycle rotation marker', { lifecycle: { rotation: '${var.when}' } }, 'lifecycle.rotation', '${var.when}', /contains one of/, /readable marker/],
    ['empty lifecycle rotation marker', { lifecycle: { rotation: '' } }, 'lifecycle.rotation', '', /is empty/, /omit the marker/],
  ])('%s', (_name, props, prop, value, problem, fix) => {
    const s = stack();
    expectConfigError(() => new RootKey(s, 'PaymentsKey', { instance: kp(), keyId: KEY, ...props }), 'stack/PaymentsKey', prop, value, problem, fix);
  });

  test('malformed association CRN', () => {
    const key = new RootKey(stack(), 'PaymentsKey', { instance: kp(), keyId: KEY });
    expectConfigError(() => key.associate('Ledger', { resourceCrn: 'crn:v1:bluemix:public:cloud-object-storage' }), 'stack/PaymentsKey/Ledger', 'resourceCrn', 'crn:v1:bluemix:public:cloud-object-storage', /has 5 colon-separated fields, not 10/, /crn:v1:<cname>/);
    expect(key.associations).toHaveLength(0);
  });

  test('duplicate association CRN names both construct paths; the duplicate leaves no trace', () => {
    const key = new RootKey(stack(), 'PaymentsKey', { instance: kp(), keyId: KEY });
    key.associate('Ledger', { resourceCrn: CRN_A });
    expectConfigError(() => key.associate('LedgerAgain', { resourceCrn: CRN_A }), 'stack/PaymentsKey/LedgerAgain', 'resourceCrn', CRN_A, /already associated with this key by stack\/PaymentsKey\/Ledger/, /stack\/PaymentsKey\/Ledger or stack\/PaymentsKey\/LedgerAgain/);
    expect(key.associations.map((a) => a.node.id)).toEqual(['Ledger']);
    expect(key.node.tryFindChild('LedgerAgain')).toBeUndefined();
  });

  test('sync() twice', () => {
    const key = new RootKey(stack(), 'PaymentsKey', { instance: kp(), keyId: KEY });
    key.sync();
    expectConfigError(() => key.sync(), 'stack/PaymentsKey', 'sync()', 'Sync', /already declared \(stack\/PaymentsKey\/Sync\)/, /call key.sync\(\) once/);
  });
});

describe('KeySync', () => {
  test.each<[string, Record<string, unknown>, string, string, RegExp, RegExp]>([
    ['negative maxWaitSeconds', { maxWaitSeconds: -1 }, 'maxWaitSeconds', '-1', /outside 0-86400/, /0 \(never wait for the gate\) to 86400/],
    ['absurd maxWaitSeconds', { maxWaitSeconds: 86401 }, 'maxWaitSeconds', '86401', /outside 0-86400/, /86400/],
    ['fractional maxWaitSeconds', { maxWaitSeconds: 1.5 }, 'maxWaitSeconds', '1.5', /not a whole number/, /whole number/],
    ['bad trigger name', { triggers: { 'has space': 'x' } }, 'triggers', 'has space', /not a valid trigger name/, /1-64 letters/],
    ['bad trigger value', { triggers: { ticket: 'a"b' } }, 'triggers.ticket', 'a"b', /contains one of/, /readable marker/],
  ])('%s', (_name, props, prop, value, problem, fix) => {
    const key = new RootKey(stack(), 'PaymentsKey', { instance: kp(), keyId: KEY });
    expectConfigError(() => key.sync(props), 'stack/PaymentsKey/Sync', prop, value, problem, fix);
  });

  test('key that is not a RootKey (plain JavaScript callers)', () => {
    const s = stack();
    expectConfigError(() => new KeySync(s, 'Sync', { key: { keyId: KEY } as unknown as RootKey }), 'stack/Sync', 'key', `{"keyId":"${KEY}"}`, /not a RootKey/, /pass the RootKey/);
  });

  test('two KeySyncs that would get the same resource name', () => {
    const s = stack();
    new RootKey(s, 'A', { instance: kp(), keyId: KEY }).sync();
    const other = new RootKey(s, 'B', { instance: kp(), keyId: KEY });
    expectConfigError(() => new KeySync(s, 'A_sync', { key: other }), 'stack/A_sync', 'resource name', 'A_sync', /already used by the sync resource of stack\/A\/Sync/, /different id/);
  });

  test('the stack id KeySyncCli taken by something else', () => {
    const s = stack();
    new Construct(s, 'KeySyncCli');
    const key = new RootKey(s, 'A', { instance: kp(), keyId: KEY });
    expectConfigError(() => key.sync(), 'stack/KeySyncCli', 'construct id', 'KeySyncCli', /not the key-sync CLI asset/, /rename your construct/);
  });

  test('missing CLI bundle: clear error telling to build it', () => {
    expectConfigError(() => locateCliBundle('stack/A/Sync', '/nonexistent/dist/key-sync.cjs'), 'stack/A/Sync', 'CLI bundle', '/nonexistent/dist/key-sync.cjs', /does not exist/, /npm run build:cli/);
    const s = stack({ [CLI_BUNDLE_CONTEXT_KEY]: '/nonexistent/key-sync.cjs' });
    const key = new RootKey(s, 'A', { instance: kp(), keyId: KEY });
    expectConfigError(() => key.sync(), 'stack/A/Sync', 'CLI bundle', '/nonexistent/key-sync.cjs', /does not exist/, /npm run build:cli/);
  });

  test('an unknown resourceType (plain JavaScript callers): the fix names what this core offers', () => {
    const key = new RootKey(stack(), 'A', { instance: kp(), keyId: KEY });
    // cdktf: null_resource (the default) or terraform_data; cdktn has no null provider binding
    const fix = DEFAULT_KEY_SYNC_RESOURCE_TYPE === 'null_resource' ? /'null_resource' \(the default.*or 'terraform_data'.*no provider download/ : /^use 'terraform_data' \(built into .*no provider download\), the default$/;
    expectConfigError(() => key.sync({ resourceType: 'null' as never }), 'stack/A/Sync', 'resourceType', 'null', /not a resource type KeySync can create/, fix);
  });
});
