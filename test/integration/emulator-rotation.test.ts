// Rotation and key versions over real HTTP: the rules, the once-an-hour gate, the versions
// listing and what key reads show.
import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import type { Seed, SeedKey } from '../../src/emulator/seed';
import { call, DEMO_KEY, HPCS_INSTANCE, kms, KP_INSTANCE, PAYMENTS_KEY, token, type Answer } from './emulator-helpers';

const T0 = Date.parse('2026-11-28T20:00:00Z');
const HOUR = 3600_000;
const ROTATE = (k: string): string => `/api/v2/keys/${k}/actions/rotate`;
const VERSIONS = (k: string): string => `/api/v2/keys/${k}/versions`;
const MATERIAL = Buffer.alloc(32, 9).toString('base64');

const KEYS = {
  kpDeactivated: '3a000000-0000-4000-8000-000000000001',
  hpcsActive: '3a000000-0000-4000-8000-000000000002',
  hpcsDeactivated: '3a000000-0000-4000-8000-000000000003',
  suspended: '3a000000-0000-4000-8000-000000000004',
  destroyed: '3a000000-0000-4000-8000-000000000005',
  preActive: '3a000000-0000-4000-8000-000000000006',
  imported: '3a000000-0000-4000-8000-000000000007',
  standard: '3a000000-0000-4000-8000-000000000008',
  history: '3a000000-0000-4000-8000-000000000009',
  fresh: '3a000000-0000-4000-8000-00000000000a',
} as const;

const versionId = (n: number): string => `5b000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function seed(): Seed {
  const kp = (id: string, extra: Partial<SeedKey> = {}): SeedKey => ({ id, instanceId: KP_INSTANCE, name: `k-${id.slice(-2)}`, ...extra });
  const hpcs = (id: string, extra: Partial<SeedKey> = {}): SeedKey => ({ id, instanceId: HPCS_INSTANCE, name: `h-${id.slice(-2)}`, ...extra });
  return {
    instances: [
      { id: KP_INSTANCE, kind: 'key-protect', region: 'us-south' },
      { id: HPCS_INSTANCE, kind: 'hpcs', region: 'us-south' },
    ],
    keys: [
      kp(PAYMENTS_KEY, { aliases: ['payments-root'] }),
      kp(KEYS.kpDeactivated, { state: 3 }),
      hpcs(KEYS.hpcsActive),
      hpcs(KEYS.hpcsDeactivated, { state: 3 }),
      kp(KEYS.suspended, { state: 2 }),
      kp(KEYS.destroyed, { state: 5 }),
      kp(KEYS.preActive, { state: 0 }),
      kp(KEYS.imported, { imported: true }),
      kp(KEYS.standard, { extractable: true }),
      // seven versions, the last rotated two hours ago
      kp(KEYS.history, { versions: Array.from({ length: 7 }, (_, i) => ({ id: versionId(i), creationDate: new Date(T0 - (7 - i) * 24 * HOUR + (i === 6 ? 22 * HOUR : 0)).toISOString() })) }),
      // created a minute ago and synced since: the first rotation is still free
      kp(KEYS.fresh, { creationDate: '2026-11-28T19:59:00Z', lastSyncDate: '2026-11-28T19:59:30Z' }),
    ],
    apiKeys: [DEMO_KEY],
  };
}

let emu: RunningEmulator;
let tok: string;

beforeEach(async () => {
  emu = await startEmulator({ now: T0, seed: seed() });
  tok = await token(emu.url);
});
afterEach(async () => {
  await emu.close();
});

const reason = (a: Answer): { code: string; message: string; status: number; target?: { type: string; name: string } } => a.json.resources[0].reasons[0];
const read = async (key: string, instance = KP_INSTANCE): Promise<Record<string, any>> => (await kms(emu.url, tok, 'GET', `/api/v2/keys/${key}`, instance)).json.resources[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
const rotate = (key: string, instance = KP_INSTANCE, body?: string): Promise<Answer> =>
  call(emu.url, 'POST', ROTATE(key), {
    headers: { authorization: `Bearer ${tok}`, 'bluemix-instance': instance, 'content-type': 'application/vnd.ibm.kms.key_action_rotate+json' },
    ...(body !== undefined ? { body } : {}),
  });

test('happy path: 204, same id, new version, lastRotateDate, versions grow by one, sync gate closed', async () => {
  const before = await read(PAYMENTS_KEY);
  expect(before).toMatchObject({ id: PAYMENTS_KEY, state: 1, extractable: false, imported: false, keyVersion: { id: PAYMENTS_KEY } });
  expect(before).not.toHaveProperty('lastRotateDate');
  const versionsBefore = await kms(emu.url, tok, 'GET', VERSIONS(PAYMENTS_KEY));
  expect(versionsBefore.json).toEqual({
    metadata: { collectionType: 'application/vnd.ibm.kms.key_version+json', collectionTotal: 1 },
    resources: [{ id: PAYMENTS_KEY, creationDate: before.creationDate }],
  });

  emu.clock.advance(5_000);
  const r = await rotate(PAYMENTS_KEY);
  expect(r.status).toBe(204);
  expect(r.text).toBe('');

  for (const path of [`/api/v2/keys/${PAYMENTS_KEY}`, `/api/v2/keys/${PAYMENTS_KEY}/metadata`, '/api/v2/keys/payments-root']) {
    const after = (await kms(emu.url, tok, 'GET', path)).json.resources[0];
    expect(after).toMatchObject({ id: PAYMENTS_KEY, state: 1, extractable: false, imported: false, lastRotateDate: '2026-11-28T20:00:05Z', lastUpdateDate: '2026-11-28T20:00:05Z' });
    expect(after.keyVersion).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), creationDate: '2026-11-28T20:00:05Z' });
    expect(after.keyVersion.id).not.toBe(before.keyVersion.id);
  }
  const after = await read(PAYMENTS_KEY);
  const versions = await kms(emu.url, tok, 'GET', `${VERSIONS(PAYMENTS_KEY)}?totalCount=true`);
  expect(versions.json.metadata).toEqual({ collectionType: 'application/vnd.ibm.kms.key_version+json', collectionTotal: 2, totalCount: 2 });
  // newest first
  expect(versions.json.resources).toEqual([after.keyVersion, { id: PAYMENTS_KEY, creationDate: before.creationDate }]);

  const sync = await kms(emu.url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`);
  expect(sync.status).toBe(409);
  expect(reason(sync).message).toMatch(/until at least 2026-11-28T21:00:05Z$/);
});

test('the gate: 409 KEY_ROTATION_NOT_PERMITTED with no time in the message; it opens at lastRotateDate + 1 h', async () => {
  expect((await rotate(PAYMENTS_KEY)).status).toBe(204);
  const opens = Date.parse((await read(PAYMENTS_KEY)).lastRotateDate) + HOUR;
  emu.clock.set(opens - 1000);
  tok = await token(emu.url);
  const gated = await rotate(PAYMENTS_KEY);
  expect(gated.status).toBe(409);
  expect(reason(gated)).toMatchObject({
    code: 'KEY_ROTATION_NOT_PERMITTED',
    status: 409,
    message: "This root key has been rotated within the last hour. Only one 'rotate' action per hour is permitted",
  });
  expect(gated.text).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
  expect((await kms(emu.url, tok, 'GET', VERSIONS(PAYMENTS_KEY))).json.metadata.collectionTotal).toBe(2);
  emu.clock.set(opens);
  expect((await rotate(PAYMENTS_KEY)).status).toBe(204);
  expect((await kms(emu.url, tok, 'GET', VERSIONS(PAYMENTS_KEY))).json.metadata.collectionTotal).toBe(3);
});

test('the first rotation after creation is free, even for a key created and synced a minute ago', async () => {
  expect((await rotate(KEYS.fresh)).status).toBe(204);
  expect((await rotate(KEYS.fresh)).status).toBe(409);
});

test('a seeded rotation within the hour gates the next one', async () => {
  emu.clock.set(T0 - 2 * HOUR + 30 * 60_000); // 30 min after the history key's last rotation
  tok = await token(emu.url);
  expect(reason(await rotate(KEYS.history)).code).toBe('KEY_ROTATION_NOT_PERMITTED');
  emu.clock.set(T0);
  tok = await token(emu.url);
  expect((await rotate(KEYS.history)).status).toBe(204);
});

test.each<[string, string, string, number, string]>([
  ['Key Protect rotates a deactivated key', KEYS.kpDeactivated, KP_INSTANCE, 204, ''],
  ['HPCS rotates an active key', KEYS.hpcsActive, HPCS_INSTANCE, 204, ''],
  ['HPCS refuses a deactivated key', KEYS.hpcsDeactivated, HPCS_INSTANCE, 409, 'KEY_ACTION_INVALID_STATE_ERR'],
  ['a suspended key is refused', KEYS.suspended, KP_INSTANCE, 409, 'KEY_ACTION_INVALID_STATE_ERR'],
  ['a pre-active key is refused', KEYS.preActive, KP_INSTANCE, 409, 'KEY_ACTION_INVALID_STATE_ERR'],
  ['a destroyed key is gone', KEYS.destroyed, KP_INSTANCE, 410, 'KEY_DELETED_ERR'],
  ['a standard key is not a root key', KEYS.standard, KP_INSTANCE, 422, 'KEY_ROOT_REQ_ERR'],
  ['an imported key without new material', KEYS.imported, KP_INSTANCE, 400, 'KEY_PAYLOAD_REQ_ERR'],
])('%s', async (_name, key, instance, status, code) => {
  const r = await rotate(key, instance);
  expect(r.status).toBe(status);
  if (status === 204) return;
  expect(reason(r).code).toBe(code);
  expect(r.json.metadata.collectionType).toBe('application/vnd.ibm.kms.error+json');
  // nothing changed
  const state = emu.state.keys.get(key);
  expect(state?.versions).toHaveLength(1);
  expect(state?.lastRotateDate).toBeUndefined();
});

test('imported keys: refused without material ({} too), rotated with it; material is never echoed or logged', async () => {
  for (const body of [undefined, '', '{}', 'null']) {
    const r = await rotate(KEYS.imported, KP_INSTANCE, body);
    expect(r.status).toBe(400);
    expect(reason(r)).toMatchObject({
      code: 'KEY_PAYLOAD_REQ_ERR',
      message: "This root key was created with user-supplied key material: Key material is required to perform a 'rotate' action",
      target: { type: 'field', name: 'payload' },
    });
  }
  expect((await read(KEYS.imported)).imported).toBe(true);
  const bad = await rotate(KEYS.imported, KP_INSTANCE, JSON.stringify({ payload: `${MATERIAL.slice(0, 10)}%%%` }));
  expect(bad.status).toBe(400);
  expect(reason(bad).code).toBe('BAD_BODY_ERR');
  expect(bad.text).not.toContain(MATERIAL.slice(0, 10));
  const ok = await rotate(KEYS.imported, KP_INSTANCE, JSON.stringify({ payload: MATERIAL }));
  expect(ok.status).toBe(204);
  expect(emu.state.keys.get(KEYS.imported)?.versions).toHaveLength(2);
  const everything = JSON.stringify([emu.log(), (await call(emu.url, 'GET', '/__emulator/state')).json]);
  expect(everything).not.toContain(MATERIAL);
  // a generated key given material is refused (the emulator's choice; see state.ts)
  const generated = await rotate(PAYMENTS_KEY, KP_INSTANCE, JSON.stringify({ payload: MATERIAL }));
  expect(generated.status).toBe(400);
  expect(reason(generated).code).toBe('BAD_BODY_ERR');
});

describe('versions listing', () => {
  const ids = (a: Answer): string[] => a.json.resources.map((v: { id: string }) => v.id);

  test('newest first; limit, offset, totalCount; default limit 200', async () => {
    const all = await kms(emu.url, tok, 'GET', VERSIONS(KEYS.history));
    expect(all.json.metadata).toEqual({ collectionType: 'application/vnd.ibm.kms.key_version+json', collectionTotal: 7 });
    expect(ids(all)).toEqual([6, 5, 4, 3, 2, 1, 0].map(versionId));
    expect(Object.keys(all.json.resources[0]).sort()).toEqual(['creationDate', 'id']);
    expect(all.json.resources[0].creationDate).toBe('2026-11-28T18:00:00Z');
    const page = await kms(emu.url, tok, 'GET', `${VERSIONS(KEYS.history)}?limit=3&offset=2&totalCount=true`);
    expect(page.json.metadata).toEqual({ collectionType: 'application/vnd.ibm.kms.key_version+json', collectionTotal: 3, totalCount: 7 });
    expect(ids(page)).toEqual([4, 3, 2].map(versionId));
    const past = await kms(emu.url, tok, 'GET', `${VERSIONS(KEYS.history)}?offset=7&totalCount=true`);
    expect(past.json.metadata).toMatchObject({ collectionTotal: 0, totalCount: 7 });
    // the alias works like for every key route
    expect((await kms(emu.url, tok, 'GET', '/api/v2/keys/payments-root/versions')).status).toBe(200);
  });

  test('over 200 versions: the default page is 200, limit up to 5000', async () => {
    const key = emu.state.keys.get(PAYMENTS_KEY);
    for (let i = 0; i < 250; i++) key?.versions.push({ id: versionId(1000 + i), creationDate: T0 + i });
    const first = await kms(emu.url, tok, 'GET', `${VERSIONS(PAYMENTS_KEY)}?totalCount=true`);
    expect(first.json.metadata).toMatchObject({ collectionTotal: 200, totalCount: 251 });
    expect((await kms(emu.url, tok, 'GET', `${VERSIONS(PAYMENTS_KEY)}?limit=5000`)).json.metadata.collectionTotal).toBe(251);
  });

  test.each(['limit=0', 'limit=5001', 'offset=-1', 'totalCount=yes', 'allKeyStates=maybe'])('%s -> 400 naming the parameter', async (q) => {
    const r = await kms(emu.url, tok, 'GET', `${VERSIONS(KEYS.history)}?${q}`);
    expect(r.status).toBe(400);
    expect(reason(r)).toMatchObject({ code: 'INVALID_QUERY_PARAM_ERR', target: { type: 'query_param', name: q.split('=')[0] } });
  });

  test('a destroyed key lists its versions only with allKeyStates=true; an unknown key is 404; GET only', async () => {
    expect((await kms(emu.url, tok, 'GET', VERSIONS(KEYS.destroyed))).status).toBe(410);
    expect((await kms(emu.url, tok, 'GET', `${VERSIONS(KEYS.destroyed)}?allKeyStates=true`)).json.metadata.collectionTotal).toBe(1);
    expect((await kms(emu.url, tok, 'GET', VERSIONS('3a000000-0000-4000-8000-0000000000ff'))).status).toBe(404);
    expect((await kms(emu.url, tok, 'GET', VERSIONS(KEYS.hpcsActive))).status).toBe(404); // wrong instance
    const post = await kms(emu.url, tok, 'POST', VERSIONS(KEYS.history));
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET');
  });

  test('is a route of its own for faults and the log', async () => {
    emu.injectFaults('keys.versions', [{ status: 503 }]);
    expect((await kms(emu.url, tok, 'GET', VERSIONS(KEYS.history))).status).toBe(503);
    expect((await kms(emu.url, tok, 'GET', VERSIONS(KEYS.history))).status).toBe(200);
    expect(emu.log().filter((e) => e.route === 'keys.versions').map((e) => e.status)).toEqual([503, 200]);
  });
});

test('versionDateSkewSeconds: the new version is dated apart from lastRotateDate', async () => {
  const skewed = await startEmulator({ now: T0, seed: seed(), versionDateSkewSeconds: -40 });
  try {
    const t = await token(skewed.url);
    expect((await kms(skewed.url, t, 'POST', ROTATE(PAYMENTS_KEY))).status).toBe(204);
    const key = (await kms(skewed.url, t, 'GET', `/api/v2/keys/${PAYMENTS_KEY}`)).json.resources[0];
    expect(key.lastRotateDate).toBe('2026-11-28T20:00:00Z');
    expect(key.keyVersion.creationDate).toBe('2026-11-28T19:59:20Z');
  } finally {
    await skewed.close();
  }
  await expect(startEmulator({ versionDateSkewSeconds: 61 })).rejects.toThrow(/^options\.versionDateSkewSeconds: invalid value 61: use a number of seconds from -60 to 60/);
});
