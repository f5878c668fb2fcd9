/**
 * Races and shared state in the attempt engine, each against a hostile server on loopback
 * (found by a review of the engine): a rotation-like request that must never be sent
 * twice, a late 401 for an old token, one caller's interruption, the IAM exchange's
 * backoff phase, request slots handed to a waiter that has gone, and 2xx bodies that are
 * not what they claim.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { RetryBudget } from '../../src/client/budget';
import { Call, Engine } from '../../src/client/engine';
import { KmsClient } from '../../src/client/kms-client';
import { RequestSlots, realSleep } from '../../src/client/pacing';
import { DEFAULT_RETRY_LIMITS } from '../../src/client/retry-policy';
import { createSanitizer } from '../../src/client/sanitize';
import { AbortedError, Transport } from '../../src/client/transport';
import { run } from '../../src/cli/run';
import { skipUnless } from '../helpers/skip';
import { HAS_PYTHON, blackHole } from './harness';

const INSTANCE = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const API_KEY = 'CANARY-apikey-races-5d4c3b2a19087f6e5d4c';

interface Srv {
  readonly url: string;
  readonly seen: string[];
  close(): Promise<void>;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<Srv> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    req.resume();
    req.on('end', () => handler(req, res, seen.length));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

function engine(limits = { ...DEFAULT_RETRY_LIMITS, attemptTimeoutMs: 300 }): { engine: Engine; transport: Transport } {
  const transport = new Transport({ connectTimeoutMs: limits.attemptTimeoutMs });
  const e = new Engine({ transport, now: Date.now, sleep: (ms, s) => realSleep(Math.min(ms, 20), s), random: () => 0.5, limits, sanitizer: createSanitizer() });
  return { engine: e, transport };
}

const post = (url: string) => ({
  what: 'rotate' as const,
  service: 'key-service' as const,
  idempotent: false,
  syncGate: false,
  request: { origin: url, path: `/api/v2/keys/${KEY}/actions/rotate`, method: 'POST' as const, headers: {}, readSuccessBody: false },
});

describe('a request that must not be sent twice (idempotent: false)', () => {
  test('no answer after it was sent: uncertain after one attempt, never resent (even while another request to the origin connects)', async () => {
    const srv = await serve((req, res) => {
      if (req.method === 'POST') return; // read, never answered
      res.writeHead(200).end('{}');
    });
    const { engine: e, transport } = engine();
    try {
      const call = new Call('c', new RetryBudget(e.limits, Date.now()), Date.now(), undefined, undefined);
      // A second request to the same origin starts while the first waits.
      const other = new Call('d', new RetryBudget(e.limits, Date.now()), Date.now(), undefined, undefined);
      setTimeout(() => void e.run({ ...post(srv.url), what: 'key', idempotent: true, request: { ...post(srv.url).request, method: 'GET', path: '/other', readSuccessBody: true } }, other), 100);
      const r = await e.run(post(srv.url), call);
      expect(r).toEqual({ kind: 'uncertain', last: { kind: 'timeout', phase: 'response' } });
      expect(srv.seen.filter((s) => s.startsWith('POST'))).toHaveLength(1);
    } finally {
      await transport.close();
      await srv.close();
    }
  });

  skipUnless(HAS_PYTHON, 'the black-holed connect test of a non-idempotent request', 'no python3 to hold a listen queue full').test('a connect that never completes proves nothing was sent: retried', async () => {
    const hole = await blackHole();
    const { engine: e, transport } = engine();
    try {
      const port = hole.port;
      const call = new Call('c', new RetryBudget(e.limits, Date.now()), Date.now(), undefined, undefined);
      const r = await e.run(post(`http://127.0.0.1:${port}`), call);
      expect(r).toMatchObject({ kind: 'fail', failure: { kind: 'gave-up', why: 'attempts', last: { kind: 'timeout', phase: 'connect' } } });
      expect(call.attempts).toBe(5);
    } finally {
      await transport.close();
      hole.close();
    }
  });
});

describe('tokens shared by concurrent calls', () => {
  test('a late 401 for an old token does not throw away the new one: two IAM exchanges, not one per key', async () => {
    let issued = 0;
    let refusals = 0;
    const srv = await serve((req, res) => {
      if (req.url === '/identity/token') {
        issued++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `TOKEN-${issued}-opaque`, expires_in: 3600 }));
        return;
      }
      // The first token is refused, each refusal arriving a little later than the last.
      if (req.headers.authorization === 'Bearer TOKEN-1-opaque') setTimeout(() => res.writeHead(401).end(), 40 * ++refusals);
      else res.writeHead(204).end();
    });
    const client = new KmsClient({ baseUrl: srv.url, credentials: { kind: 'api-key', apiKey: API_KEY, iamBaseUrl: srv.url, envName: 'IBMCLOUD_API_KEY' }, maxConcurrentRequests: 8 });
    try {
      const keys = Array.from({ length: 8 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`);
      const results = await Promise.all(keys.map((k) => client.sync(k, { instanceId: INSTANCE, maxWaitSeconds: 0 })));
      expect(results.map((r) => r.outcome)).toEqual(keys.map(() => 'synced'));
      expect(issued).toBe(2);
    } finally {
      await client.close();
      await srv.close();
    }
  });

  test('one caller interrupted while IAM answers: the others still get their token', async () => {
    const srv = await serve((req, res) => {
      if (req.url === '/identity/token') setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'TOKEN-shared-opaque', expires_in: 3600 })), 300);
      else res.writeHead(204).end();
    });
    const client = new KmsClient({ baseUrl: srv.url, credentials: { kind: 'api-key', apiKey: API_KEY, iamBaseUrl: srv.url, envName: 'IBMCLOUD_API_KEY' } });
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      const [a, b] = await Promise.all([
        client.sync(KEY, { instanceId: INSTANCE, maxWaitSeconds: 0, signal: ac.signal }),
        client.sync(KEY, { instanceId: INSTANCE, maxWaitSeconds: 0 }),
      ]);
      expect(a).toMatchObject({ outcome: 'failed', code: 'KS_ABORTED', phase: 'token' });
      expect(b).toMatchObject({ outcome: 'synced', iamAttempts: 1 });
      expect(srv.seen.filter((s) => s.includes('/identity/token'))).toHaveLength(1);
    } finally {
      await client.close();
      await srv.close();
    }
  });

  test('interrupted while the IAM exchange backs off: "while getting an IAM token", not a key-service backoff', async () => {
    const srv = await serve((_req, res) => void res.writeHead(503).end());
    const ac = new AbortController();
    let err = '';
    const code = await run(['sync', '--instance-id', INSTANCE, '--key-id', KEY], { IBMCLOUD_API_KEY: API_KEY, IBMCLOUD_IAM_API_ENDPOINT: srv.url, IBMCLOUD_KP_API_ENDPOINT: srv.url, KEY_SYNC_TOKEN_CACHE: 'off' }, {
      stdout: { write: () => true },
      stderr: { write: (s: string) => ((err += s), err.includes('trying again') && !ac.signal.aborted && ac.abort(), true) },
      isTTY: false,
      signal: ac.signal,
    });
    await srv.close();
    expect(code).toBe(75);
    expect(err).toMatch(/interrupted while getting an IAM token; nothing was sent to the key service/);
    expect(err).not.toMatch(/backing off after attempt 0/);
  });
});

describe('request slots', () => {
  test('a slot handed to a waiter aborted in the same tick goes to the next waiter', async () => {
    const slots = new RequestSlots(1);
    await slots.acquire(undefined);
    const ac = new AbortController();
    const b = slots.acquire(ac.signal);
    const c = slots.acquire(undefined);
    slots.release();
    ac.abort();
    await expect(b).rejects.toBeInstanceOf(AbortedError);
    await expect(Promise.race([c.then(() => 'granted'), new Promise((r) => setTimeout(() => r('still waiting'), 300))])).resolves.toBe('granted');
  });
});

describe('2xx bodies that are not what they claim', () => {
  test('an error object answered with 200 is not an empty listing: --all-registered fails and syncs nothing', async () => {
    let page = 0;
    const srv = await serve((req, res) => {
      if (req.url === '/identity/token') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'TOKEN-x-opaque', expires_in: 3600 }));
      if (req.url?.includes('/actions/sync') === true) return void res.writeHead(204).end();
      page++;
      const body = page === 1
        ? { metadata: { collectionType: 'application/vnd.ibm.kms.registration+json', collectionTotal: 3 }, resources: [1, 2, 3].map((i) => ({ keyId: `00000000-0000-4000-8000-00000000000${i}`, resourceCrn: `crn:v1:bluemix:public:kms:us-south:a/1:2:bucket:${i}` })) }
        : { error: 'upstream busy, try later' };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    let out = '';
    const code = await run(['sync', '--instance-id', INSTANCE, '--all-registered', '--json'], { IBMCLOUD_API_KEY: API_KEY, IBMCLOUD_IAM_API_ENDPOINT: srv.url, IBMCLOUD_KP_API_ENDPOINT: srv.url, KEY_SYNC_TOKEN_CACHE: 'off' }, {
      stdout: { write: (s: string) => ((out += s), true) },
      stderr: { write: () => true },
      isTTY: false,
    });
    await srv.close();
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ outcome: 'failed', code: 'KS_BAD_RESPONSE' });
    expect(srv.seen.filter((s) => s.includes('/actions/sync'))).toHaveLength(0);
  });
});
