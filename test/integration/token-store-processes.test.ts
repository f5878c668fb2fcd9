/**
 * The token store across real processes, as Terraform runs them (several at once):
 * - processes starting together exchange the API key once, against a real HTTP IAM stand-in
 *   on 127.0.0.1 (port 0), and all use that one token;
 * - concurrent writers never let a reader see a partial entry, and leave a valid one;
 * - no file ever holds the (canary) API key.
 * The module is bundled with esbuild into a temp file the child processes require.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { entryId, openTokenStore } from '../../src/client/token-store';

const CANARY = 'CANARY-apikey-tokenstore-procs-9e8d7c6b5a4f3e2d1c0b';
let work: string;
let bundle: string;

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

function node(script: string, args: readonly string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [script, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

function script(name: string, body: string): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, `'use strict';\nconst ts = require(${JSON.stringify(bundle)});\n${body}\n`);
  return file;
}

/** Every file under `dir`, names and bytes. */
function everything(dir: string): string {
  return fs.readdirSync(dir).map((n) => `${n}\n${fs.readFileSync(path.join(dir, n), 'utf8')}`).join('\n');
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ks-token-store-procs-'));
  bundle = path.join(work, 'token-store.cjs');
  buildSync({ entryPoints: [path.resolve(__dirname, '../../src/client/token-store.ts')], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile: bundle, logLevel: 'warning' });
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

test('eight processes started together: one IAM exchange over HTTP, one token for all', async () => {
  let exchanges = 0;
  const bodies: string[] = [];
  const iam = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      exchanges++;
      bodies.push(body);
      // IAM is slow: the others must wait for this answer, not send their own.
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ access_token: `token-${exchanges}`, token_type: 'Bearer', expires_in: 3600, expiration: Math.floor(Date.now() / 1000) + 3600 }));
      }, 150);
    });
  });
  await new Promise<void>((r) => iam.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(iam.address() as AddressInfo).port}`;
  const runtime = fs.mkdtempSync(path.join(work, 'xdg-'));
  try {
    const child = script('exchange.js', `
const env = process.env;
const store = ts.openTokenStore(env);
if (store.disabled) { console.error(store.disabled); process.exit(3); }
const exchange = () => fetch(env.IAM + '/identity/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=' + encodeURIComponent(env.IBMCLOUD_API_KEY) })
  .then((r) => r.json()).then((j) => ({ accessToken: j.access_token, expiresAt: Date.now() + j.expires_in * 1000 }));
ts.sharedToken(store, env.IBMCLOUD_API_KEY, env.IAM, exchange, { now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) })
  .then((r) => console.log(JSON.stringify({ source: r.source, token: r.token.accessToken })));
`);
    const env = { XDG_RUNTIME_DIR: runtime, IAM: url, IBMCLOUD_API_KEY: CANARY };
    const runs = await Promise.all(Array.from({ length: 8 }, () => node(child, [], env)));
    for (const r of runs) expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
    const results = runs.map((r) => JSON.parse(r.out) as { source: string; token: string });
    expect(exchanges).toBe(1);
    expect(bodies[0]).toContain(encodeURIComponent(CANARY));
    expect(new Set(results.map((r) => r.token))).toEqual(new Set(['token-1']));
    expect(results.filter((r) => r.source === 'exchange')).toHaveLength(1);
    // A process started later finds the entry.
    const later = JSON.parse((await node(child, [], env)).out) as { source: string };
    expect(later.source).toBe('store');
    expect(exchanges).toBe(1);
    const dir = path.join(runtime, 'key-sync');
    expect(fs.readdirSync(dir)).toEqual([`${entryId(CANARY, url)}.token`]);
    expect(everything(dir)).not.toContain(CANARY);
  } finally {
    await new Promise((r) => iam.close(r));
  }
});

test('concurrent writers and a reader: never a partial entry, a valid one at the end, no temp file left', async () => {
  const runtime = fs.mkdtempSync(path.join(work, 'xdg-'));
  const IAM = 'https://iam.cloud.ibm.com';
  // Long tokens make a torn write likelier to be seen if writes were not atomic.
  const writer = script('writer.js', `
const [who, count] = process.argv.slice(2);
const store = ts.openTokenStore(process.env);
let ok = 0;
for (let i = 0; i < Number(count); i++) {
  if (store.put(process.env.IBMCLOUD_API_KEY, ${JSON.stringify(IAM)}, { accessToken: 'w' + who + '-' + i + '-' + 'x'.repeat(4000), expiresAt: Date.now() + 3600e3 }, Date.now())) ok++;
}
console.log(ok);
`);
  const reader = script('reader.js', `
const store = ts.openTokenStore(process.env);
const until = Date.now() + Number(process.argv[2]);
const seen = { found: 0, missing: 0, ignored: 0, reasons: [] };
while (Date.now() < until) {
  const r = store.peek(process.env.IBMCLOUD_API_KEY, ${JSON.stringify(IAM)});
  seen[r.state]++;
  if (r.state === 'ignored') seen.reasons.push(r.reason);
  if (r.state === 'found' && !/^w\\d-\\d+-x{4000}$/.test(r.token.accessToken)) { seen.ignored++; seen.reasons.push('torn token'); }
}
console.log(JSON.stringify(seen));
`);
  const env = { XDG_RUNTIME_DIR: runtime, IBMCLOUD_API_KEY: CANARY };
  const [read, ...writes] = await Promise.all([
    node(reader, ['1000'], env),
    ...[1, 2, 3, 4].map((w) => node(writer, [String(w), '1000'], env)),
  ]);
  for (const w of writes) expect({ code: w.code, err: w.err, stored: Number(w.out) }).toEqual({ code: 0, err: '', stored: 1000 });
  expect(read.code).toBe(0);
  const seen = JSON.parse(read.out) as { found: number; missing: number; ignored: number; reasons: string[] };
  expect({ ignored: seen.ignored, reasons: seen.reasons.slice(0, 3) }).toEqual({ ignored: 0, reasons: [] });
  expect(seen.found).toBeGreaterThan(0);
  const dir = path.join(runtime, 'key-sync');
  expect(fs.readdirSync(dir)).toEqual([`${entryId(CANARY, IAM)}.token`]);
  expect(fs.lstatSync(path.join(dir, `${entryId(CANARY, IAM)}.token`)).mode & 0o777).toBe(0o600);
  const last = openTokenStore({ XDG_RUNTIME_DIR: runtime }).get(CANARY, IAM, Date.now());
  expect(last?.accessToken).toMatch(/^w[1-4]-999-x{4000}$/);
  expect(everything(dir)).not.toContain(CANARY);
});
