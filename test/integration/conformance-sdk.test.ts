// Conformance: IBM's official Key Protect Node SDK (and the IAM authenticator of
// ibm-cloud-sdk-core) against the emulator. A mismatch is fixed in the emulator, not here.
import { IamAuthenticator } from '@ibm-cloud/ibm-key-protect/auth';
import KeyProtectV2 = require('@ibm-cloud/ibm-key-protect/ibm-key-protect-api/v2');
import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import type { Seed } from '../../src/emulator/seed';

const INSTANCE = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const API_KEY = 'conformance-api-key-0001';
const ACCOUNT = '1234567890abcdef1234567890abcdef';

function seed(): Seed {
  const registrations = Array.from({ length: 7 }, (_, i) => ({
    keyId: KEY,
    resourceCrn: `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:conf-${i}`,
    description: `bucket ${i}`,
  }));
  return {
    instances: [{ id: INSTANCE, kind: 'key-protect', region: 'us-south' }],
    keys: [{ id: KEY, instanceId: INSTANCE, name: 'payments-root', aliases: ['payments-root'] }],
    registrations,
    apiKeys: [API_KEY],
  };
}

interface SdkError extends Error {
  status?: number;
  body?: string;
  result?: unknown;
}

let emu: RunningEmulator;
let client: KeyProtectV2;

beforeAll(async () => {
  // real-time clock: the SDK checks token expiry against Date.now()
  emu = await startEmulator({ seed: seed() });
  const authenticator = new IamAuthenticator({ apikey: API_KEY, url: emu.url });
  client = new KeyProtectV2({ authenticator, serviceUrl: emu.url });
});
afterAll(async () => {
  await emu.close();
});

test('the SDK gets a token from the emulated IAM and syncs (204)', async () => {
  const res = await client.syncAssociatedResources({ id: KEY, bluemixInstance: INSTANCE });
  expect(res.status).toBe(204);
  const iam = emu.log().filter((e) => e.route === 'iam.token');
  expect(iam).toHaveLength(1);
  expect(iam[0]).toMatchObject({ path: '/identity/token', status: 200, contentType: expect.stringMatching(/^application\/x-www-form-urlencoded/) });
  const sync = emu.log().find((e) => e.route === 'keys.sync');
  expect(sync).toMatchObject({ status: 204, instance: INSTANCE });
});

test('a second sync hits the gate: 409 with REQ_TOO_EARLY_ERR in the error body', async () => {
  let caught: SdkError | undefined;
  try {
    await client.syncAssociatedResources({ id: KEY, bluemixInstance: INSTANCE, correlationId: '9d1f6e3c-2b7a-4c8d-9e0f-1a2b3c4d5e6f' });
  } catch (e) {
    caught = e as SdkError;
  }
  expect(caught).toBeDefined();
  expect(caught?.status).toBe(409);
  const body = JSON.parse(caught?.body ?? '{}');
  expect(body.resources[0].reasons[0].code).toBe('REQ_TOO_EARLY_ERR');
  expect(body.resources[0].reasons[0].message).toMatch(/Sync cannot be performed until at least \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  // the SDK surfaces errorMsg as the error message
  expect(caught?.message).toMatch(/Conflict/);
  expect(emu.log().at(-1)?.correlationId).toBe('9d1f6e3c-2b7a-4c8d-9e0f-1a2b3c4d5e6f');
  // the same token was reused: still one IAM call
  expect(emu.log().filter((e) => e.route === 'iam.token')).toHaveLength(1);
});

test('reads the key and its metadata', async () => {
  const meta = await client.getKeyMetadata({ id: KEY, bluemixInstance: INSTANCE });
  expect(meta.status).toBe(200);
  expect(meta.result.metadata).toEqual({ collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 });
  expect(meta.result.resources?.[0]).toMatchObject({ id: KEY, name: 'payments-root', state: 1, extractable: false });
  const key = await client.getKey({ id: 'payments-root', bluemixInstance: INSTANCE });
  expect(key.result.resources?.[0]?.id).toBe(KEY);
});

test('lists registrations with paging and a CRN filter', async () => {
  const seen: string[] = [];
  for (let offset = 0; ; offset += 3) {
    const page = await client.getRegistrations({ id: KEY, bluemixInstance: INSTANCE, limit: 3, offset, totalCount: true });
    expect(page.status).toBe(200);
    const meta = page.result.metadata as unknown as { collectionType: string; collectionTotal: number; totalCount: number };
    expect(meta.collectionType).toBe('application/vnd.ibm.kms.registration+json');
    expect(meta.totalCount).toBe(7);
    const resources = (page.result.resources ?? []) as unknown as { resourceCrn: string }[];
    seen.push(...resources.map((r) => r.resourceCrn));
    if (meta.collectionTotal < 3) break;
  }
  expect(seen).toHaveLength(7);
  expect(new Set(seen).size).toBe(7);

  const filtered = await client.getRegistrationsAllKeys({
    bluemixInstance: INSTANCE,
    urlEncodedResourceCrnQuery: encodeURIComponent(`crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:*:bucket:conf-5`),
    totalCount: true,
  });
  const resources = (filtered.result.resources ?? []) as unknown as { resourceCrn: string; keyId: string }[];
  expect(resources.map((r) => r.resourceCrn)).toEqual([seen[5]]);
  expect(resources[0]?.keyId).toBe(KEY);
});

test('lifecycle actions through the SDK move the gate', async () => {
  emu.clock.advance(3600_000 + 1000);
  // the token the SDK cached is now expired on the emulator clock, but not on Date.now():
  // the emulator answers 401 and the SDK surfaces it
  await expect(client.rotateKey({ id: KEY, bluemixInstance: INSTANCE })).rejects.toMatchObject({ status: 401 });
  const fresh = new KeyProtectV2({ authenticator: new IamAuthenticator({ apikey: API_KEY, url: `${emu.url}/identity/token` }), serviceUrl: emu.url });
  const rotated = await fresh.rotateKey({ id: KEY, bluemixInstance: INSTANCE });
  expect(rotated.status).toBe(204);
  await expect(fresh.syncAssociatedResources({ id: KEY, bluemixInstance: INSTANCE })).rejects.toMatchObject({ status: 409 });
  await expect(fresh.rotateKey({ id: KEY, bluemixInstance: INSTANCE })).rejects.toMatchObject({ status: 409 });
  expect((await fresh.disableKey({ id: KEY, bluemixInstance: INSTANCE })).status).toBe(204);
  expect((await fresh.getKeyMetadata({ id: KEY, bluemixInstance: INSTANCE })).result.resources?.[0]?.state).toBe(2);
  expect((await fresh.enableKey({ id: KEY, bluemixInstance: INSTANCE })).status).toBe(204);
});

test('an unknown API key is refused by the emulated IAM', async () => {
  const bad = new KeyProtectV2({ authenticator: new IamAuthenticator({ apikey: 'not-a-known-api-key', url: emu.url }), serviceUrl: emu.url });
  await expect(bad.syncAssociatedResources({ id: KEY, bluemixInstance: INSTANCE })).rejects.toMatchObject({ status: 400 });
});
