import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import type { Seed } from '../../src/emulator/seed';
import { DEMO_KEY, HPCS_INSTANCE, kms, KP_INSTANCE, PAYMENTS_KEY, ANALYTICS_KEY, token } from './emulator-helpers';

const ACCOUNT = '1234567890abcdef1234567890abcdef';
const KEY_B = '5b5b5b5b-5b5b-45b5-85b5-5b5b5b5b5b5b';

/** 450 registrations on PAYMENTS_KEY (COS buckets, every 3rd protected) + 3 databases on KEY_B. */
function bigSeed(): Seed {
  const registrations = [];
  for (let i = 0; i < 450; i++) {
    registrations.push({
      keyId: PAYMENTS_KEY,
      resourceCrn: `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:b-${String(i).padStart(3, '0')}`,
      preventKeyDeletion: i % 3 === 0,
    });
  }
  for (let i = 0; i < 3; i++) {
    registrations.push({ keyId: 'db-root', resourceCrn: `crn:v1:bluemix:public:databases-for-postgresql:us-south:a/${ACCOUNT}:9c8b7a6f-5e4d-4c3b-a2f1-e0d9c8b7a6f${i}::` });
  }
  return {
    instances: [{ id: KP_INSTANCE, kind: 'key-protect', region: 'us-south' }],
    keys: [
      { id: PAYMENTS_KEY, instanceId: KP_INSTANCE, name: 'payments-root', aliases: ['payments-root'] },
      { id: KEY_B, instanceId: KP_INSTANCE, name: 'db-root', aliases: ['db-root'], keyRingID: 'ring-b' },
    ],
    registrations,
    apiKeys: [DEMO_KEY],
  };
}

describe('registrations of the default seed', () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(async () => {
    await emu.close();
  });

  test('per key, in the real collection shape, scoped to the instance', async () => {
    const tok = await token(emu.url);
    const r = await kms(emu.url, tok, 'GET', `/api/v2/keys/${PAYMENTS_KEY}/registrations`);
    expect(r.status).toBe(200);
    expect(r.json.metadata).toEqual({ collectionType: 'application/vnd.ibm.kms.registration+json', collectionTotal: 2 });
    expect(r.json.resources.map((x: { resourceCrn: string }) => x.resourceCrn)).toEqual([
      `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:payments-ledger`,
      `crn:v1:bluemix:public:databases-for-postgresql:us-south:a/${ACCOUNT}:9c8b7a6f-5e4d-4c3b-a2f1-e0d9c8b7a6f5::`,
    ]);
    const item = r.json.resources[0];
    expect(Object.keys(item).sort()).toEqual(
      ['createdBy', 'creationDate', 'description', 'keyId', 'keyName', 'keyVersion', 'lastUpdated', 'preventKeyDeletion', 'resourceCrn', 'updatedBy'].sort(),
    );
    expect(item).toMatchObject({ keyId: PAYMENTS_KEY, keyName: 'payments-root', preventKeyDeletion: false });
    expect(item.keyVersion).toEqual({ id: expect.any(String), creationDate: expect.any(String) });

    const all = await kms(emu.url, tok, 'GET', '/api/v2/keys/registrations', HPCS_INSTANCE);
    expect(all.json.resources.map((x: { keyId: string }) => x.keyId)).toEqual([ANALYTICS_KEY, ANALYTICS_KEY]);
    expect((await kms(emu.url, tok, 'GET', `/api/v2/keys/${ANALYTICS_KEY}/registrations`, KP_INSTANCE)).status).toBe(404);
  });
});

describe('paging and filters over 450 registrations', () => {
  let emu: RunningEmulator;
  let tok: string;
  beforeAll(async () => {
    emu = await startEmulator({ seed: bigSeed() });
    tok = await token(emu.url);
  });
  afterAll(async () => {
    await emu.close();
  });

  const crns = (r: { json: { resources: { resourceCrn: string }[] } }): string[] => r.json.resources.map((x) => x.resourceCrn);

  test('default limit 200; offset pages; totalCount only when asked', async () => {
    const base = `/api/v2/keys/${PAYMENTS_KEY}/registrations`;
    const p1 = await kms(emu.url, tok, 'GET', base);
    expect(p1.json.metadata).toEqual({ collectionType: 'application/vnd.ibm.kms.registration+json', collectionTotal: 200 });
    const seen: string[] = [];
    for (let offset = 0; ; offset += 200) {
      const page = await kms(emu.url, tok, 'GET', `${base}?limit=200&offset=${offset}&totalCount=true`);
      expect(page.json.metadata.totalCount).toBe(450);
      seen.push(...crns(page));
      if (page.json.metadata.collectionTotal < 200) break;
    }
    expect(seen).toHaveLength(450);
    expect(new Set(seen).size).toBe(450);
    expect(seen[0]).toMatch(/bucket:b-000$/);
    expect(seen[449]).toMatch(/bucket:b-449$/);
    const past = await kms(emu.url, tok, 'GET', `${base}?offset=1000&totalCount=true`);
    expect(past.json.metadata).toMatchObject({ collectionTotal: 0, totalCount: 450 });
    const big = await kms(emu.url, tok, 'GET', `${base}?limit=5000`);
    expect(big.json.metadata.collectionTotal).toBe(450);
  });

  test('limit over 5000, negative or non-numeric -> 400 naming the parameter', async () => {
    for (const q of ['limit=5001', 'limit=-1', 'limit=abc', 'offset=-3', 'totalCount=maybe', 'preventKeyDeletion=1', 'urlEncodedResourceCRNQuery=notacrn']) {
      const r = await kms(emu.url, tok, 'GET', `/api/v2/keys/registrations?${q}`);
      expect(r.status).toBe(400);
      expect(r.json.resources[0].reasons[0].target.name).toBe(q.split('=')[0]);
    }
  });

  test('all keys of the instance, paged', async () => {
    const r = await kms(emu.url, tok, 'GET', '/api/v2/keys/registrations?limit=5&offset=448&totalCount=true');
    expect(r.json.metadata).toMatchObject({ collectionTotal: 5, totalCount: 453 });
    expect(r.json.resources.map((x: { keyName: string }) => x.keyName)).toEqual(['payments-root', 'payments-root', 'db-root', 'db-root', 'db-root']);
  });

  test('CRN filter with * wildcard (URL-encoded twice, as the SDK sends it)', async () => {
    const pattern = `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:*:bucket:b-01*`;
    const r = await kms(emu.url, tok, 'GET', `/api/v2/keys/registrations?totalCount=true&urlEncodedResourceCRNQuery=${encodeURIComponent(encodeURIComponent(pattern))}`);
    expect(r.json.metadata.totalCount).toBe(10);
    expect(crns(r)[0]).toMatch(/b-010$/);
    const once = await kms(emu.url, tok, 'GET', `/api/v2/keys/registrations?totalCount=true&urlEncodedResourceCRNQuery=${encodeURIComponent('crn:v1:bluemix:public:databases-for-postgresql:*')}`);
    expect(once.json.metadata.totalCount).toBe(3);
    const exact = `crn:v1:bluemix:public:databases-for-postgresql:us-south:a/${ACCOUNT}:9c8b7a6f-5e4d-4c3b-a2f1-e0d9c8b7a6f1::`;
    const one = await kms(emu.url, tok, 'GET', `/api/v2/keys/${KEY_B}/registrations?urlEncodedResourceCRNQuery=${encodeURIComponent(exact)}`);
    expect(crns(one)).toEqual([exact]);
  });

  test('preventKeyDeletion filter', async () => {
    const r = await kms(emu.url, tok, 'GET', `/api/v2/keys/payments-root/registrations?preventKeyDeletion=true&totalCount=true&limit=1`);
    expect(r.json.metadata).toMatchObject({ collectionTotal: 1, totalCount: 150 });
    expect(r.json.resources[0].preventKeyDeletion).toBe(true);
  });

  test('X-Kms-Key-Ring narrows the instance-wide list', async () => {
    const r = await kms(emu.url, tok, 'GET', '/api/v2/keys/registrations?totalCount=true', KP_INSTANCE, { 'x-kms-key-ring': 'ring-b' });
    expect(r.json.metadata.totalCount).toBe(3);
  });
});
