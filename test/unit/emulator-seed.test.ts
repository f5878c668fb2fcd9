import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SEED, isCrn, loadSeedFile, parseSeed } from '../../src/emulator/seed';

const INST = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
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
])('%s -> error names the path, value and fix', (_name, mutate, message) => {
  const s = valid();
  mutate(s);
  expect(() => parseSeed(s, 's')).toThrow(message);
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
