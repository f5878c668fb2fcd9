/**
 * Hostile servers on loopback, one per way a key service or IAM can misbehave on purpose
 * (a probe found each of these), against the real CLI (dist/key-sync.cjs): endless or
 * repeated pages, lying counts, echoed secrets and terminal escapes, stalled handshakes
 * and connects, a reader that goes away. Each case proves the CLI stays bounded in time
 * and memory, prints nothing secret, and never reports success on partial work.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Agent } from 'undici';
import { KmsClient } from '../../src/client/kms-client';
import { KmsInstance } from '../../src/constructs';
import { CLI, runCli, runProcess, type CliRun } from '../helpers/cli';
import { skipUnless } from '../helpers/skip';
import { HAS_PYTHON, blackHole } from './harness';

const INSTANCE = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
const API_KEY = 'CANARY-apikey-hostile-0a9b8c7d6e5f4a3b2c1d';
/** An opaque token (not JWT-shaped): only knowing it can redact it. */
const TOKEN = 'CANARY-token-hostile-1f2e3d4c5b6a79880706';
const SHORT_TOKEN = 'Xq9';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

interface Hostile {
  readonly url: string;
  readonly server: Server;
  /** Requests seen, as "METHOD path". */
  readonly seen: string[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1:0 that answers IAM with TOKEN and everything else with `handler`. */
async function hostile(handler: Handler, iam?: Handler): Promise<Hostile> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hostile.invalid');
    seen.push(`${req.method ?? ''} ${url.pathname}${url.search}`);
    req.resume();
    req.on('end', () => {
      if (url.pathname === '/identity/token') {
        if (iam !== undefined) return iam(req, res, url);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: TOKEN, token_type: 'Bearer', expires_in: 3600 }));
        return;
      }
      handler(req, res, url);
    });
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    seen,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

function env(url: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    IBMCLOUD_API_KEY: API_KEY,
    IBMCLOUD_IAM_API_ENDPOINT: url,
    IBMCLOUD_KP_API_ENDPOINT: url,
    KEY_SYNC_TIME_SCALE: '0.001',
    KEY_SYNC_TOKEN_CACHE: 'off',
    ...extra,
  };
}

/** Nothing secret in what the CLI printed. */
function expectClean(r: CliRun, ...secrets: string[]): void {
  for (const out of [r.stdout, r.stderr]) {
    for (const s of [API_KEY, TOKEN, ...secrets]) expect(out).not.toContain(s);
    // eslint-disable-next-line no-control-regex
    expect(out).not.toMatch(/\u001b|\u009b|[\u202a-\u202e\u2066-\u2069]/);
  }
}

const json = (r: CliRun): Record<string, unknown> => JSON.parse(r.stdout) as Record<string, unknown>;
const page = (items: readonly object[], totalCount: number): string => JSON.stringify({ metadata: { collectionType: 'application/vnd.ibm.kms.registration+json', collectionTotal: items.length, totalCount }, resources: items });
const reg = (i: number, keyId = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`): object => ({
  keyId,
  resourceCrn: `crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:b-${i}`,
  keyVersion: { id: keyId, creationDate: '2026-11-01T00:00:00Z' },
});
const limitOf = (url: URL): number => Number(url.searchParams.get('limit') ?? '200');
const offsetOf = (url: URL): number => Number(url.searchParams.get('offset') ?? '0');

/** Peak RSS (MiB) of a CLI run, through /usr/bin/time, with its result. */
async function withPeakRss(args: readonly string[], e: Record<string, string>): Promise<{ run: CliRun; rssMiB: number }> {
  const run = await runProcess('/usr/bin/time', ['-f', 'KSRSS %M', process.execPath, CLI, ...args], e, { timeoutMs: 30_000 });
  const m = /KSRSS (\d+)/.exec(run.stderr);
  return { run: { ...run, stderr: run.stderr.replace(/KSRSS \d+\n?/, '') }, rssMiB: m === null ? NaN : Number(m[1]) / 1024 };
}
const HAS_TIME = existsSync('/usr/bin/time');

describe('registrations listings that never end or lie', () => {
  let h: Hostile;
  afterEach(async () => h.close());

  const theSamePageForever: Handler = (_req, res, url) => {
    // A full page whatever the offset, and a count that promises more.
    const items = Array.from({ length: limitOf(url) }, (_, i) => reg(i));
    res.writeHead(200, { 'content-type': 'application/json' }).end(page(items, 10_000_000));
  };

  skipUnless(HAS_TIME, 'the endless-page memory check', 'no /usr/bin/time to measure peak memory').test('the same full page forever: exit 1 at the second page, bounded time and memory', async () => {
    h = await hostile(theSamePageForever);
    const { run, rssMiB } = await withPeakRss(['registrations', '--instance-id', INSTANCE, '--json'], env(h.url));
    expect(run.code).toBe(1);
    expect(json(run)).toMatchObject({ outcome: 'failed', code: 'KS_BAD_RESPONSE', count: 0, registrations: [] });
    expect(String(json(run)['message'])).toMatch(/answered page 2 \(offset 5000\) with only registrations it had already sent: the service repeats itself; the listing did not complete/);
    expect(h.seen.filter((s) => s.includes('/registrations'))).toHaveLength(2);
    expect(run.ms).toBeLessThan(10_000);
    expect(rssMiB).toBeLessThan(200);
    expectClean(run);
  });

  test('--verify-registrations against that listing still sends its sync', async () => {
    h = await hostile((req, res, url) => {
      if (url.pathname.endsWith('/actions/sync')) return void res.writeHead(204).end();
      theSamePageForever(req, res, url);
    });
    const r = await runCli(['sync', '--instance-id', INSTANCE, '--key-id', KEY, '--verify-registrations'], env(h.url));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/could not list the registrations of key .*the service repeats itself.*; syncing anyway/);
    expect(h.seen.filter((s) => s.endsWith('/actions/sync'))).toHaveLength(1);
  });

  test('--all-registered against that listing syncs nothing: exit 1', async () => {
    h = await hostile((req, res, url) => {
      if (url.pathname.endsWith('/actions/sync')) return void res.writeHead(204).end();
      theSamePageForever(req, res, url);
    });
    const r = await runCli(['sync', '--instance-id', INSTANCE, '--all-registered', '--json'], env(h.url));
    expect(r.code).toBe(1);
    expect(h.seen.filter((s) => s.endsWith('/actions/sync'))).toHaveLength(0);
  });

  test('a server that ignores limit (pages of 200, totalCount 1000): every page is read, all 1000 keys synced', async () => {
    const all = Array.from({ length: 1000 }, (_, i) => reg(i));
    h = await hostile((_req, res, url) => {
      if (url.pathname.endsWith('/actions/sync')) return void res.writeHead(204).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(page(all.slice(offsetOf(url), offsetOf(url) + 200), 1000));
    });
    const r = await runCli(['sync', '--instance-id', INSTANCE, '--all-registered', '--json', '--concurrency', '32'], env(h.url), { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(json(r)).toMatchObject({ outcome: 'synced', registrations: 1000, counts: { total: 1000, synced: 1000 } });
    expect(h.seen.filter((s) => s.includes('/registrations'))).toHaveLength(5);
    expect(h.seen.filter((s) => s.endsWith('/actions/sync'))).toHaveLength(1000);
  }, 60_000);

  test('a count that lies (1000 promised, 200 exist): retry later (75), never success, no sync', async () => {
    const all = Array.from({ length: 200 }, (_, i) => reg(i));
    h = await hostile((_req, res, url) => {
      if (url.pathname.endsWith('/actions/sync')) return void res.writeHead(204).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(page(all.slice(offsetOf(url), offsetOf(url) + limitOf(url)), 1000));
    });
    const list = await runCli(['registrations', '--instance-id', INSTANCE, '--json'], env(h.url));
    expect(list.code).toBe(75);
    expect(json(list)).toMatchObject({ outcome: 'failed', code: 'KS_LISTING_INCOMPLETE', count: 0, registrations: [] });
    expect(String(json(list)['message'])).toContain('ended with 200 of the 1000 registrations the service counted');
    const sync = await runCli(['sync', '--instance-id', INSTANCE, '--all-registered'], env(h.url));
    expect(sync.code).toBe(75);
    expect(h.seen.filter((s) => s.endsWith('/actions/sync'))).toHaveLength(0);
  });

  test('endless distinct pages stop at the item bound (in-process, with a small bound)', async () => {
    h = await hostile((_req, res, url) => {
      const from = offsetOf(url);
      res.writeHead(200, { 'content-type': 'application/json' }).end(page(Array.from({ length: limitOf(url) }, (_, i) => reg(from + i)), from + 10 * limitOf(url)));
    });
    const agent = new Agent();
    const client = new KmsClient({ baseUrl: h.url, credentials: { kind: 'api-key', apiKey: API_KEY, iamBaseUrl: h.url, envName: 'IBMCLOUD_API_KEY' }, dispatcher: agent, listingBounds: { maxItems: 1000 } });
    try {
      const r = await client.listRegistrations({ instanceId: INSTANCE, pageSize: 100 });
      expect(r).toMatchObject({ outcome: 'failed', code: 'KS_LISTING_TOO_LARGE', registrations: [], retryLater: false, failure: { kind: 'listing', problem: { kind: 'too-many-items', limit: 1000 } } });
      expect(r.pages).toBe(11);
    } finally {
      await client.close();
      await agent.close();
    }
  });

  test('SIGTERM during a large --json listing: exit 75 within a second, valid JSON, no partial list', async () => {
    // Pages of 5000 distinct registrations, slowly, for ever.
    h = await hostile((_req, res, url) => {
      const from = offsetOf(url);
      const body = page(Array.from({ length: limitOf(url) }, (_, i) => reg(from + i)), 1e9);
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(body), 50);
    });
    let sentAt = 0;
    const r = await runProcess(process.execPath, [CLI, 'registrations', '--instance-id', INSTANCE, '--json'], env(h.url, { KEY_SYNC_TIME_SCALE: '1' }), {
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (h.seen.filter((s) => s.includes('/registrations')).length >= 4) {
            clearInterval(poll);
            sentAt = Date.now();
            child.kill('SIGTERM');
          }
        }, 5);
      },
      timeoutMs: 20_000,
    });
    expect(sentAt).toBeGreaterThan(0);
    expect(r.code).toBe(75);
    expect(Date.now() - sentAt).toBeLessThan(1500);
    expect(json(r)).toMatchObject({ outcome: 'failed', code: 'KS_ABORTED', registrations: [] });
    expect(r.stderr).not.toMatch(/Invalid string length|RangeError/);
  });
});

describe('servers that echo secrets and terminal escapes', () => {
  let h: Hostile;
  afterEach(async () => h.close());

  test('an IAM error whose errorCode echoes the API key (with escapes): nothing of it is printed, text or --json', async () => {
    h = await hostile(() => undefined, (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({
        errorCode: `BXNIM0415E ${API_KEY}\u001b[31m`,
        errorMessage: `Provided API key ${API_KEY.split('').join('\u200b')} could not be found \u001b]0;pwned\u0007 \u202eevil`,
        context: { requestId: `req ${API_KEY}` },
      }));
    });
    for (const args of [['--json'], []]) {
      const r = await runCli(['sync', '--instance-id', INSTANCE, '--key-id', KEY, ...args], env(h.url));
      expect(r.code).toBe(1);
      expectClean(r);
      expect(r.stdout + r.stderr).toContain('KS_IAM_REFUSED');
    }
  });

  test('registration fields that echo the bearer token (plain, split by zero-width characters, with bidi controls): redacted in text and --json', async () => {
    h = await hostile((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(page([{
        keyId: KEY,
        resourceCrn: `crn:v1:bluemix:public:cloud-object-storage:global:a/1:2:bucket:${TOKEN}`,
        description: `Bearer ${TOKEN.split('').join('\u200b')} \u202etxt.exe\u001b[2J`,
        createdBy: TOKEN.split('').join('\u2066'),
        extra: TOKEN,
      }], 1));
    });
    for (const args of [['--json'], []]) {
      const r = await runCli(['registrations', '--instance-id', INSTANCE, ...args], env(h.url));
      expect(r.code).toBe(0);
      expectClean(r);
      expect(r.stdout).toContain('[REDACTED]');
    }
  });

  test('a 403 whose message echoes a 3-character static token: redacted (every credential, however short)', async () => {
    h = await hostile((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ resources: [{ errorMsg: `token ${SHORT_TOKEN} X${SHORT_TOKEN.split('').join('\u200b')}Y is not allowed` }] }));
    });
    const r = await runCli(['sync', '--instance-id', INSTANCE, '--key-id', KEY, '--json'], { ...env(h.url), IBMCLOUD_API_KEY: '', IBMCLOUD_IAM_TOKEN: SHORT_TOKEN });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain(SHORT_TOKEN);
    expect(String(json(r)['message'])).toContain('X[REDACTED]Y');
  });

  test('a key read (alias resolution in a fleet) whose fields echo the token: sanitized', async () => {
    h = await hostile((_req, res, url) => {
      if (url.pathname.endsWith('/actions/sync')) return void res.writeHead(204).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ metadata: { collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 }, resources: [{ id: KEY, name: `${TOKEN}\u001b[1m`, aliases: [TOKEN], state: 1 }] }));
    });
    const r = await runCli(['sync', '--instance-id', INSTANCE, '--key-id', 'payments-root', '--key-id', KEY, '--json'], env(h.url));
    expect(r.code).toBe(0);
    expectClean(r);
    expect(r.stderr).toContain(`${KEY} and payments-root are the same key; it is synced once, as payments-root`);
    expect(h.seen.filter((s) => s.endsWith('/actions/sync'))).toHaveLength(1);
  });
});

describe('connections that never complete', () => {
  test('a stalled TLS handshake is cut at the attempt timeout (not the connector\'s 30 s): 5 attempts, exit 75, KS_TIMEOUT', async () => {
    const stalled = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(stalled.address() as net.AddressInfo).port}`;
    try {
      const r = await runCli(['sync', '--instance-id', INSTANCE, '--key-id', KEY, '--json'], env(url, { KEY_SYNC_ATTEMPT_TIMEOUT_MS: '300' }), { timeoutMs: 20_000 });
      expect(r.code).toBe(75);
      expect(json(r)).toMatchObject({ code: 'KS_TIMEOUT', iamAttempts: 5 });
      expect(String(json(r)['message'])).toMatch(/could not get an IAM token from https:\/\/127\.0\.0\.1:\d+: gave up after 5 attempts; last: the attempt timed out while connecting; nothing was sent to the key service/);
      expect(r.ms).toBeLessThan(6_000);
    } finally {
      stalled.close();
    }
  });

  test('SIGTERM during a stalled handshake: exit 75 within a second, with the status line', async () => {
    const stalled = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(stalled.address() as net.AddressInfo).port}`;
    let sentAt = 0;
    stalled.on('connection', () => {
      setTimeout(() => {
        if (sentAt === 0) {
          sentAt = Date.now();
          child?.kill('SIGTERM');
        }
      }, 200);
    });
    let child: ReturnType<typeof spawn> | undefined;
    try {
      const r = await runProcess(process.execPath, [CLI, 'sync', '--instance-id', INSTANCE, '--key-id', KEY], env(url, { KEY_SYNC_TIME_SCALE: '1' }), { onSpawn: (c) => (child = c), timeoutMs: 20_000 });
      expect(r.code).toBe(75);
      expect(Date.now() - sentAt).toBeLessThan(1000);
      expect(r.stderr).toMatch(/^key-sync: interrupted, key .*: interrupted while getting an IAM token; nothing was sent to the key service/m);
    } finally {
      stalled.close();
    }
  });

  skipUnless(HAS_PYTHON, 'the black-holed connect test', 'no python3 to hold a listen queue full').test('a black-holed TCP connect (listen queue full, SYNs dropped) is cut at the attempt timeout', async () => {
    const hole = await blackHole();
    try {
      const port = hole.port;
      const url = `http://127.0.0.1:${port}`;
      const r = await runCli(['sync', '--instance-id', INSTANCE, '--key-id', KEY, '--json'], env(url, { KEY_SYNC_ATTEMPT_TIMEOUT_MS: '300' }), { timeoutMs: 20_000 });
      expect(r.code).toBe(75);
      expect(json(r)).toMatchObject({ code: 'KS_TIMEOUT', iamAttempts: 5 });
      expect(String(json(r)['message'])).toContain('the attempt timed out while connecting');
      expect(r.ms).toBeLessThan(6_000);
    } finally {
      hole.close();
    }
  });
});

describe('the environment and the pipe', () => {
  test('NODE_TLS_REJECT_UNAUTHORIZED=0 is refused before any connection: exit 2, the variable and the fix named', async () => {
    let connections = 0;
    const srv = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
    try {
      for (const cmd of [['sync', '--key-id', KEY], ['registrations']]) {
        const r = await runCli([cmd[0] as string, '--instance-id', INSTANCE, ...cmd.slice(1)], env(url, { NODE_TLS_REJECT_UNAUTHORIZED: '0' }));
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/NODE_TLS_REJECT_UNAUTHORIZED=0 is set: it turns off TLS certificate verification.*NODE_EXTRA_CA_CERTS/);
      }
      expect(connections).toBe(0);
    } finally {
      srv.close();
    }
  });

  const OPENSSL = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
  skipUnless(OPENSSL, 'the in-process TLS environment test', 'no openssl to make a self-signed certificate').test('the transport verifies certificates even with the variable set in-process (library use): refused, nothing sent', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ks-tls-env-'));
    spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    let requests = 0;
    const srv = https.createServer({ key: readFileSync(path.join(dir, 'k.pem')), cert: readFileSync(path.join(dir, 'c.pem')) }, (_req, res) => {
      requests++;
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
    const prev = process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
    process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0';
    const client = new KmsClient({ baseUrl: url, credentials: { kind: 'token', token: TOKEN, envName: 'IBMCLOUD_IAM_TOKEN' } });
    try {
      const r = await client.sync(KEY, { instanceId: INSTANCE, maxWaitSeconds: 0 });
      expect(r).toMatchObject({ outcome: 'failed', code: 'KS_TLS', failure: { kind: 'unusable-connection', problem: 'tls', code: 'DEPTH_ZERO_SELF_SIGNED_CERT' } });
      expect(requests).toBe(0);
    } finally {
      if (prev === undefined) delete process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
      else process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = prev;
      await client.close();
      srv.close();
    }
  });

  test('stdout closed after an accepted sync: the exit code follows the sync (0), no stack trace', async () => {
    const h = await hostile((_req, res) => void res.writeHead(204).end());
    try {
      const r = await runProcess(process.execPath, [CLI, 'sync', '--instance-id', INSTANCE, '--key-id', KEY], env(h.url), { onSpawn: (c) => c.stdout?.destroy() });
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/EPIPE|\n\s+at /);
    } finally {
      await h.close();
    }
  });

  test('an endpoint URL with ?apikey= or a #fragment is refused without echoing them (CLI and synth)', async () => {
    for (const endpoint of ['http://127.0.0.1:1/?apikey=SECRETQUERY123', 'http://127.0.0.1:1/#SECRETFRAG123']) {
      const r = await runCli(['sync', '--instance-id', INSTANCE, '--key-id', KEY, '--endpoint', endpoint], { PATH: process.env['PATH'] ?? '', IBMCLOUD_API_KEY: API_KEY });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--endpoint "http:\/\/127\.0\.0\.1:1\/[?#]<redacted>" contains a query or fragment/);
      expect(r.stderr).not.toMatch(/SECRET(QUERY|FRAG)123/);
      let message = '';
      try {
        KmsInstance.fromEndpoint({ instanceId: INSTANCE, endpoint });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/contains a query or fragment/);
      expect(message).not.toMatch(/SECRET(QUERY|FRAG)123/);
    }
  });

  test('a fleet of 24 keys waiting side by side prints no MaxListenersExceededWarning', async () => {
    let n = 0;
    const h = await hostile((_req, res) => {
      // Every key is gated for 2 s (virtual), then accepted.
      if (n++ < 24) {
        res.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify({ resources: [{ reasons: [{ code: 'REQ_TOO_EARLY_ERR', message: `Sync cannot be performed until at least ${new Date(Date.now() + 2000).toISOString()}` }] }] }));
      } else res.writeHead(204).end();
    });
    try {
      const keys = Array.from({ length: 24 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
      const r = await runCli(['sync', '--instance-id', INSTANCE, ...keys.flatMap((k) => ['--key-id', k])], env(h.url));
      expect(r.code).toBe(0);
      expect(r.stderr).not.toContain('MaxListenersExceededWarning');
    } finally {
      await h.close();
    }
  });

  test('a stack trace from the bundle names no directory of the machine that built it', async () => {
    // Make JSON.stringify throw an error whose message is its own stack: run() reports it
    // as an internal error, so the stack the bundle produces is printed.
    const dir = mkdtempSync(path.join(tmpdir(), 'ks-stack-'));
    const preload = path.join(dir, 'throw.js');
    writeFileSync(preload, "const real = JSON.stringify; JSON.stringify = function (v, ...r) { if (v && typeof v === 'object' && 'outcome' in v) { JSON.stringify = real; throw new Error(new Error('probe').stack); } return real(v, ...r); };\n");
    const h = await hostile((_req, res) => void res.writeHead(204).end());
    try {
      const r = await runProcess(process.execPath, ['--require', preload, CLI, 'sync', '--instance-id', INSTANCE, '--key-id', KEY, '--json'], env(h.url));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/internal error: Error: probe/);
      expect(r.stderr).toMatch(/at .*key-sync\.cjs:\d+:\d+/);
      expect(r.stderr).not.toMatch(/key-sync-bundle-|\/tmp\/[^ ]*key-sync\.cjs/);
    } finally {
      await h.close();
    }
  });
});

describe('the key service connection is set up while IAM answers', () => {
  test('IAM answers only once the key service has a connection from this run: the sync goes through (no sequential set-up)', async () => {
    let kmsConnected: () => void = () => undefined;
    const connected = new Promise<void>((r) => (kmsConnected = r));
    const kms = await hostile((_req, res) => void res.writeHead(204).end());
    kms.server.on('connection', () => kmsConnected());
    let releasedBy = 'nothing';
    const iam = await hostile(() => undefined, (_req, res) => {
      const answer = (why: string): void => {
        if (res.headersSent) return;
        releasedBy = why;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: TOKEN, expires_in: 3600 }));
      };
      void connected.then(() => answer('the key service connection'));
      setTimeout(() => answer('the 3 s fallback'), 3000).unref();
    });
    try {
      const r = await runCli(['sync', '--instance-id', INSTANCE, '--key-id', KEY], { ...env(kms.url), IBMCLOUD_IAM_API_ENDPOINT: iam.url, KEY_SYNC_TIME_SCALE: '1' });
      expect(r.code).toBe(0);
      expect(releasedBy).toBe('the key service connection');
    } finally {
      await kms.close();
      await iam.close();
    }
  });
});
