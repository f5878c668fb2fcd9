/**
 * Credentials and data: plain http only to loopback (refused before any connection), TLS
 * verification never off, the CLI writes nothing to disk, and the in-process client never
 * puts a credential into a result, a message or a stack, whatever its dispatcher throws.
 * (The canary through every fault is in fault-matrix.test.ts; a full synth with canary
 * credentials and "no environment block" are in test/unit/constructs*.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:https';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Dispatcher } from 'undici';
import { KmsClient } from '../../src/client/kms-client';
import { KmsInstance } from '../../src/constructs';
import {
  CANARY_KEY, CANARY_TOKEN, KP_INSTANCE, KP_KEY, connectionRecorder, emptyDir, entriesUnder, env, jsonOf, leaks, runCli, runLeaks, startCanary,
} from './harness';

const SYNC = ['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY];
const REPO = path.resolve(__dirname, '../..');

describe('plain http to a host that is not a loopback name is refused before any connection', () => {
  // Both forms reach 127.0.0.1 on this machine (the recorder proves it), yet neither is a
  // loopback name: the CLI must refuse them without connecting.
  const hosts = ['0.0.0.0', '[::ffff:127.0.0.1]'];

  test.each(hosts)('http://%s (positive control: it does reach the recorder)', async (host) => {
    const rec = await connectionRecorder();
    try {
      await new Promise<void>((resolve) => {
        const c = net.connect(rec.port, host.replace(/^\[|\]$/g, ''));
        c.on('error', () => resolve()).on('close', () => resolve());
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(rec.connections()).toBe(1);
    } finally {
      await rec.close();
    }
  });

  test.each(hosts.flatMap((h) => [
    [h, 'IBMCLOUD_KP_API_ENDPOINT'],
    [h, '--endpoint'],
    [h, 'IBMCLOUD_IAM_API_ENDPOINT'],
  ]))('CLI: http://%s via %s: exit 2, zero connections', async (host, via) => {
    const rec = await connectionRecorder();
    const emu = await startCanary();
    try {
      const url = `http://${host}:${rec.port}`;
      const base = env('apikey', { kms: emu.url, iam: emu.url });
      const r = via === '--endpoint'
        ? await runCli([...SYNC, '--endpoint', url], { ...base, IBMCLOUD_KP_API_ENDPOINT: '' })
        : await runCli(SYNC, { ...base, [via]: url });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/plain http to the non-loopback host/);
      expect(rec.connections()).toBe(0);
      expect(emu.log()).toHaveLength(0);
      expect(runLeaks(r, emu)).toEqual([]);
    } finally {
      await rec.close();
      await emu.close();
    }
  });

  test.each(hosts)('constructs: KmsInstance.fromEndpoint(http://%s) fails at synth', (host) => {
    expect(() => KmsInstance.fromEndpoint({ instanceId: KP_INSTANCE, endpoint: `http://${host}:8443` })).toThrow(/plain http|non-loopback/);
  });
});

describe('TLS verification is never turned off', () => {
  test('no code path disables it (source and bundle)', () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|js|cjs|mjs)$/.test(e.name)) files.push(p);
      }
    };
    for (const d of ['src', 'scripts']) walk(path.join(REPO, d));
    files.push(path.join(REPO, 'main.ts'));
    // Naming NODE_TLS_REJECT_UNAUTHORIZED is fine (the CLI refuses it); setting it is not.
    const bad = /rejectUnauthorized\s*:\s*(false|!1|0)|env(\.|\[['"])NODE_TLS_REJECT_UNAUTHORIZED(['"]\])?\s*=[^=]|checkServerIdentity\s*:|secureOptions|--insecure|allowInsecure/;
    const hits = files.filter((f) => bad.test(readFileSync(f, 'utf8'))).map((f) => path.relative(REPO, f));
    expect(hits).toEqual([]);
    // The bundle the construct ships: nothing of ours sets the variable or the option.
    const bundle = readFileSync(path.join(REPO, 'dist/key-sync.cjs'), 'utf8');
    expect(bundle).not.toMatch(/(\.|\[["'])NODE_TLS_REJECT_UNAUTHORIZED(["']\])?\s*=[^=]|rejectUnauthorized\s*:\s*(false|!1)\b/);
  });

  test('a self-signed HTTPS server is refused: no HTTP request reaches it, exit 1 (not retried), nothing leaks', async () => {
    const dir = emptyDir('key-sync-tls-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    let requests = 0;
    const srv = createServer({ key: readFileSync(path.join(dir, 'k.pem')), cert: readFileSync(path.join(dir, 'c.pem')) }, (_req, res) => {
      requests++;
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const url = `https://127.0.0.1:${(srv.address() as AddressInfo).port}`;
      const r = await runCli([...SYNC, '--json'], env('token', { kms: url, iam: url }, { NODE_TLS_REJECT_UNAUTHORIZED: '' }));
      // A certificate refused now is refused on every retry: exit 1 at once (test/reliability/tls.test.ts).
      expect(r.code).toBe(1);
      expect(jsonOf(r)).toMatchObject({ outcome: 'failed', code: 'KS_TLS', retryLater: false });
      expect(requests).toBe(0);
      expect(leaks({ stdout: r.stdout, stderr: r.stderr })).toEqual([]);
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});

describe('the CLI never writes to disk', () => {
  test.each<[string, string[], (emu: Awaited<ReturnType<typeof startCanary>>) => void]>([
    ['synced', [...SYNC, '--verify-registrations'], () => undefined],
    ['gated', SYNC, (emu) => emu.injectFaults('keys.sync', [{ status: 409, body: { resources: [{ reasons: [{ code: 'REQ_TOO_EARLY_ERR', message: 'Sync cannot be performed until at least 2099-01-01T00:00:00Z' }] }] } }])],
    ['failed', SYNC, (emu) => emu.injectFaults('keys.sync', [{ status: 403 }])],
    ['retries exhausted', SYNC, (emu) => emu.injectFaults('keys.sync', [{ status: 503, times: 10 }])],
    ['registrations', ['registrations', '--instance-id', KP_INSTANCE], () => undefined],
    ['usage error', [...SYNC, '--max-wait', 'x'], () => undefined],
    ['help', ['--help'], () => undefined],
  ])('%s: cwd, HOME and TMPDIR stay empty', async (_n, args, arm) => {
    const emu = await startCanary();
    const home = emptyDir('key-sync-home-');
    const tmp = emptyDir('key-sync-tmp-');
    const cwd = emptyDir('key-sync-cwd-');
    try {
      arm(emu);
      const r = await runCli(args, env('apikey', { kms: emu.url, iam: emu.url }, { HOME: home, TMPDIR: tmp, XDG_CACHE_HOME: path.join(home, '.cache') }), { cwd });
      expect(r.code).not.toBeNull();
      expect([...entriesUnder(home), ...entriesUnder(tmp), ...entriesUnder(cwd)]).toEqual([]);
      expect(runLeaks(r, emu)).toEqual([]);
    } finally {
      await emu.close();
    }
  });
});

describe('in-process client: no credential in results, messages or stacks', () => {
  /** A dispatcher that throws errors carrying everything it was given (headers, body). */
  function hostileDispatcher(kind: 'plain' | 'coded' | 'non-error'): Dispatcher {
    return {
      request: async (opts: Dispatcher.RequestOptions) => {
        const everything = `${JSON.stringify(opts.headers)} ${String(opts.body)}`;
        if (kind === 'non-error') throw everything; // eslint-disable-line @typescript-eslint/only-throw-error
        const e = new Error(`socket failed while sending ${everything}`) as Error & { code?: string; cause?: unknown };
        if (kind === 'coded') {
          e.code = 'UND_ERR_SOCKET';
          e.cause = Object.assign(new Error(`ECONNRESET ${everything}`), { code: 'ECONNRESET' });
        }
        throw e;
      },
      destroy: async () => undefined,
      close: async () => undefined,
    } as unknown as Dispatcher;
  }

  test.each<['apikey' | 'token', 'plain' | 'coded' | 'non-error']>([
    ['apikey', 'plain'], ['apikey', 'coded'], ['apikey', 'non-error'], ['token', 'plain'], ['token', 'coded'], ['token', 'non-error'],
  ])('%s, dispatcher throws %s errors', async (creds, kind) => {
    const client = new KmsClient({
      baseUrl: 'https://us-south.kms.cloud.ibm.com',
      credentials: creds === 'apikey'
        ? { kind: 'api-key', apiKey: CANARY_KEY, iamBaseUrl: 'https://iam.cloud.ibm.com', envName: 'IBMCLOUD_API_KEY' }
        : { kind: 'token', token: CANARY_TOKEN, envName: 'IBMCLOUD_IAM_TOKEN' },
      dispatcher: hostileDispatcher(kind),
      sleep: async () => undefined,
    });
    let thrown: unknown;
    const results: unknown[] = [];
    const progress: unknown[] = [];
    try {
      results.push(await client.sync(KP_KEY, { instanceId: KP_INSTANCE, maxWaitSeconds: 0, onProgress: (e) => progress.push(e) }));
      results.push(await client.listRegistrations({ instanceId: KP_INSTANCE, onProgress: (e) => progress.push(e) }));
    } catch (e) {
      thrown = e;
    }
    const texts: Record<string, string> = { results: JSON.stringify(results), progress: JSON.stringify(progress) };
    if (thrown !== undefined) texts['thrown'] = `${String(thrown)} ${(thrown as Error).stack ?? ''}`;
    expect(leaks(texts)).toEqual([]);
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({ outcome: 'failed', retryLater: true });
  });

  test('constructor errors (bad endpoints) carry no credential', () => {
    const errs: string[] = [];
    for (const baseUrl of ['http://kms.example.com', 'ftp://x', 'not a url', `https://kms.example.com/?k=1`]) {
      try {
        new KmsClient({ baseUrl, credentials: { kind: 'api-key', apiKey: CANARY_KEY, iamBaseUrl: 'http://iam.example.com', envName: 'IBMCLOUD_API_KEY' } });
      } catch (e) {
        errs.push(`${(e as Error).message}\n${(e as Error).stack ?? ''}`);
      }
    }
    expect(errs).toHaveLength(4);
    expect(leaks({ errors: errs.join('\n') })).toEqual([]);
  });
});

test('the canary values are what the brief asks for', () => {
  expect(CANARY_KEY).toMatch(/^CANARY-apikey-[0-9a-f]{24}$/);
  expect(CANARY_TOKEN).toMatch(/^CANARY-token-[0-9a-f]{24}$/);
});
