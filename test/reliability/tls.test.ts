/**
 * TLS for real: the CLI against an https server on 127.0.0.1 with a certificate made for
 * this run. Verification is on by default (a self-signed certificate is refused at once,
 * not retried, and the message names the fix), the named fix works (NODE_EXTRA_CA_CERTS),
 * and `https://` to a port that speaks plain HTTP fails at once with its own message.
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

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ks-tls-'));
const certFile = path.join(tmp, 'cert.pem');
const keyFile = path.join(tmp, 'key.pem');
/** Makes a self-signed certificate for IP 127.0.0.1; the reason when it cannot. */
function makeCertificate(): string | undefined {
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile,
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `openssl could not make a test certificate (${(e as Error).message.split('\n')[0]})`;
  }
}
const noCert = makeCertificate();
if (noCert !== undefined) console.warn(`TLS tests SKIPPED: ${noCert}. Install openssl to run them.`);
const maybe = noCert === undefined ? describe : describe.skip;

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SYNC = ['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY];

maybe('TLS against an https server with a self-signed certificate', () => {
  let server: https.Server;
  let url: string;
  let handshakes = 0;
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
    server.on('tlsClientError', () => handshakes++);
    server.on('secureConnection', () => handshakes++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    handshakes = 0;
    requests = [];
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('by default the certificate is refused at once: exit 1, KS_TLS, one handshake, the fix named', async () => {
    const r = await runCli([...SYNC, '--json'], cliEnv({ url }));
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { outcome: string; code: string; message: string };
    expect(out).toMatchObject({ outcome: 'failed', code: 'KS_TLS' });
    expect(out.message).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(out.message).toContain('NODE_EXTRA_CA_CERTS');
    expect(handshakes).toBe(1);
    expect(requests).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(CANARY_API_KEY);
  });

  test('trusting the certificate with NODE_EXTRA_CA_CERTS (the named fix) syncs', async () => {
    const r = await runCli(SYNC, cliEnv({ url }, { NODE_EXTRA_CA_CERTS: certFile }));
    expect(r.stdout).toContain('synced key');
    expect(r.code).toBe(0);
    expect(requests).toEqual(['POST /identity/token', `POST /api/v2/keys/${KP_KEY}/actions/sync`]);
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
    expect(out.message).toMatch(/did not answer in TLS \(ERR_SSL_WRONG_VERSION_NUMBER\)/);
    expect(emu.log()).toEqual([]);
  });
});
