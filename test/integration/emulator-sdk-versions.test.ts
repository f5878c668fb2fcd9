// Conformance of the new routes with IBM's official Key Protect Node SDK: rotate (with and
// without key material), list key versions, registrations' keyVersion. A mismatch is fixed
// in the emulator, not here.
import { IamAuthenticator } from '@ibm-cloud/ibm-key-protect/auth';
import KeyProtectV2 = require('@ibm-cloud/ibm-key-protect/ibm-key-protect-api/v2');
import { startEmulator, type RunningEmulator } from '../../src/emulator/server';

const INSTANCE = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const IMPORTED = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b85';
const API_KEY = 'conformance-api-key-0002';
const CRN = 'crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:sdk';

let emu: RunningEmulator;
let client: KeyProtectV2;

beforeAll(async () => {
  // real-time clock: the SDK checks token expiry against Date.now()
  emu = await startEmulator({
    registrationAckSeconds: 3600,
    seed: {
      instances: [{ id: INSTANCE, kind: 'key-protect', region: 'us-south' }],
      keys: [
        { id: KEY, instanceId: INSTANCE, name: 'payments-root' },
        { id: IMPORTED, instanceId: INSTANCE, name: 'byok-root', imported: true },
      ],
      registrations: [{ keyId: KEY, resourceCrn: CRN }],
      apiKeys: [API_KEY],
    },
  });
  client = new KeyProtectV2({ authenticator: new IamAuthenticator({ apikey: API_KEY, url: emu.url }), serviceUrl: emu.url });
});
afterAll(async () => {
  await emu.close();
});

test('rotateKey, then getKeyVersions lists both versions newest first and pages', async () => {
  expect((await client.rotateKey({ id: KEY, bluemixInstance: INSTANCE })).status).toBe(204);
  const key = (await client.getKeyMetadata({ id: KEY, bluemixInstance: INSTANCE })).result.resources?.[0] as { keyVersion: { id: string }; lastRotateDate: string };
  expect(key.lastRotateDate).toMatch(/Z$/);
  const versions = await client.getKeyVersions({ id: KEY, bluemixInstance: INSTANCE });
  expect(versions.status).toBe(200);
  expect(versions.result.metadata).toMatchObject({ collectionType: 'application/vnd.ibm.kms.key_version+json', collectionTotal: 2 });
  expect(versions.result.resources?.map((v) => v.id)).toEqual([key.keyVersion.id, KEY]);
  const second = await client.getKeyVersions({ id: KEY, bluemixInstance: INSTANCE, limit: 1, offset: 1 });
  expect(second.result.resources?.map((v) => v.id)).toEqual([KEY]);
  // the SDK surfaces the gate as a 409 with the reason in the body
  const gated = (await client.rotateKey({ id: KEY, bluemixInstance: INSTANCE }).catch((e: unknown) => e)) as { status: number; body: string };
  expect(gated.status).toBe(409);
  expect(JSON.parse(gated.body).resources[0].reasons[0].code).toBe('KEY_ROTATION_NOT_PERMITTED');
});

test('the registration keeps the old version until its resource acknowledges', async () => {
  const regs = await client.getRegistrations({ id: KEY, bluemixInstance: INSTANCE });
  const reg = (regs.result.resources ?? [])[0] as unknown as { keyVersion: { id: string } };
  expect(reg.keyVersion.id).toBe(KEY);
});

test('an imported key: refused without material, rotated with keyActionRotateBody', async () => {
  const refused = (await client.rotateKey({ id: IMPORTED, bluemixInstance: INSTANCE }).catch((e: unknown) => e)) as { status: number; body: string };
  expect(refused.status).toBe(400);
  expect(JSON.parse(refused.body).resources[0].reasons[0].code).toBe('KEY_PAYLOAD_REQ_ERR');
  const body = Buffer.from(JSON.stringify({ payload: Buffer.alloc(32, 3).toString('base64') }));
  expect((await client.rotateKey({ id: IMPORTED, bluemixInstance: INSTANCE, keyActionRotateBody: body })).status).toBe(204);
  expect((await client.getKeyVersions({ id: IMPORTED, bluemixInstance: INSTANCE })).result.resources).toHaveLength(2);
});
