import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import { call, decodeJwtPayload, DEMO_KEY, HPCS_INSTANCE, kms, KP_INSTANCE, PAYMENTS_KEY, ANALYTICS_KEY, token } from './emulator-helpers';

const T0 = Date.parse('2026-11-28T20:38:43.250Z');
let emu: RunningEmulator;

beforeEach(async () => {
  emu = await startEmulator({ now: T0 });
});
afterEach(async () => {
  await emu.close();
});

describe('IAM token exchange', () => {
  test('issues a JWT whose iat/exp follow the emulator clock', async () => {
    const r = await call(emu.url, 'POST', '/identity/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=${DEMO_KEY}`,
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'ibm openid' });
    expect(typeof r.json.refresh_token).toBe('string');
    expect(r.json.expiration).toBe(Math.floor(T0 / 1000) + 3600);
    const claims = decodeJwtPayload(r.json.access_token);
    expect(claims.iat).toBe(Math.floor(T0 / 1000));
    expect(claims.exp).toBe(Math.floor(T0 / 1000) + 3600);
    expect(claims).toHaveProperty('iam_id');
    expect(claims).toHaveProperty('sub');
    expect(claims).toHaveProperty('account');
    expect(r.text).not.toContain(DEMO_KEY);
  });

  test('unknown API key -> 400 BXNIM0415E', async () => {
    const r = await call(emu.url, 'POST', '/identity/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=nope-nope-nope',
    });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ errorCode: 'BXNIM0415E', errorMessage: 'Provided API key could not be found.' });
    expect(typeof r.json.context.requestId).toBe('string');
  });

  test('wrong grant type or content type -> 400 with an IAM body', async () => {
    const wrongGrant = await call(emu.url, 'POST', '/identity/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=password&apikey=${DEMO_KEY}`,
    });
    expect(wrongGrant.status).toBe(400);
    expect(wrongGrant.json.errorCode).toMatch(/^BXNIM/);
    const wrongType = await call(emu.url, 'POST', '/identity/token', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apikey: DEMO_KEY }),
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.errorCode).toMatch(/^BXNIM/);
  });

  test('refresh_token grant issues a new token', async () => {
    const first = await call(emu.url, 'POST', '/identity/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=${DEMO_KEY}`,
    });
    const second = await call(emu.url, 'POST', '/identity/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=${first.json.refresh_token}`,
    });
    expect(second.status).toBe(200);
    expect(second.json.access_token).not.toBe(first.json.access_token);
  });

  test('a token expires on the emulator clock -> 401 on the key API', async () => {
    const tok = await token(emu.url);
    expect((await kms(emu.url, tok, 'GET', `/api/v2/keys/${PAYMENTS_KEY}`)).status).toBe(200);
    emu.clock.advance(3600 * 1000);
    const r = await kms(emu.url, tok, 'GET', `/api/v2/keys/${PAYMENTS_KEY}`);
    expect(r.status).toBe(401);
    expect(r.json.resources[0].reasons[0].code).toBe('UNAUTHORIZED_ERR');
    expect(r.json.resources[0].reasons[0].message).toMatch(/expired/);
  });

  test('tokenTtlSeconds configures the lifetime', async () => {
    const short = await startEmulator({ now: T0, tokenTtlSeconds: 60 });
    try {
      const tok = await token(short.url);
      expect(decodeJwtPayload(tok).exp).toBe(Math.floor(T0 / 1000) + 60);
      short.clock.advance(61_000);
      expect((await kms(short.url, tok, 'GET', `/api/v2/keys/${PAYMENTS_KEY}`)).status).toBe(401);
    } finally {
      await short.close();
    }
  });
});

describe('authorization and instance checks', () => {
  test('missing or malformed bearer -> 401 UNAUTHORIZED_ERR with a KMS error body', async () => {
    for (const headers of <Record<string, string>[]>[
      { 'bluemix-instance': KP_INSTANCE },
      { 'bluemix-instance': KP_INSTANCE, authorization: 'Basic Zm9vOmJhcg==' },
      { 'bluemix-instance': KP_INSTANCE, authorization: 'Bearer not.a.jwt' },
    ]) {
      const r = await call(emu.url, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`, { headers });
      expect(r.status).toBe(401);
      expect(r.headers['content-type']).toBe('application/vnd.ibm.kms.error+json');
      expect(r.json.metadata).toEqual({ collectionType: 'application/vnd.ibm.kms.error+json', collectionTotal: 1 });
      expect(r.json.resources[0].reasons[0].code).toBe('UNAUTHORIZED_ERR');
    }
  });

  test('a token from another emulator is refused', async () => {
    const other = await startEmulator({ now: T0 });
    try {
      const foreign = await token(other.url);
      expect((await kms(emu.url, foreign, 'GET', `/api/v2/keys/${PAYMENTS_KEY}`)).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  test('missing Bluemix-Instance -> 400 BAD_HEADER_ERR; unknown instance -> 401', async () => {
    const tok = await token(emu.url);
    const missing = await call(emu.url, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`, { headers: { authorization: `Bearer ${tok}` } });
    expect(missing.status).toBe(400);
    expect(missing.json.resources[0].reasons[0].code).toBe('BAD_HEADER_ERR');
    const unknown = await kms(emu.url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`, '11111111-2222-4333-8444-555555555555');
    expect(unknown.status).toBe(401);
  });

  test('key of another instance -> 404 KEY_NOT_FOUND_ERR', async () => {
    const tok = await token(emu.url);
    const r = await kms(emu.url, tok, 'POST', `/api/v2/keys/${ANALYTICS_KEY}/actions/sync`, KP_INSTANCE);
    expect(r.status).toBe(404);
    expect(r.json.resources[0].reasons[0].code).toBe('KEY_NOT_FOUND_ERR');
  });

  test('correlation-id is echoed, or generated as a UUID', async () => {
    const tok = await token(emu.url);
    const echoed = await kms(emu.url, tok, 'GET', `/api/v2/keys/${PAYMENTS_KEY}`, KP_INSTANCE, { 'correlation-id': 'c0ffee00-1111-4222-8333-444455556666' });
    expect(echoed.headers['correlation-id']).toBe('c0ffee00-1111-4222-8333-444455556666');
    const generated = await kms(emu.url, tok, 'GET', `/api/v2/keys/${PAYMENTS_KEY}`);
    expect(generated.headers['correlation-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const error = await call(emu.url, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`, { headers: { 'correlation-id': 'abc-123' } });
    expect(error.headers['correlation-id']).toBe('abc-123');
  });
});

describe('sync and its time gate', () => {
  test('204, then 409 REQ_TOO_EARLY_ERR with the exact body, then 204 after the gate', async () => {
    const tok = await token(emu.url);
    const path = `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`;
    const first = await kms(emu.url, tok, 'POST', path);
    expect(first.status).toBe(204);
    expect(first.text).toBe('');

    emu.clock.advance(10 * 60 * 1000);
    const gated = await kms(emu.url, tok, 'POST', path);
    expect(gated.status).toBe(409);
    expect(gated.headers['content-type']).toBe('application/vnd.ibm.kms.error+json');
    // T0 + 1h = 21:38:43.250 -> printed rounded up to the whole second
    expect(gated.json).toEqual({
      metadata: { collectionType: 'application/vnd.ibm.kms.error+json', collectionTotal: 1 },
      resources: [
        {
          errorMsg: expect.stringMatching(/^Conflict: /),
          reasons: [
            {
              code: 'REQ_TOO_EARLY_ERR',
              message: 'The sync request was sent too early. Sync cannot be performed until at least 2026-11-28T21:38:44Z',
              status: 409,
              moreInfo: 'https://cloud.ibm.com/apidocs/key-protect',
              target: { type: 'field', name: 'id' },
            },
          ],
        },
      ],
    });
    const when = /until at least (\S+)$/.exec(gated.json.resources[0].reasons[0].message)?.[1] as string;
    expect(Date.parse(when)).toBeGreaterThanOrEqual(T0 + 3600_000);

    // the token was issued at T0 and lives an hour: get a fresh one
    emu.clock.set(T0 + 3600_000 - 1); // just before the real gate
    const fresh = await token(emu.url);
    expect((await kms(emu.url, fresh, 'POST', path)).status).toBe(409);
    emu.clock.set(Date.parse(when));
    expect((await kms(emu.url, fresh, 'POST', path)).status).toBe(204);
  });

  test('sync by alias, URL-encoded; gates are per key', async () => {
    const tok = await token(emu.url);
    expect((await kms(emu.url, tok, 'POST', '/api/v2/keys/payments%2Droot/actions/sync')).status).toBe(204);
    expect((await kms(emu.url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`)).status).toBe(409);
    expect((await kms(emu.url, tok, 'POST', `/api/v2/keys/analytics-root/actions/sync`, HPCS_INSTANCE)).status).toBe(204);
  });

  test('legacy ?action=sync form works too', async () => {
    const tok = await token(emu.url);
    expect((await kms(emu.url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}?action=sync`)).status).toBe(204);
  });

  test('gateSeconds configures the gate', async () => {
    const quick = await startEmulator({ now: T0, gateSeconds: 60 });
    try {
      const tok = await token(quick.url);
      const path = `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`;
      expect((await kms(quick.url, tok, 'POST', path)).status).toBe(204);
      const gated = await kms(quick.url, tok, 'POST', path);
      expect(gated.json.resources[0].reasons[0].message).toMatch(/until at least 2026-11-28T20:39:44Z$/);
      quick.clock.advance(60_000);
      expect((await kms(quick.url, tok, 'POST', path)).status).toBe(204);
    } finally {
      await quick.close();
    }
  });

  test('unknown key -> 404; hostile key references -> 400, never a crash', async () => {
    const tok = await token(emu.url);
    expect((await kms(emu.url, tok, 'POST', '/api/v2/keys/00000000-0000-4000-8000-000000000000/actions/sync')).status).toBe(404);
    expect((await kms(emu.url, tok, 'POST', '/api/v2/keys/no-such-alias/actions/sync')).status).toBe(404);
    for (const ref of ['..%2F..%2Fetc%2Fpasswd', 'a%2Fb', '%E0%A4%A', '%00abc', 'a%5Cb', 'x'.repeat(200), '%F0%9F%94%91']) {
      const r = await kms(emu.url, tok, 'POST', `/api/v2/keys/${ref}/actions/sync`);
      expect(r.status).toBe(400);
      expect(r.json.resources[0].reasons[0].message).toMatch(/key identifier/);
    }
    // (the client normalises literal '..' segments away; raw ones are covered in emulator-hostile)
    expect([400, 404]).toContain((await kms(emu.url, tok, 'POST', '/api/v2/keys/%2E%2E/actions/sync')).status);
    expect((await kms(emu.url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`)).status).toBe(204);
  });

  test('standard (extractable) key -> 422, destroyed key -> 410, pre-active -> 409 invalid state', async () => {
    const custom = await startEmulator({
      now: T0,
      seed: {
        instances: [{ id: KP_INSTANCE, kind: 'key-protect', region: 'us-south' }],
        keys: [
          { id: '11111111-1111-4111-8111-111111111111', instanceId: KP_INSTANCE, name: 'std', extractable: true },
          { id: '22222222-2222-4222-8222-222222222222', instanceId: KP_INSTANCE, name: 'gone', state: 5 },
          { id: '33333333-3333-4333-8333-333333333333', instanceId: KP_INSTANCE, name: 'pre', state: 0 },
        ],
        apiKeys: [DEMO_KEY],
      },
    });
    try {
      const tok = await token(custom.url);
      const std = await kms(custom.url, tok, 'POST', '/api/v2/keys/11111111-1111-4111-8111-111111111111/actions/sync');
      expect(std.status).toBe(422);
      expect(std.json.resources[0].reasons[0].code).toBe('KEY_ROOT_REQ_ERR');
      const gone = await kms(custom.url, tok, 'POST', '/api/v2/keys/22222222-2222-4222-8222-222222222222/actions/sync');
      expect(gone.status).toBe(410);
      expect(gone.json.resources[0].reasons[0].code).toBe('KEY_DELETED_ERR');
      const goneGet = await kms(custom.url, tok, 'GET', '/api/v2/keys/22222222-2222-4222-8222-222222222222');
      expect(goneGet.status).toBe(410);
      const goneMeta = await kms(custom.url, tok, 'GET', '/api/v2/keys/22222222-2222-4222-8222-222222222222/metadata');
      expect(goneMeta.json.resources[0]).toMatchObject({ state: 5, deleted: true });
      const stdRotate = await kms(custom.url, tok, 'POST', '/api/v2/keys/11111111-1111-4111-8111-111111111111/actions/rotate');
      expect(stdRotate.status).toBe(422);
      const pre = await kms(custom.url, tok, 'POST', '/api/v2/keys/33333333-3333-4333-8333-333333333333/actions/sync');
      expect(pre.status).toBe(409);
      expect(pre.json.resources[0].reasons[0].code).toBe('KEY_ACTION_INVALID_STATE_ERR');
    } finally {
      await custom.close();
    }
  });

  test('X-Kms-Key-Ring: matching ring works, unknown ring -> 404', async () => {
    const tok = await token(emu.url);
    expect((await kms(emu.url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`, KP_INSTANCE, { 'x-kms-key-ring': 'nope-ring' })).status).toBe(404);
    expect((await kms(emu.url, tok, 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`, KP_INSTANCE, { 'x-kms-key-ring': 'default' })).status).toBe(204);
  });
});

describe('key reads', () => {
  test('GET key and metadata in the collection shape, no payload', async () => {
    const tok = await token(emu.url);
    for (const path of [`/api/v2/keys/${PAYMENTS_KEY}`, `/api/v2/keys/${PAYMENTS_KEY}/metadata`, '/api/v2/keys/payments-root']) {
      const r = await kms(emu.url, tok, 'GET', path);
      expect(r.status).toBe(200);
      expect(r.json.metadata).toEqual({ collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 });
      const key = r.json.resources[0];
      expect(key).toMatchObject({
        type: 'application/vnd.ibm.kms.key+json',
        id: PAYMENTS_KEY,
        name: 'payments-root',
        aliases: ['payments-root'],
        state: 1,
        extractable: false,
        keyRingID: 'default',
        deleted: false,
        crn: `crn:v1:bluemix:public:kms:us-south:a/1234567890abcdef1234567890abcdef:${KP_INSTANCE}:key:${PAYMENTS_KEY}`,
      });
      for (const f of ['creationDate', 'lastUpdateDate', 'createdBy', 'description']) expect(key).toHaveProperty(f);
      expect(key.keyVersion).toEqual({ id: expect.any(String), creationDate: expect.stringMatching(/Z$/) });
      expect(key).not.toHaveProperty('payload');
    }
  });

  test('HPCS keys carry an hs-crypto CRN', async () => {
    const tok = await token(emu.url);
    const r = await kms(emu.url, tok, 'GET', `/api/v2/keys/${ANALYTICS_KEY}/metadata`, HPCS_INSTANCE);
    expect(r.json.resources[0].crn).toContain(':hs-crypto:us-south:');
  });

  test('unknown path -> 404 JSON, wrong method -> 405', async () => {
    const tok = await token(emu.url);
    expect((await kms(emu.url, tok, 'GET', '/api/v2/nothing')).status).toBe(404);
    const wrong = await kms(emu.url, tok, 'GET', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
  });
});

describe('close()', () => {
  test('is idempotent and frees the port', async () => {
    const e = await startEmulator();
    await e.close();
    await e.close();
    await expect(call(e.url, 'GET', '/__emulator/clock')).rejects.toThrow();
  });

  test('refuses a non-loopback host and bad options', async () => {
    await expect(startEmulator({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
    await expect(startEmulator({ port: -1 })).rejects.toThrow(/^port: invalid value -1/);
    await expect(startEmulator({ gateSeconds: NaN })).rejects.toThrow(/^gateSeconds/);
    await expect(startEmulator({ seed: { instances: [], keys: [], apiKeys: [] } })).rejects.toThrow(/^seed: \$\.apiKeys/);
  });

  test('a seed can start with a closed gate', async () => {
    const e = await startEmulator({
      now: T0,
      seed: {
        instances: [{ id: KP_INSTANCE, kind: 'key-protect', region: 'us-south' }],
        keys: [{ id: PAYMENTS_KEY, instanceId: KP_INSTANCE, name: 'p', lastSyncDate: '2026-11-28T20:30:00Z' }],
        apiKeys: [DEMO_KEY],
      },
    });
    try {
      const r = await kms(e.url, await token(e.url), 'POST', `/api/v2/keys/${PAYMENTS_KEY}/actions/sync`);
      expect(r.json.resources[0].reasons[0].message).toMatch(/until at least 2026-11-28T21:30:00Z$/);
    } finally {
      await e.close();
    }
  });
});
