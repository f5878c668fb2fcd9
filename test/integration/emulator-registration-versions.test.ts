// Registrations carry the key version protecting THEIR resource: after a rotation they lag
// until the resource acknowledges (ackSeconds later, after a sync, never, or by the admin
// call). Plus the page cap (maxPageSize) on listings. Real HTTP, emulator clock.
import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import type { Seed } from '../../src/emulator/seed';
import { call, DEMO_KEY, kms, KP_INSTANCE, PAYMENTS_KEY, token, type Answer } from './emulator-helpers';

const T0 = Date.parse('2026-11-28T20:00:00Z');
const ACCOUNT = '1234567890abcdef1234567890abcdef';
const OLD = '6c000000-0000-4000-8000-000000000000';
const CUR = '6c000000-0000-4000-8000-000000000001';
const bucket = (n: string): string => `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:${n}`;
const REGS = `/api/v2/keys/${PAYMENTS_KEY}/registrations`;

function seed(extra: Partial<Seed> = {}): Seed {
  return {
    instances: [{ id: KP_INSTANCE, kind: 'key-protect', region: 'us-south' }],
    keys: [
      {
        id: PAYMENTS_KEY,
        instanceId: KP_INSTANCE,
        name: 'payments-root',
        aliases: ['payments-root'],
        versions: [
          { id: OLD, creationDate: '2026-06-01T00:00:00Z' },
          { id: CUR, creationDate: '2026-11-01T00:00:00Z' },
        ],
      },
    ],
    registrations: [
      { keyId: PAYMENTS_KEY, resourceCrn: bucket('auto') },
      { keyId: PAYMENTS_KEY, resourceCrn: bucket('stuck'), catchUp: 'never' },
      { keyId: PAYMENTS_KEY, resourceCrn: bucket('missed'), catchUp: 'on-sync' },
      { keyId: PAYMENTS_KEY, resourceCrn: bucket('behind'), keyVersionId: OLD },
    ],
    apiKeys: [DEMO_KEY],
    ...extra,
  };
}

let emu: RunningEmulator;
let tok: string;
afterEach(async () => {
  await emu.close();
});

async function start(options: Parameters<typeof startEmulator>[0] = {}): Promise<void> {
  emu = await startEmulator({ now: T0, seed: seed(), ...options });
  tok = await token(emu.url);
}

/** resource name -> keyVersion.id, from the real listing. */
async function versions(): Promise<Record<string, string>> {
  const r = await kms(emu.url, tok, 'GET', REGS);
  expect(r.status).toBe(200);
  return Object.fromEntries(r.json.resources.map((x: { resourceCrn: string; keyVersion: { id: string } }) => [x.resourceCrn.split(':').at(-1), x.keyVersion.id]));
}

async function rotateNow(): Promise<string> {
  expect((await kms(emu.url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/rotate`)).status).toBe(204);
  return (await kms(emu.url, tok, 'GET', `/api/v2/keys/${PAYMENTS_KEY}`)).json.resources[0].keyVersion.id as string;
}

async function advance(seconds: number): Promise<void> {
  emu.clock.advance(seconds * 1000);
  tok = await token(emu.url);
}

const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('seeded: each registration shows its own version; a seeded one can lag', async () => {
  await start();
  expect(await versions()).toEqual({ auto: CUR, stuck: CUR, missed: CUR, behind: OLD });
  const item = (await kms(emu.url, tok, 'GET', REGS)).json.resources[3];
  expect(item.keyVersion).toEqual({ id: OLD, creationDate: '2026-06-01T00:00:00Z' });
});

test('default (ack at once): following registrations move with the rotation itself', async () => {
  await start();
  const v2 = await rotateNow();
  expect(await versions()).toEqual({ auto: v2, stuck: CUR, missed: CUR, behind: v2 });
});

test('registrationAckSeconds: lagging until rotation + ack, then current; the snapshot says so', async () => {
  await start({ registrationAckSeconds: 600 });
  const v2 = await rotateNow();
  expect(await versions()).toEqual({ auto: CUR, stuck: CUR, missed: CUR, behind: OLD });
  const state = (await call(emu.url, 'GET', '/__emulator/state')).json;
  expect(state.settings).toEqual({ maxPageSize: null, registrationAckSeconds: 600, versionDateSkewSeconds: 0 });
  const snap = state.keys[0];
  expect(snap).toMatchObject({ versions: 3, laggingRegistrations: 4 });
  expect(snap.registrationVersions.map((r: { catchesUpAt: string | null }) => r.catchesUpAt)).toEqual(['2026-11-28T20:10:00.000Z', null, null, '2026-11-28T20:10:00.000Z']);
  expect(snap.registrationVersions[0]).toMatchObject({ lagging: true, versionsBehind: 1, catchUp: 'auto', keyVersion: { id: CUR } });
  expect(snap.registrationVersions[3]).toMatchObject({ lagging: true, versionsBehind: 2 });

  await advance(599);
  expect((await versions()).auto).toBe(CUR);
  await advance(1);
  expect(await versions()).toEqual({ auto: v2, stuck: CUR, missed: CUR, behind: v2 });
  const auto = (await kms(emu.url, tok, 'GET', REGS)).json.resources[0];
  expect(auto.lastUpdated).toBe('2026-11-28T20:10:00Z');
  expect((await call(emu.url, 'GET', '/__emulator/state')).json.keys[0].laggingRegistrations).toBe(2);
});

test('an accepted sync makes a registration that missed the rotation catch up (ack later), never the "never" one', async () => {
  await start({ registrationAckSeconds: 30 });
  const v2 = await rotateNow();
  await advance(3600); // the sync gate the rotation closed is open again
  expect(await versions()).toEqual({ auto: v2, stuck: CUR, missed: CUR, behind: v2 });
  expect((await kms(emu.url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`)).status).toBe(204);
  expect((await versions()).missed).toBe(CUR);
  await advance(30);
  expect(await versions()).toEqual({ auto: v2, stuck: CUR, missed: v2, behind: v2 });
  // a refused (gated) sync is no notice
  await advance(3600 * 10);
  expect((await versions()).stuck).toBe(CUR);
});

test('a faulted sync (synthetic answer) notifies nobody', async () => {
  await start();
  emu.injectFaults('keys.sync', [{ status: 503 }]);
  expect((await kms(emu.url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`)).status).toBe(503);
  expect((await versions()).behind).toBe(OLD);
  expect((await kms(emu.url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`)).status).toBe(204);
  expect((await versions()).behind).toBe(CUR);
});

describe('POST /__emulator/registrations/ack', () => {
  test('by resourceCrn, by key alias, or all; "never" ones too', async () => {
    await start({ registrationAckSeconds: 3600 });
    const v2 = await rotateNow();
    const one = await call(emu.url, 'POST', '/__emulator/registrations/ack', json({ resourceCrn: bucket('stuck') }));
    expect(one.status).toBe(200);
    expect(one.json).toEqual({ acknowledged: 1, registrations: [{ keyId: PAYMENTS_KEY, resourceCrn: bucket('stuck'), keyVersion: { id: v2, creationDate: '2026-11-28T20:00:00.000Z' } }] });
    expect(await versions()).toEqual({ auto: CUR, stuck: v2, missed: CUR, behind: OLD });
    const byKey = await call(emu.url, 'POST', '/__emulator/registrations/ack', json({ keyId: 'payments-root' }));
    expect(byKey.json.acknowledged).toBe(4);
    expect(await versions()).toEqual({ auto: v2, stuck: v2, missed: v2, behind: v2 });
    expect((await call(emu.url, 'POST', '/__emulator/registrations/ack')).json.acknowledged).toBe(4);
  });

  test.each<[string, unknown, number, RegExp]>([
    ['unknown key', { keyId: 'no-such-key' }, 404, /^"keyId": invalid value "no-such-key": no seeded key/],
    ['no matching CRN', { resourceCrn: bucket('nope') }, 404, /^No registration matches .*the CRN must match exactly/],
    ['unknown field', { key: PAYMENTS_KEY }, 400, /^"key": unknown field: send \{"keyId"/],
    ['keyId not a string', { keyId: 5 }, 400, /^"keyId": invalid value 5: use a non-empty string/],
    ['not an object', [1], 400, /^body: invalid value \[1\]/],
  ])('%s -> %d naming the problem', async (_name, body, status, message) => {
    await start();
    const r = await call(emu.url, 'POST', '/__emulator/registrations/ack', json(body));
    expect(r.status).toBe(status);
    expect(r.json.error).toMatch(message);
    expect((await call(emu.url, 'GET', '/__emulator/registrations/ack')).status).toBe(405);
  });
});

describe('maxPageSize caps every listing page whatever limit asks', () => {
  function bigSeed(): Seed {
    const registrations = Array.from({ length: 120 }, (_, i) => ({ keyId: PAYMENTS_KEY, resourceCrn: bucket(`b-${String(i).padStart(3, '0')}`) }));
    return { ...seed(), registrations };
  }

  test('instance-wide registrations: fewer than asked per page, totalCount unchanged; paging by what came back sees all', async () => {
    emu = await startEmulator({ now: T0, seed: bigSeed(), maxPageSize: 50 });
    tok = await token(emu.url);
    const first = await kms(emu.url, tok, 'GET', '/api/v2/keys/registrations?limit=200&totalCount=true');
    expect(first.json.metadata).toEqual({ collectionType: 'application/vnd.ibm.kms.registration+json', collectionTotal: 50, totalCount: 120 });
    const seen: string[] = [];
    for (let offset = 0; ; ) {
      const page = await kms(emu.url, tok, 'GET', `/api/v2/keys/registrations?limit=200&offset=${offset}`);
      const crns = page.json.resources.map((r: { resourceCrn: string }) => r.resourceCrn);
      expect(crns.length).toBeLessThanOrEqual(50);
      if (crns.length === 0) break;
      seen.push(...crns);
      offset += crns.length;
    }
    expect(seen).toHaveLength(120);
    expect(new Set(seen).size).toBe(120);
    // a smaller limit is kept; per-key listings and versions are capped too
    expect((await kms(emu.url, tok, 'GET', '/api/v2/keys/registrations?limit=10')).json.metadata.collectionTotal).toBe(10);
    expect((await kms(emu.url, tok, 'GET', `${REGS}?limit=5000`)).json.metadata.collectionTotal).toBe(50);
  });

  test('from the seed settings, changed at run time by the admin API', async () => {
    emu = await startEmulator({ now: T0, seed: { ...bigSeed(), settings: { maxPageSize: 7 } } });
    tok = await token(emu.url);
    const count = async (): Promise<number> => ((await kms(emu.url, tok, 'GET', '/api/v2/keys/registrations')) as Answer).json.metadata.collectionTotal;
    expect(await count()).toBe(7);
    expect((await call(emu.url, 'GET', '/__emulator/settings')).json).toEqual({ maxPageSize: 7, registrationAckSeconds: 0, versionDateSkewSeconds: 0 });
    const changed = await call(emu.url, 'POST', '/__emulator/settings', json({ maxPageSize: 33, registrationAckSeconds: 120 }));
    expect(changed.json).toEqual({ maxPageSize: 33, registrationAckSeconds: 120, versionDateSkewSeconds: 0 });
    expect(await count()).toBe(33);
    await call(emu.url, 'POST', '/__emulator/settings', json({ maxPageSize: null }));
    expect(await count()).toBe(120);
    const bad = await call(emu.url, 'POST', '/__emulator/settings', json({ maxPageSize: 6000 }));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/^settings\.maxPageSize: invalid value 6000: use an integer from 1 to 5000, or null for no cap$/);
    expect((await call(emu.url, 'GET', '/__emulator/settings')).json.maxPageSize).toBeNull();
    // options win over the seed
    const both = await startEmulator({ now: T0, seed: { ...bigSeed(), settings: { maxPageSize: 7 } }, maxPageSize: 11 });
    try {
      expect((await kms(both.url, await token(both.url), 'GET', '/api/v2/keys/registrations')).json.metadata.collectionTotal).toBe(11);
    } finally {
      await both.close();
    }
  });

  test('bad option values are refused at start', async () => {
    emu = await startEmulator({ now: T0 });
    await expect(startEmulator({ maxPageSize: 0 })).rejects.toThrow(/^options\.maxPageSize: invalid value 0: use an integer from 1 to 5000/);
    await expect(startEmulator({ registrationAckSeconds: -1 })).rejects.toThrow(/^options\.registrationAckSeconds: invalid value -1/);
  });
});
