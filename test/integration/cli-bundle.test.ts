/**
 * The shipped bundle (dist/key-sync.cjs) itself: what a one-key sync loads, that this
 * Node accepts the embedded V8 code cache, and that the bundle's stand-ins for Node
 * modules (scripts/bundle-cli.js) behave as the real ones do. These guard the start-up
 * figures (bench/README.md) against a dependency upgrade that quietly undoes them.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, KP_INSTANCE, KP_KEY, cliEnv, runProcess, startCanaryEmulator } from '../helpers/cli';
import type { RunningEmulator } from '../../src/emulator/server';

/** `node ...args`: the bundle run with Node flags of the test's choosing. */
const node = (args: readonly string[], env: Record<string, string>): ReturnType<typeof runProcess> => runProcess(process.execPath, args, env);

let emu: RunningEmulator;
let tmp: string;
beforeAll(async () => {
  emu = await startCanaryEmulator();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ks-bundle-'));
});
afterAll(async () => {
  await emu.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const SYNC = ['sync', '--instance-id', KP_INSTANCE, '--key-id', KP_KEY];

test('a one-key sync loads neither node:http, node:assert, node:http2 nor node:tls', async () => {
  const list = path.join(tmp, 'modules.txt');
  const preload = path.join(tmp, 'record-modules.js');
  fs.writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`);
  const r = await node(['-r', preload, CLI, ...SYNC], cliEnv(emu));
  expect(r.stdout).toContain('synced key');
  expect(r.code).toBe(0);
  const loaded = new Set(fs.readFileSync(list, 'utf8').split('\n'));
  expect(loaded.has('NativeModule net')).toBe(true); // the recording works: undici's transport is there
  for (const m of ['http', 'assert', 'http2', 'tls', '_http_client']) expect({ m, loaded: loaded.has(`NativeModule ${m}`) }).toEqual({ m, loaded: false });
});

test('this Node accepts the code cache embedded in the bundle (else every run compiles from source)', async () => {
  // Reads program and cache back exactly as the bundle's loader does, under the same V8 flag.
  const probe = `
    const vm = require('node:vm');
    const src = require('node:fs').readFileSync(${JSON.stringify(CLI)}, 'utf8');
    const body = (name) => { const at = src.indexOf('function ' + name + '() {/*'); return src.slice(src.indexOf('/*', at) + 2, src.indexOf('*/}', at)); };
    const program = body('PROGRAM').split('*@key-sync@/').join('*/');
    const cache = Buffer.from(body('CODE_CACHE'), 'base64');
    const s = new vm.Script(program, { filename: ${JSON.stringify(CLI)}, cachedData: cache });
    console.log(JSON.stringify({ bytes: cache.length, rejected: s.cachedDataRejected }));
  `;
  const r = await node(['--liftoff-only', '-e', probe], { PATH: process.env['PATH'] ?? '' });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout) as { bytes: number; rejected: boolean };
  expect(out.bytes).toBeGreaterThan(10_000);
  expect(out.rejected).toBe(false);
});

test('the bundle holds no comment end inside its program and no JWT-looking run in its cache', () => {
  const src = fs.readFileSync(CLI, 'utf8');
  // Loader, then exactly two never-called functions carrying program and cache.
  expect(src.split('*/}').length - 1).toBe(2);
  expect(src).not.toMatch(/eyJ[A-Za-z0-9+/]{8,}/);
});

describe('max header size: Node default without the flag, the flag honoured with it', () => {
  let server: http.Server;
  let url: string;
  let tokenRequests = 0;
  let syncRequests = 0;
  /** Which answer carries a 20 KB header (over Node's 16 KB default). */
  let big: 'token' | 'sync' = 'token';
  beforeEach(() => {
    tokenRequests = 0;
    syncRequests = 0;
    big = 'token';
  });
  beforeAll(async () => {
    // IAM and key service stand-in.
    const padding = { 'x-padding': 'p'.repeat(20_000) };
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/identity/token') {
          tokenRequests++;
          res.writeHead(200, { 'content-type': 'application/json', ...(big === 'token' ? padding : {}) });
          res.end(JSON.stringify({ access_token: 'opaque-test-token', token_type: 'Bearer', expires_in: 3600 }));
        } else {
          syncRequests++;
          res.writeHead(204, { 'correlation-id': String(req.headers['correlation-id'] ?? ''), ...(big === 'sync' ? padding : {}) });
          res.end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test.each([
    ['no flag (16 KB)', {}, [], false],
    ['NODE_OPTIONS=--max-http-header-size=65536', { NODE_OPTIONS: '--max-http-header-size=65536' }, [], true],
    ['NODE_OPTIONS=--max_http_header_size=65536 (underscores, as Node accepts)', { NODE_OPTIONS: '--max_http_header_size=65536' }, [], true],
    ['node --max-http-header-size 65536 (on the command line)', {}, ['--max-http-header-size', '65536'], true],
  ] as const)('%s', async (_name, extra, nodeFlags, accepted) => {
    const env = cliEnv({ url }, { ...extra });
    const r = await node([...nodeFlags, CLI, ...SYNC, '--max-wait', '1'], env);
    if (accepted) {
      expect(r.stdout).toContain('synced key');
      expect(r.code).toBe(0);
    } else {
      // Not retried (the same answer would overflow again): one request, exit 1, the fix named.
      expect(r.stdout).not.toContain('synced key');
      expect(r.stdout + r.stderr).toContain('UND_ERR_HEADERS_OVERFLOW');
      expect(r.stdout + r.stderr).toContain('NODE_OPTIONS=--max-http-header-size');
      expect(tokenRequests).toBe(1);
      expect(r.code).toBe(1);
    }
  });

  test('an over-long answer to the sync itself: one request, exit 1, and it may have been accepted', async () => {
    big = 'sync';
    const r = await node([CLI, ...SYNC, '--max-wait', '1', '--json'], cliEnv({ url }));
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ outcome: 'failed', code: 'KS_BAD_RESPONSE' });
    // The service answered, so it may have acted: never "not synced".
    expect(out['message']).toMatch(/UND_ERR_HEADERS_OVERFLOW.*the sync may or may not have been accepted/);
    expect(out['message']).not.toMatch(/not synced/);
    expect(syncRequests).toBe(1);
    expect(r.code).toBe(1);
  });
});
