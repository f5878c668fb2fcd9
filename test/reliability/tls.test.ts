/**
 * TLS for real: the CLI against an https server on 127.0.0.1 with a certificate made for
 * this run. Verification is on by default (a self-signed certificate is refused at once,
 * not retried, and the message names the fix), the named fix works (NODE_EXTRA_CA_CERTS),
 * the message fits the cause (unknown CA, wrong host, a CA file already set that lacks
 * the signer), and `https://` to a port that speaks plain HTTP fails at once with its own
 * message.
 * Needs `openssl` to make the certificate; without it the file skips and says so.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CANARY_API_KEY, KP_INSTANCE, KP_KEY, cliEnv, runCli, startCanaryEmulator } from '../helpers/cli';
import type { RunningEmulator } from '../../src/emulator/server';
import { skipUnless } from '../helpers/skip';
import { DEFAULT_CONCURRENCY } from '../../src/cli/parse-command';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ks-tls-'));
const certFile = path.join(tmp, 'cert.pem');
const keyFile = path.join(tmp, 'key.pem');
/** A second self-signed certificate, for another host name. */
const otherCertFile = path.join(tmp, 'other-cert.pem');
const otherKeyFile = path.join(tmp, 'other-key.pem');
/** Makes the self-signed certificates (127.0.0.1, and other.example); the reason when it cannot. */
function makeCertificate(): string | undefined {
  try {
    for (const [key, cert, name, san] of [[keyFile, certFile, '127.0.0.1', 'IP:127.0.0.1'], [otherKeyFile, otherCertFile, 'other.example', 'DNS:other.example']] as const) {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
        '-days', '1', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`], { stdio: 'pipe' });
    }
    return undefined;
  } catch (e) {
    return `openssl could not make a test certificate (${(e as Error).message.split('\n')[0]})`;
  }
}
const noCert = makeCertificate();
const maybe = skipUnless(noCert === undefined, 'TLS tests', `${noCert ?? ''}. Install openssl to run them`).describe;

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SYNC = ['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY];

maybe('TLS against an https server with a self-signed certificate', () => {
  let server: https.Server;
  let url: string;
  let connections = 0;
  let requests: string[] = [];
  beforeAll(async () => {
    server = https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, (req, res) => {
      requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
      req.resume();
      req.on('end', () => {
        if (req.url === '/identity/token') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ access_token: 'opaque-test-token', token_type: 'Bearer', expires_in: 3600 }));
        } else {
          res.writeHead(204);
          res.end();
        }
      });
    });
    // Counted at TCP accept: before the server sends its certificate, so before the client
    // can refuse it (a handshake event could still be on its way when the CLI exits).
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    connections = 0;
    requests = [];
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('by default the certificate is refused at once: exit 1, KS_TLS, one connection, the fix named', async () => {
    const r = await runCli([...SYNC, '--json'], cliEnv({ url }));
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { outcome: string; code: string; message: string };
    expect(out).toMatchObject({ outcome: 'failed', code: 'KS_TLS' });
    expect(out.message).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(out.message).not.toContain('REDACTED');
    expect(out.message).toContain('NODE_EXTRA_CA_CERTS');
    expect(connections).toBe(1);
    expect(requests).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(CANARY_API_KEY);
  });

  test('a fleet meets the refused certificate once, not once per key', async () => {
    const keys = ['key-a', 'key-b', 'key-c', 'key-d', 'key-e', 'key-f', 'key-g', 'key-h', 'key-i', 'key-j'];
    const r = await runCli(['sync', '--instance-id', KP_INSTANCE, ...keys.flatMap((k) => ['--key-id', k])], cliEnv({ url }));
    expect(r.code).toBe(1);
    // The first request is IAM's (the same server here); every key reports it, unredacted.
    expect(r.stdout.match(/KS_TLS: the IAM token exchange failed: the TLS certificate of https:\/\/127\.0\.0\.1:\d+ was not accepted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/g)).toHaveLength(keys.length);
    expect(r.stdout).not.toContain('REDACTED');
    expect(connections).toBe(1);
  });

  test('the same with a static token: the key service endpoint is refused by the first wave only, not once per key', async () => {
    const keys = Array.from({ length: 24 }, (_, i) => `key-${String(i).padStart(2, '0')}`);
    const env = cliEnv({ url }, { IBMCLOUD_API_KEY: '', IBMCLOUD_IAM_TOKEN: 'opaque-static-test-token-0123456789' });
    const r = await runCli(['sync', '--instance-id', KP_INSTANCE, ...keys.flatMap((k) => ['--key-id', k])], env);
    expect(r.code).toBe(1);
    expect(r.stdout.match(/KS_TLS: the TLS certificate of https:\/\/127\.0\.0\.1:\d+ was not accepted \(DEPTH_ZERO_SELF_SIGNED_CERT\).*; not synced/g)).toHaveLength(keys.length);
    // The first wave (--concurrency, 8) is in flight together; the keys after it are told
    // from memory (without it: 24 connections).
    expect(connections).toBeGreaterThanOrEqual(1);
    expect(connections).toBeLessThanOrEqual(DEFAULT_CONCURRENCY);
    expect(r.stdout.match(/not asked again for 5 minutes/g)?.length ?? 0).toBeGreaterThanOrEqual(keys.length - DEFAULT_CONCURRENCY);
  });

  test('trusting the certificate with NODE_EXTRA_CA_CERTS (the named fix) syncs', async () => {
    const r = await runCli(SYNC, cliEnv({ url }, { NODE_EXTRA_CA_CERTS: certFile }));
    expect(r.stdout).toContain('synced key');
    expect(r.code).toBe(0);
    expect(requests).toEqual(['POST /identity/token', `POST /api/v2/keys/${KP_KEY}/actions/sync`]);
  });
});

maybe('the message names the fix for the cause', () => {
  let server: https.Server;
  let requests = 0;
  beforeAll(async () => {
    // Serves the certificate made for other.example.
    server = https.createServer({ cert: fs.readFileSync(otherCertFile), key: fs.readFileSync(otherKeyFile) }, (_req, res) => {
      requests++;
      res.writeHead(500);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** A one-key sync trusting `caFile`: exit 1, KS_TLS, no request served; the message. */
  async function refusedMessage(caFile: string): Promise<string> {
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const r = await runCli([...SYNC, '--json'], cliEnv({ url }, { NODE_EXTRA_CA_CERTS: caFile }));
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { code: string; message: string };
    expect(out.code).toBe('KS_TLS');
    expect(requests).toBe(0);
    return out.message;
  }

  test('a trusted certificate for another host: the host name, not the CA file', async () => {
    const message = await refusedMessage(otherCertFile);
    expect(message).toMatch(/\(ERR_TLS_CERT_ALTNAME_INVALID\); the certificate does not name this host/);
    expect(message).not.toContain('NODE_EXTRA_CA_CERTS');
  });

  test('NODE_EXTRA_CA_CERTS already set, to a file without the signer: says so rather than to set it', async () => {
    expect(await refusedMessage(certFile)).toMatch(/NODE_EXTRA_CA_CERTS is set, but the authority that signed this certificate is not in that file/);
  });
});

maybe('https:// to a port that speaks plain HTTP', () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startCanaryEmulator();
  });
  afterAll(() => emu.close());

  test('fails at once with exit 1 and says the endpoint did not answer in TLS', async () => {
    const url = emu.url.replace(/^http:/, 'https:');
    const r = await runCli([...SYNC, '--json'], cliEnv({ url }));
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { code: string; message: string };
    expect(out.code).toBe('KS_TLS');
    // OpenSSL names it by what it read: WRONG_VERSION_NUMBER, or PACKET_LENGTH_TOO_LONG (3.2+).
    expect(out.message).toMatch(/did not answer in TLS \(ERR_SSL_(WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG)\)/);
    expect(emu.log()).toEqual([]);
  });
});
