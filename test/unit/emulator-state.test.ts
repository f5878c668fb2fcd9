// Pure state decisions with an explicit `now`: rotation rules and gate, key versions,
// registrations following (or lagging) a rotation.
import { nextCatchUp, settleNotices, type Notice, type VersionedRegistration } from '../../src/emulator/registration-catch-up';
import { parseRotateBody } from '../../src/emulator/rotate-body';
import { parseSeed, type Seed, type SeedKey, type SeedRegistration } from '../../src/emulator/seed';
import { defaultSettings } from '../../src/emulator/settings';
import { derivedVersionId, EmulatorState, type KeyRecord } from '../../src/emulator/state';

const T0 = Date.parse('2026-11-28T20:00:00Z');
const HOUR = 3600_000;
const KP = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const HPCS = '6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73';
const K1 = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const V0 = '10000000-0000-4000-8000-000000000000';
const V1 = '10000000-0000-4000-8000-000000000001';
const CRN = (n: string): string => `crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:${n}`;
const MATERIAL = Buffer.alloc(32, 7).toString('base64');

function build(key: Partial<SeedKey> & { instanceId?: string }, registrations: Partial<SeedRegistration>[] = [], ackSeconds = 0, gateSeconds = 3600): { state: EmulatorState; key: KeyRecord } {
  const seed: Seed = parseSeed(
    {
      instances: [
        { id: KP, kind: 'key-protect', region: 'us-south' },
        { id: HPCS, kind: 'hpcs', region: 'us-south' },
      ],
      keys: [{ id: K1, instanceId: KP, name: 'k', aliases: ['k-alias'], ...key }],
      registrations: registrations.map((r, i) => ({ keyId: K1, resourceCrn: CRN(`b${i}`), ...r })),
      apiKeys: ['some-api-key'],
    },
    'test',
  );
  const settings = { ...defaultSettings(), registrationAckSeconds: ackSeconds };
  const state = new EmulatorState(seed, T0, gateSeconds, settings);
  return { state, key: state.keys.get(K1) as KeyRecord };
}

const empty = parseRotateBody(undefined);
const withMaterial = parseRotateBody(Buffer.from(JSON.stringify({ payload: MATERIAL })));

describe('rotation rules', () => {
  test.each<[string, Partial<SeedKey> & { instanceId?: string }, ReturnType<typeof parseRotateBody>, number | 'ok', string]>([
    ['Key Protect, active', {}, empty, 'ok', ''],
    ['Key Protect, deactivated', { state: 3 }, empty, 'ok', ''],
    ['HPCS, active', { instanceId: HPCS }, empty, 'ok', ''],
    ['HPCS, deactivated', { instanceId: HPCS, state: 3 }, empty, 409, 'KEY_ACTION_INVALID_STATE_ERR'],
    ['suspended', { state: 2 }, empty, 409, 'KEY_ACTION_INVALID_STATE_ERR'],
    ['pre-active', { state: 0 }, empty, 409, 'KEY_ACTION_INVALID_STATE_ERR'],
    ['destroyed', { state: 5 }, empty, 410, 'KEY_DELETED_ERR'],
    ['standard key', { extractable: true }, empty, 422, 'KEY_ROOT_REQ_ERR'],
    ['imported, no material', { imported: true }, empty, 400, 'KEY_PAYLOAD_REQ_ERR'],
    ['imported, with material', { imported: true }, withMaterial, 'ok', ''],
    ['imported, deactivated HPCS, with material', { imported: true, state: 3, instanceId: HPCS }, withMaterial, 409, 'KEY_ACTION_INVALID_STATE_ERR'],
    ['generated key, with material', {}, withMaterial, 400, 'BAD_BODY_ERR'],
    ['bad body', {}, parseRotateBody(Buffer.from('{')), 400, 'BAD_BODY_ERR'],
    ['rotated 59 minutes ago', { lastRotateDate: '2026-11-28T19:01:00Z' }, empty, 409, 'KEY_ROTATION_NOT_PERMITTED'],
    ['rotated exactly an hour ago', { lastRotateDate: '2026-11-28T19:00:00Z' }, empty, 'ok', ''],
    ['created a minute ago, synced and disabled/enabled since: the first rotation is free', { creationDate: '2026-11-28T19:59:00Z', lastSyncDate: '2026-11-28T19:59:30Z', lastLifecycleActionDate: '2026-11-28T19:59:40Z' }, empty, 'ok', ''],
  ])('%s', (_name, key, body, status, code) => {
    const { state, key: k } = build(key);
    const before = k.versions.length;
    const out = state.action(k, 'rotate', T0, body);
    if (status === 'ok') {
      expect(out).toEqual({ ok: true });
      expect(k.versions).toHaveLength(before + 1);
    } else {
      expect(out).toMatchObject({ ok: false, status, code });
      expect(k.versions).toHaveLength(before);
    }
  });

  test('the gate message names no time; the gate opens at lastRotateDate + gateSeconds', () => {
    const { state, key } = build({}, [], 0, 600);
    expect(state.rotationOpensAt(key)).toBeUndefined();
    expect(state.action(key, 'rotate', T0).ok).toBe(true);
    expect(state.rotationOpensAt(key)).toBe(T0 + 600_000);
    const gated = state.action(key, 'rotate', T0 + 599_999);
    expect(gated).toEqual({
      ok: false,
      status: 409,
      code: 'KEY_ROTATION_NOT_PERMITTED',
      summary: expect.any(String),
      message: "This root key has been rotated within the last hour. Only one 'rotate' action per hour is permitted",
    });
    expect(state.action(key, 'rotate', T0 + 600_000).ok).toBe(true);
  });

  test('after a rotation: same id, new version, dates, sync gate closed', () => {
    const { state, key } = build({});
    const old = key.keyVersion;
    expect(old).toEqual({ id: K1, creationDate: T0 - 2 * 24 * HOUR });
    state.settings.versionDateSkewSeconds = -42;
    expect(state.action(key, 'rotate', T0 + 5000).ok).toBe(true);
    expect(key.id).toBe(K1);
    expect(key.keyVersion.id).not.toBe(old.id);
    expect(key.keyVersion.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(key.keyVersion.creationDate).toBe(T0 + 5000 - 42_000);
    expect(key.versions.map((v) => v.id)).toEqual([old.id, key.keyVersion.id]);
    expect(key.lastRotateDate).toBe(T0 + 5000);
    expect(key.lastUpdateDate).toBe(T0 + 5000);
    expect(state.gateOpensAt(key)).toBe(T0 + 5000 + HOUR);
    expect(state.sync(key, T0 + 6000)).toMatchObject({ ok: false, code: 'REQ_TOO_EARLY_ERR' });
  });
});

describe('seeded versions', () => {
  test('an explicit history: the last is current; lastRotateDate defaults to its date', () => {
    const { key, state } = build({ versions: [{ id: V0, creationDate: '2026-01-01T00:00:00Z' }, { id: V1, creationDate: '2026-11-28T19:30:00Z' }] });
    expect(key.keyVersion).toEqual({ id: V1, creationDate: Date.parse('2026-11-28T19:30:00Z') });
    expect(key.lastRotateDate).toBe(Date.parse('2026-11-28T19:30:00Z'));
    expect(state.action(key, 'rotate', T0)).toMatchObject({ code: 'KEY_ROTATION_NOT_PERMITTED' });
  });

  test('a lastRotateDate without versions: two versions, the second with a stable derived id', () => {
    const { key } = build({ lastRotateDate: '2026-11-01T00:00:00Z' });
    expect(key.versions).toEqual([
      { id: K1, creationDate: T0 - 2 * 24 * HOUR },
      { id: derivedVersionId(K1, 1), creationDate: Date.parse('2026-11-01T00:00:00Z') },
    ]);
    expect(derivedVersionId(K1, 1)).toBe(build({ lastRotateDate: '2026-11-01T00:00:00Z' }).key.keyVersion.id);
    expect(derivedVersionId(K1, 1)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('registrations follow rotations lazily', () => {
  const at = (state: EmulatorState, key: KeyRecord, now: number): string[] => [...state.registrationsOfKey(key, now)].map((r) => state.registrationVersion(key, r).id);

  test('ackSeconds 0: at once (the behaviour before registrations had versions)', () => {
    const { state, key } = build({}, [{}]);
    state.action(key, 'rotate', T0);
    expect(at(state, key, T0)).toEqual([key.keyVersion.id]);
  });

  test('ackSeconds 600: lagging until rotation + 600 s, then current; lastUpdated is the acknowledgement', () => {
    const { state, key } = build({}, [{}, { catchUp: 'never' }, { catchUp: 'on-sync' }], 600);
    state.action(key, 'rotate', T0);
    const v1 = key.keyVersion.id;
    expect(at(state, key, T0 + 599_999)).toEqual([K1, K1, K1]);
    expect(at(state, key, T0 + 600_000)).toEqual([v1, K1, K1]);
    expect(key.registrations[0]?.lastUpdated).toBe(T0 + 600_000);
    // much later: 'never' and 'on-sync' still lag
    expect(at(state, key, T0 + 100 * HOUR)).toEqual([v1, K1, K1]);
    // an accepted sync: 'on-sync' follows ackSeconds later, 'never' does not
    expect(state.sync(key, T0 + 100 * HOUR).ok).toBe(true);
    expect(at(state, key, T0 + 100 * HOUR + 599_000)).toEqual([v1, K1, K1]);
    expect(at(state, key, T0 + 100 * HOUR + 600_000)).toEqual([v1, K1, v1]);
    // the admin acknowledgement moves 'never' too
    expect(state.acknowledge({ resourceCrn: CRN('b1') }, T0 + 101 * HOUR)).toHaveLength(1);
    expect(at(state, key, T0 + 101 * HOUR)).toEqual([v1, v1, v1]);
  });

  test('a seeded lagging registration catches up after an accepted sync, not before', () => {
    const { state, key } = build({ versions: [{ id: V0, creationDate: '2026-01-01T00:00:00Z' }, { id: V1, creationDate: '2026-06-01T00:00:00Z' }] }, [{ keyVersionId: V0 }, {}, { keyVersionId: V0, catchUp: 'never' }], 30);
    expect(at(state, key, T0)).toEqual([V0, V1, V0]);
    expect(state.sync(key, T0).ok).toBe(true);
    expect(at(state, key, T0 + 29_000)).toEqual([V0, V1, V0]);
    expect(at(state, key, T0 + 30_000)).toEqual([V1, V1, V0]);
  });

  test('two rotations before any acknowledgement: each lands in turn; moving the clock back undoes nothing', () => {
    const { state, key } = build({ versions: [{ id: V0, creationDate: '2026-01-01T00:00:00Z' }] }, [{}], 600, 0);
    state.action(key, 'rotate', T0);
    const v1 = key.keyVersion.id;
    state.action(key, 'rotate', T0 + 10_000);
    const v2 = key.keyVersion.id;
    expect(at(state, key, T0 + 599_000)).toEqual([V0]);
    expect(at(state, key, T0 + 605_000)).toEqual([v1]);
    expect(at(state, key, T0 + 610_000)).toEqual([v2]);
    expect(key.notices).toEqual([]);
    expect(at(state, key, T0)).toEqual([v2]);
  });

  test('the snapshot shows each registration version, whether it lags and when it catches up', () => {
    const { state, key } = build({}, [{}, { catchUp: 'never' }], 600);
    state.action(key, 'rotate', T0);
    const snap = state.snapshot(T0 + 1000) as { keys: Array<Record<string, unknown>> };
    const k = snap.keys[0] as { versions: number; laggingRegistrations: number; registrations: number; registrationVersions: unknown[]; rotationAllowed: boolean; rotationAllowedAt: string };
    expect(k).toMatchObject({ versions: 2, registrations: 2, laggingRegistrations: 2, rotationAllowed: false, rotationAllowedAt: '2026-11-28T21:00:00.000Z' });
    expect(k.registrationVersions).toEqual([
      { resourceCrn: CRN('b0'), keyVersion: { id: K1, creationDate: expect.any(String) }, lagging: true, versionsBehind: 1, catchUp: 'auto', catchesUpAt: '2026-11-28T20:10:00.000Z', lastUpdated: expect.any(String) },
      { resourceCrn: CRN('b1'), keyVersion: { id: K1, creationDate: expect.any(String) }, lagging: true, versionsBehind: 1, catchUp: 'never', catchesUpAt: null, lastUpdated: expect.any(String) },
    ]);
  });

  test('acknowledge by key alias; an unknown key matches nothing', () => {
    const { state, key } = build({}, [{ catchUp: 'never' }]);
    state.action(key, 'rotate', T0);
    expect(state.hasKeyRef('k-alias')).toBe(true);
    expect(state.hasKeyRef('nope')).toBe(false);
    expect(state.acknowledge({ keyId: 'nope' }, T0)).toEqual([]);
    const acked = state.acknowledge({ keyId: 'k-alias' }, T0 + 5);
    expect(acked).toHaveLength(1);
    expect(key.registrations[0]).toMatchObject({ versionIndex: 1, lastUpdated: T0 + 5 });
  });
});

describe('settleNotices / nextCatchUp', () => {
  const reg = (catchUp: VersionedRegistration['catchUp'], versionIndex = 0): VersionedRegistration => ({ catchUp, versionIndex, lastUpdated: 0 });
  test.each<[string, VersionedRegistration['catchUp'], Notice[], number, number, number]>([
    ['auto follows a due rotation', 'auto', [{ at: 100, kind: 'rotate', versionIndex: 1 }], 150, 1, 0],
    ['auto waits for ack', 'auto', [{ at: 100, kind: 'rotate', versionIndex: 1 }], 149, 0, 1],
    ['on-sync ignores a rotation', 'on-sync', [{ at: 100, kind: 'rotate', versionIndex: 1 }], 1000, 0, 0],
    ['on-sync follows a sync', 'on-sync', [{ at: 100, kind: 'rotate', versionIndex: 1 }, { at: 200, kind: 'sync', versionIndex: 1 }], 250, 1, 0],
    ['never ignores both', 'never', [{ at: 100, kind: 'rotate', versionIndex: 1 }, { at: 200, kind: 'sync', versionIndex: 1 }], 1000, 0, 0],
    ['out-of-order notices never move a registration back', 'auto', [{ at: 300, kind: 'rotate', versionIndex: 2 }, { at: 100, kind: 'sync', versionIndex: 1 }], 400, 2, 0],
  ])('%s', (_name, catchUp, notices, now, version, pending) => {
    const r = reg(catchUp);
    expect(settleNotices([r], notices, now, 50)).toHaveLength(pending);
    expect(r.versionIndex).toBe(version);
  });

  test('nextCatchUp: the earliest pending notice this registration follows', () => {
    const pending: Notice[] = [
      { at: 100, kind: 'rotate', versionIndex: 1 },
      { at: 200, kind: 'sync', versionIndex: 1 },
    ];
    expect(nextCatchUp(reg('auto'), pending, 50)).toEqual({ at: 150, versionIndex: 1 });
    expect(nextCatchUp(reg('on-sync'), pending, 50)).toEqual({ at: 250, versionIndex: 1 });
    expect(nextCatchUp(reg('never'), pending, 50)).toBeUndefined();
    expect(nextCatchUp(reg('auto', 1), pending, 50)).toBeUndefined();
  });
});

describe('parseRotateBody', () => {
  test.each<[string, string | Buffer | undefined, ReturnType<typeof parseRotateBody> | RegExp]>([
    ['no body', undefined, { ok: true, payload: false }],
    ['empty', '', { ok: true, payload: false }],
    ['whitespace', ' \n', { ok: true, payload: false }],
    ['{} (IBM Go client, no material)', '{}', { ok: true, payload: false }],
    ['null', 'null', { ok: true, payload: false }],
    ['empty payload', '{"payload": ""}', { ok: true, payload: false }],
    ['256-bit material', JSON.stringify({ payload: MATERIAL }), { ok: true, payload: true }],
    ['128-bit material with nonce and iv', JSON.stringify({ payload: Buffer.alloc(16).toString('base64'), encryptedNonce: 'abc', iv: 'def' }), { ok: true, payload: true }],
    ['not JSON', '{', /not JSON/],
    ['not UTF-8', Buffer.from([0x7b, 0xff]), /not UTF-8/],
    ['an array', '[]', /must be a JSON object/],
    ['unknown field', '{"payloadd": "x"}', /json: unknown field "payloadd"/],
    ['payload not base64', '{"payload": "not base64!"}', /must be base64/],
    ['payload of 100 bits', JSON.stringify({ payload: Buffer.alloc(13).toString('base64') }), /128, 192 or 256-bit key; got 104 bits/],
    ['iv not a string', JSON.stringify({ payload: MATERIAL, iv: 1 }), /"iv" must be a string/],
  ])('%s', (_name, body, expected) => {
    const r = parseRotateBody(body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body));
    if (expected instanceof RegExp) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toMatch(expected);
    } else expect(r).toEqual(expected);
  });

  test('never echoes key material', () => {
    const secret = `${'A'.repeat(40)}!`;
    const r = parseRotateBody(Buffer.from(JSON.stringify({ payload: secret })));
    expect(JSON.stringify(r)).not.toContain(secret);
  });
});
