import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SEED, isCrn, loadSeedFile, parseSeed } from '../../src/emulator/seed';

const INST = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const V0 = '10000000-0000-4000-8000-000000000000';
const V1 = '10000000-0000-4000-8000-000000000001';
const CRN = 'crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:x';

function valid(): Record<string, unknown> {
  return {
    instances: [{ id: INST, kind: 'key-protect', region: 'us-south' }],
    keys: [{ id: KEY, instanceId: INST, name: 'k', aliases: ['k-alias'] }],
    registrations: [{ keyId: 'k-alias', resourceCrn: CRN }],
    apiKeys: ['some-api-key'],
  };
}

test('the default seed matches the example app and validates', () => {
  expect(parseSeed(DEFAULT_SEED, 'default')).toEqual({ ...DEFAULT_SEED });
  expect(DEFAULT_SEED.apiKeys).toEqual(['ks-emulator-demo-key']);
  expect(DEFAULT_SEED.instances.map((i) => [i.id, i.kind, i.region])).toEqual([
    ['0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20', 'key-protect', 'us-south'],
    ['6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73', 'hpcs', 'us-south'],
  ]);
  expect(DEFAULT_SEED.keys.map((k) => [k.id, k.name, k.aliases])).toEqual([
    ['4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84', 'payments-root', ['payments-root']],
    ['c7e2a9f4-1b6d-4c38-9e05-a3f8d2b1c6e9', 'analytics-root', ['analytics-root']],
  ]);
  expect(DEFAULT_SEED.registrations?.map((r) => r.resourceCrn.split(':').slice(4, 5)[0])).toEqual([
    'cloud-object-storage',
    'databases-for-postgresql',
    'cloud-object-storage',
    'messagehub',
  ]);
});

test('registration keyId may be an alias; it is resolved to the id', () => {
  expect(parseSeed(valid(), 's').registrations?.[0]?.keyId).toBe(KEY);
});

test.each<[string, (s: Record<string, unknown>) => void, RegExp]>([
  ['not an object', (s) => Object.assign(s, { instances: 'x' }), /^s: \$\.instances: invalid value "x": use an array/],
  ['unknown top-level field', (s) => Object.assign(s, { keyz: [] }), /\$\.keyz: .*unknown field/],
  ['instance id not a UUID', (s) => ((s.instances as object[])[0] = { id: 'abc', kind: 'key-protect', region: 'us-south' }), /\$\.instances\[0\]\.id: invalid value "abc": use the instance GUID/],
  ['bad kind', (s) => ((s.instances as object[])[0] = { id: INST, kind: 'vault', region: 'us-south' }), /\$\.instances\[0\]\.kind: invalid value "vault": use "key-protect" or "hpcs"/],
  ['key of unknown instance', (s) => ((s.keys as object[])[0] = { id: KEY, instanceId: '11111111-2222-4333-8444-555555555555', name: 'k' }), /\$\.keys\[0\]\.instanceId: .*no instance with this id/],
  ['bad state', (s) => ((s.keys as object[])[0] = { id: KEY, instanceId: INST, name: 'k', state: 4 }), /\$\.keys\[0\]\.state: invalid value 4: use 0 \(pre-activation\)/],
  ['bad alias', (s) => ((s.keys as object[])[0] = { id: KEY, instanceId: INST, name: 'k', aliases: ['has space'] }), /\$\.keys\[0\]\.aliases\[0\]: invalid value "has space"/],
  ['duplicate key', (s) => (s.keys as object[]).push({ id: KEY, instanceId: INST, name: 'k2' }), /\$\.keys\[1\]\.id: .*unique/],
  ['extractable not boolean', (s) => ((s.keys as object[])[0] = { id: KEY, instanceId: INST, name: 'k', extractable: 'yes' }), /\$\.keys\[0\]\.extractable/],
  ['bad date', (s) => ((s.keys as object[])[0] = { id: KEY, instanceId: INST, name: 'k', lastSyncDate: 'yesterday' }), /\$\.keys\[0\]\.lastSyncDate: .*RFC 3339/],
  ['registration of unknown key', (s) => ((s.registrations as object[])[0] = { keyId: 'nope', resourceCrn: CRN }), /\$\.registrations\[0\]\.keyId: invalid value "nope": no key/],
  ['malformed CRN', (s) => ((s.registrations as object[])[0] = { keyId: KEY, resourceCrn: 'crn:v1:x' }), /\$\.registrations\[0\]\.resourceCrn: .*10 colon-separated fields/],
  ['duplicate registration', (s) => (s.registrations as object[]).push({ keyId: KEY, resourceCrn: CRN }), /\$\.registrations\[1\]\.resourceCrn: .*duplicate/],
  ['empty api keys', (s) => Object.assign(s, { apiKeys: [] }), /\$\.apiKeys: .*at least one/],
  ['short api key (value not echoed)', (s) => Object.assign(s, { apiKeys: ['secret'] }), /\$\.apiKeys\[0\]: invalid value "<redacted>"/],
  ['bad fault route', (s) => Object.assign(s, { faults: { 'keys.nope': [] } }), /\$\.faults\.keys\.nope: .*use "\*" or one of/],
  ['bad fault', (s) => Object.assign(s, { faults: { 'keys.sync': [{ status: 'x' }] } }), /\$\.faults\.keys\.sync\[0\]\.status/],
  ['imported not boolean', (s) => ((s.keys as object[])[0] = { id: KEY, instanceId: INST, name: 'k', imported: 'yes' }), /\$\.keys\[0\]\.imported: invalid value "yes": use true for a key created from your own key material/],
  ['versions not an array', (s) => ((s.keys as object[])[0] = { id: KEY, instanceId: INST, name: 'k', versions: {} }), /\$\.keys\[0\]\.versions: invalid value \{\}: use an array of \{"id"/],
  ['versions empty', (s) => ((s.keys as object[])[0] = { id: KEY, instanceId: INST, name: 'k', versions: [] }), /\$\.keys\[0\]\.versions: .*\(1 to 10000 of them\)/],
  ['version id not a UUID', (s) => ((s.keys as object[])[0] = { id: KEY, instanceId: INST, name: 'k', versions: [{ id: 'v1', creationDate: '2026-01-01T00:00:00Z' }] }), /\$\.keys\[0\]\.versions\[0\]\.id: invalid value "v1": use a UUID/],
  ['version without a date', (s) => ((s.keys as object[])[0] = { id: KEY, instanceId: INST, name: 'k', versions: [{ id: V0 }] }), /\$\.keys\[0\]\.versions\[0\]\.creationDate: .*RFC 3339/],
  ['versions out of order', (s) => ((s.keys as object[])[0] = { id: KEY, instanceId: INST, name: 'k', versions: [{ id: V0, creationDate: '2026-02-01T00:00:00Z' }, { id: V1, creationDate: '2026-01-01T00:00:00Z' }] }), /\$\.keys\[0\]\.versions\[1\]\.creationDate: .*oldest first/],
  ['duplicate version', (s) => ((s.keys as object[])[0] = { id: KEY, instanceId: INST, name: 'k', versions: [{ id: V0, creationDate: '2026-01-01T00:00:00Z' }, { id: V0, creationDate: '2026-02-01T00:00:00Z' }] }), /\$\.keys\[0\]\.versions\[1\]\.id: .*unique/],
  ['unknown version field', (s) => ((s.keys as object[])[0] = { id: KEY, instanceId: INST, name: 'k', versions: [{ id: V0, creationDate: '2026-01-01T00:00:00Z', state: 1 }] }), /\$\.keys\[0\]\.versions\[0\]\.state: .*unknown field/],
  ['registration version not of the key', (s) => ((s.registrations as object[])[0] = { keyId: KEY, resourceCrn: CRN, keyVersionId: V1 }), /\$\.registrations\[0\]\.keyVersionId: invalid value "10000000-.*no version with this id .*\$\.keys\[0\]\.versions/],
  ['bad catchUp', (s) => ((s.registrations as object[])[0] = { keyId: KEY, resourceCrn: CRN, catchUp: 'later' }), /\$\.registrations\[0\]\.catchUp: invalid value "later": use "auto" .*"on-sync" .*"never"/],
  ['settings not an object', (s) => Object.assign(s, { settings: 5 }), /^s: \$\.settings: invalid value 5: use an object with any of maxPageSize/],
  ['unknown setting', (s) => Object.assign(s, { settings: { pageSize: 5 } }), /\$\.settings\.pageSize: .*unknown setting/],
  ['maxPageSize 0', (s) => Object.assign(s, { settings: { maxPageSize: 0 } }), /\$\.settings\.maxPageSize: invalid value 0: use an integer from 1 to 5000, or null/],
  ['negative ack', (s) => Object.assign(s, { settings: { registrationAckSeconds: -1 } }), /\$\.settings\.registrationAckSeconds: invalid value -1: use a number of seconds from 0/],
  ['skew over a minute', (s) => Object.assign(s, { settings: { versionDateSkewSeconds: 61 } }), /\$\.settings\.versionDateSkewSeconds: invalid value 61: use a number of seconds from -60 to 60/],
])('%s -> error names the path, value and fix', (_name, mutate, message) => {
  const s = valid();
  mutate(s);
  expect(() => parseSeed(s, 's')).toThrow(message);
});

test('versions, imported, registration versions and settings are kept as given', () => {
  const s = valid();
  (s.keys as object[])[0] = { id: KEY, instanceId: INST, name: 'k', aliases: ['k-alias'], imported: true, versions: [{ id: V0, creationDate: '2026-01-01T00:00:00Z' }, { id: V1, creationDate: '2026-02-01T00:00:00Z' }] };
  (s.registrations as object[])[0] = { keyId: 'k-alias', resourceCrn: CRN, keyVersionId: V0, catchUp: 'on-sync' };
  s.settings = { maxPageSize: 25, registrationAckSeconds: 90, versionDateSkewSeconds: -5 };
  const seed = parseSeed(s, 's');
  expect(seed.keys[0]).toMatchObject({ imported: true, versions: [{ id: V0 }, { id: V1 }] });
  expect(seed.registrations?.[0]).toMatchObject({ keyId: KEY, keyVersionId: V0, catchUp: 'on-sync' });
  expect(seed.settings).toEqual({ maxPageSize: 25, registrationAckSeconds: 90, versionDateSkewSeconds: -5 });
  // without versions, the key id names the key's first version
  expect(parseSeed({ ...valid(), registrations: [{ keyId: KEY, resourceCrn: CRN, keyVersionId: KEY }] }, 's').registrations?.[0]?.keyVersionId).toBe(KEY);
});

test('the API key value never appears in an error', () => {
  expect(() => parseSeed({ ...valid(), apiKeys: ['has space in it'] }, 's')).toThrow(/^(?!.*has space in it)/);
});

test('isCrn', () => {
  expect(isCrn(CRN)).toBe(true);
  expect(isCrn('crn:v1:bluemix:public:messagehub:us-south:a/1:3d2c::')).toBe(true);
  expect(isCrn('crn:v1:bluemix:public:messagehub:us-south:a/1:3d2c:')).toBe(false);
  expect(isCrn('arn:v1:bluemix:public:messagehub:us-south:a/1:3d2c::')).toBe(false);
});

test('loadSeedFile: good file, missing file, bad JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'seed-'));
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify(valid()));
  await expect(loadSeedFile(good)).resolves.toMatchObject({ apiKeys: ['some-api-key'] });
  await expect(loadSeedFile(join(dir, 'missing.json'))).rejects.toThrow(/Cannot read seed file .*missing\.json: ENOENT/);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"instances": [');
  await expect(loadSeedFile(bad)).rejects.toThrow(/bad\.json is not valid JSON/);
  const invalid = join(dir, 'invalid.json');
  writeFileSync(invalid, JSON.stringify({ ...valid(), apiKeys: 3 }));
  await expect(loadSeedFile(invalid)).rejects.toThrow(/invalid\.json: \$\.apiKeys: invalid value 3/);
});
