#!/usr/bin/env node
'use strict';
/**
 * `npm run bench [-- --quick]`: the figures of issue 6, each a ratio against a baseline
 * measured in the same run (interleaved A/B, warm-ups first, medians), wall time from this
 * process and peak RSS / CPU from the OS (`/usr/bin/time -f`, when present).
 *
 *   1. start-up: `key-sync sync` (one key, 204 from the emulator) vs `node -e 0`  (<= 1.5x, RSS <= 60 MiB)
 *   2. synth: 1000 keys x 3 associations + KeySync vs plain provider-null stack (<= 1.3x)
 *      and 4000 keys vs 1000 keys (<= 4.6x)
 *   3. fleet: 1000 keys in one `--keys-file` run vs sequential single-key runs   (>= 20x)
 *
 * Prints a table, writes bench/results.json. --quick runs fewer repetitions (under a
 * minute) and exits non-zero only on a gross regression (2x past a target); the full run
 * exits non-zero when any target is missed.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const CLI = path.join(root, 'dist', 'key-sync.cjs');
const TSX = require('node:url').pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const quick = process.argv.includes('--quick');
/** `--only startup|synth|fleet` (repeatable) runs just those parts, e.g. while working on one. */
const onlyParts = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--only' ? [a] : []));
const PARTS = ['startup', 'synth', 'fleet'];
for (const p of onlyParts) {
  if (!PARTS.includes(p)) {
    console.error(`bench: --only ${JSON.stringify(p)} is not a part; use one of ${PARTS.join(', ')} (repeatable)`);
    process.exit(2);
  }
}
if (process.argv.at(-1) === '--only') {
  console.error(`bench: --only needs a part: ${PARTS.join(', ')}`);
  process.exit(2);
}
const only = (part) => onlyParts.length === 0 || onlyParts.includes(part);
const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const CURL = ['/usr/bin/curl', '/bin/curl'].find((p) => fs.existsSync(p));
const INSTANCE = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const API_KEY = 'ks-emulator-demo-key';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const keyId = (i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** Runs argv; wall ms from here, peak RSS (MiB) and CPU ms from /usr/bin/time. */
function measure(argv, env, { stdout = 'ignore' } = {}) {
  return new Promise((resolve, reject) => {
    const full = TIME === undefined ? argv : [TIME, '-f', 'KSBENCH %M %U %S', ...argv];
    const t0 = process.hrtime.bigint();
    const c = spawn(full[0], full.slice(1), { env, stdio: ['ignore', stdout === 'ignore' ? 'ignore' : 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    c.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    c.stdout?.setEncoding('utf8').on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const m = /KSBENCH (\d+) ([\d.]+) ([\d.]+)/.exec(err);
      resolve({ ms, code, out, err: err.replace(/KSBENCH.*\n?/, ''), rssMiB: m ? Number(m[1]) / 1024 : undefined, cpuMs: m ? (Number(m[2]) + Number(m[3])) * 1000 : undefined });
    });
  });
}

/** Interleaved runs of named commands: warm-ups, then `runs` rounds in rotating order. */
async function interleaved(variants, { warmups, runs }) {
  const res = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const names = Object.keys(variants);
  for (let i = 0; i < warmups + runs; i++) {
    const order = names.map((_, j) => names[(i + j) % names.length]);
    for (const k of order) {
      const r = await variants[k]();
      if (r.code !== 0 && !variants[k].allowFail) throw new Error(`${k} exited ${r.code}: ${r.err.slice(0, 400)}`);
      if (i >= warmups) res[k].push(r);
    }
  }
  return Object.fromEntries(Object.entries(res).map(([k, rs]) => [k, {
    runs: rs.length,
    medianMs: median(rs.map((r) => r.ms)),
    ...(rs[0]?.rssMiB === undefined ? {} : { medianRssMiB: median(rs.map((r) => r.rssMiB)), maxRssMiB: Math.max(...rs.map((r) => r.rssMiB)), medianCpuMs: median(rs.map((r) => r.cpuMs)) }),
    raw: rs,
  }]));
}

/** Starts `key-sync emulator` (gate 0: every sync answers 204) with an optional seed. */
async function startEmulator(seedKeys) {
  const args = [CLI, 'emulator', '--port', '0', '--gate-seconds', '0'];
  let seedFile;
  if (seedKeys !== undefined) {
    seedFile = path.join(os.tmpdir(), `ks-bench-seed-${process.pid}.json`);
    fs.writeFileSync(seedFile, JSON.stringify({
      instances: [{ id: INSTANCE, kind: 'key-protect', region: 'us-south' }],
      keys: Array.from({ length: seedKeys }, (_, i) => ({ id: keyId(i), instanceId: INSTANCE, name: `bench-${i}` })),
      apiKeys: [API_KEY],
    }));
    args.push('--seed', seedFile);
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (m) resolve(m[0]);
    });
    child.on('exit', (c) => reject(new Error(`emulator exited ${c}`)));
  });
  child.stdout.resume();
  return { url, close: () => { child.kill(); if (seedFile) fs.rmSync(seedFile, { force: true }); } };
}

const cliEnv = (url) => ({ PATH: process.env.PATH ?? '', IBMCLOUD_API_KEY: API_KEY, IBMCLOUD_IAM_API_ENDPOINT: url, IBMCLOUD_KP_API_ENDPOINT: url });

const figures = [];
function figure(name, value, unit, baseline, target, cmp, note) {
  const pass = cmp === '<=' ? value <= target : value >= target;
  // Gross regression: 2x past the target.
  const gross = cmp === '<=' ? value > 2 * target : value < target / 2;
  figures.push({ name, value, unit, baseline, target: `${cmp} ${target}`, pass, gross, note });
}

/**
 * Two reference programs for the start-up row, each one POST of the token request: the
 * smallest program that can use undici (only Agent + request, bundled by esbuild, Liftoff
 * only as the CLI sets it), and the same with node:http. They show the floor that any
 * undici-based CLI starts from on this machine, next to our CLI's two requests.
 */
function referencePosts(dir) {
  const esbuild = require('esbuild');
  const body = `grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=${API_KEY}`;
  const undiciSrc = `require('node:v8').setFlagsFromString('--liftoff-only');
const Agent = require('undici/lib/dispatcher/agent');
const Dispatcher = require('undici/lib/dispatcher/dispatcher');
Dispatcher.prototype.request = require('undici/lib/api/api-request');
const a = new Agent();
a.request({ origin: process.argv[2], path: '/identity/token', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: ${JSON.stringify(body)} })
  .then(async (r) => { await r.body.text(); process.exitCode = r.statusCode === 200 ? 0 : 1; await a.close(); });
`;
  const httpSrc = `const body = ${JSON.stringify(body)};
require('node:http').request(process.argv[2] + '/identity/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length } },
  (res) => { res.resume(); res.on('end', () => { process.exitCode = res.statusCode === 200 ? 0 : 1; }); }).end(body);
`;
  const undiciFile = path.join(dir, 'undici-post.js');
  esbuild.buildSync({ stdin: { contents: undiciSrc, resolveDir: root, loader: 'js' }, bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, outfile: undiciFile, logLevel: 'warning' });
  const httpFile = path.join(dir, 'http-post.js');
  fs.writeFileSync(httpFile, httpSrc);
  return { undiciFile, httpFile };
}

async function startup() {
  const emu = await startEmulator();
  const refDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ks-bench-ref-'));
  try {
    const ref = referencePosts(refDir);
    const env = cliEnv(emu.url);
    const sync = ['sync', '--instance-id', INSTANCE, '--key-id', '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84'];
    const variants = {
      'node -e 0': () => measure([process.execPath, '-e', '0'], env),
      'key-sync sync': () => measure([process.execPath, CLI, ...sync], env),
      'key-sync sync (no code cache)': () => measure([process.execPath, CLI, ...sync], { ...env, KEY_SYNC_NO_CODE_CACHE: '1' }),
      'key-sync --version': () => measure([process.execPath, CLI, '--version'], env),
    };
    variants['ref: bundled undici, 1 POST'] = () => measure([process.execPath, ref.undiciFile, emu.url], env);
    variants['ref: node:http, 1 POST'] = () => measure([process.execPath, ref.httpFile, emu.url], env);
    if (CURL !== undefined) variants['curl POST token'] = () => measure([CURL, '-s', '-o', '/dev/null', '-X', 'POST', '-d', `grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=${API_KEY}`, `${emu.url}/identity/token`], env);
    const r = await interleaved(variants, { warmups: 3, runs: quick ? 10 : 25 });
    const base = r['node -e 0'].medianMs;
    const s = r['key-sync sync'];
    figure('start-up: sync (204) / node -e 0', s.medianMs / base, 'x', `node -e 0 ${base.toFixed(0)} ms; sync ${s.medianMs.toFixed(0)} ms (${s.runs} interleaved runs)`, 1.5, '<=');
    if (s.maxRssMiB !== undefined) figure('start-up: sync peak RSS (max of runs)', s.maxRssMiB, 'MiB', `node -e 0 ${r['node -e 0'].medianRssMiB.toFixed(1)} MiB`, 60, '<=');
    const info = {};
    for (const [k, v] of Object.entries(r)) info[k] = { medianMs: v.medianMs, ratio: v.medianMs / base, medianRssMiB: v.medianRssMiB, medianCpuMs: v.medianCpuMs };
    return info;
  } finally {
    emu.close();
    fs.rmSync(refDir, { recursive: true, force: true });
  }
}

async function synth() {
  const run = (kind, n) => async () => {
    const r = await measure([process.execPath, '--import', TSX, path.join(__dirname, 'synth-stack.ts'), kind, String(n)], process.env, { stdout: 'pipe' });
    if (r.code === 0) r.inProcessMs = JSON.parse(r.out.trim().split('\n').pop()).synthMs;
    return r;
  };
  const runs = quick ? 2 : 5;
  const r = await interleaved({ baseline1000: run('baseline', 1000), keysync1000: run('keysync', 1000), keysync4000: run('keysync', 4000) }, { warmups: 1, runs });
  const inproc = (k) => median(r[k].raw.map((x) => x.inProcessMs));
  const b = r.baseline1000.medianMs;
  const k1 = r.keysync1000.medianMs;
  const k4 = r.keysync4000.medianMs;
  figure('synth 1000 keys / provider-null baseline (process wall)', k1 / b, 'x', `baseline ${b.toFixed(0)} ms, key-sync ${k1.toFixed(0)} ms (${runs} interleaved runs, tsx child processes)`, 1.3, '<=');
  figure('synth 4000 keys / 1000 keys (process wall)', k4 / k1, 'x', `4000 keys ${k4.toFixed(0)} ms`, 4.6, '<=');
  const info = {
    processWallMs: { baseline1000: b, keysync1000: k1, keysync4000: k4 },
    inProcessSynthMs: { baseline1000: inproc('baseline1000'), keysync1000: inproc('keysync1000'), keysync4000: inproc('keysync4000') },
    peakRssMiB: { baseline1000: r.baseline1000.medianRssMiB, keysync1000: r.keysync1000.medianRssMiB, keysync4000: r.keysync4000.medianRssMiB },
  };
  info.inProcessRatio1000 = info.inProcessSynthMs.keysync1000 / info.inProcessSynthMs.baseline1000;
  info.inProcessRatio4000 = info.inProcessSynthMs.keysync4000 / info.inProcessSynthMs.keysync1000;
  return info;
}

async function fleet() {
  const N = 1000;
  const SEQ = quick ? 20 : 60;
  const emu = await startEmulator(N);
  const file = path.join(os.tmpdir(), `ks-bench-keys-${process.pid}.txt`);
  try {
    const env = cliEnv(emu.url);
    fs.writeFileSync(file, `${Array.from({ length: N }, (_, i) => keyId(i)).join('\n')}\n`);
    // Sequential single-key runs (the status quo: one process per key), SEQ of them, scaled.
    let seqMs = 0;
    await measure([process.execPath, CLI, 'sync', '--instance-id', INSTANCE, '--key-id', keyId(0)], env); // warm-up
    for (let i = 0; i < SEQ; i++) {
      const r = await measure([process.execPath, CLI, 'sync', '--instance-id', INSTANCE, '--key-id', keyId(i)], env);
      if (r.code !== 0) throw new Error(`single-key run exited ${r.code}: ${r.err}`);
      seqMs += r.ms;
    }
    const perKeySeq = seqMs / SEQ;
    const fleetRuns = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      const r = await measure([process.execPath, CLI, 'sync', '--instance-id', INSTANCE, '--keys-file', file, '--json'], env, { stdout: 'pipe' });
      if (r.code !== 0) throw new Error(`fleet run exited ${r.code}: ${r.err.slice(0, 400)}`);
      const j = JSON.parse(r.out);
      if (j.counts.synced !== N) throw new Error(`fleet run synced ${j.counts.synced} of ${N}`);
      fleetRuns.push(r);
    }
    const fleetMs = median(fleetRuns.map((r) => r.ms));
    const ratio = (perKeySeq * N) / fleetMs;
    figure('fleet: 1000 keys, throughput vs sequential single-key runs', ratio, 'x', `sequential ${perKeySeq.toFixed(0)} ms/key (${SEQ} runs, scaled to ${N}: ${(perKeySeq * N / 1000).toFixed(1)} s); fleet ${(fleetMs / 1000).toFixed(2)} s for ${N} keys (--concurrency 8, median of ${fleetRuns.length})`, 20, '>=');
    return { keys: N, sequentialRuns: SEQ, perKeySequentialMs: perKeySeq, fleetMs, fleetPeakRssMiB: fleetRuns[0].rssMiB, keysPerSecond: N / (fleetMs / 1000) };
  } finally {
    emu.close();
    fs.rmSync(file, { force: true });
  }
}

async function main() {
  if (!fs.existsSync(CLI)) throw new Error('dist/key-sync.cjs is missing: run `npm run build:cli` first');
  const started = Date.now();
  const details = { startup: only('startup') ? await startup() : {}, synth: only('synth') ? await synth() : undefined, fleet: only('fleet') ? await fleet() : undefined };
  const rows = figures.map((f) => [f.name, `${f.value.toFixed(2)} ${f.unit}`, f.target, f.pass ? 'PASS' : (f.gross ? 'FAIL (gross)' : 'FAIL'), f.baseline]);
  const head = ['figure', 'value', 'target', 'result', 'baseline (same run)'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ');
  console.log(`\nkey-sync bench (${quick ? 'quick' : 'full'}), node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}`);
  console.log(fmt(head));
  for (const r of rows) console.log(fmt(r));
  console.log('\nstart-up detail (median wall / ratio to node -e 0 / RSS / CPU):');
  for (const [k, v] of Object.entries(details.startup)) console.log(`  ${k.padEnd(32)} ${v.medianMs.toFixed(1).padStart(7)} ms  ${v.ratio.toFixed(2)}x  ${v.medianRssMiB?.toFixed(1) ?? '?'} MiB  cpu ${v.medianCpuMs?.toFixed(0) ?? '?'} ms`);
  const s = details.synth;
  if (s) console.log(`synth detail: in-process synth ms baseline ${s.inProcessSynthMs.baseline1000.toFixed(0)}, key-sync ${s.inProcessSynthMs.keysync1000.toFixed(0)} (${s.inProcessRatio1000.toFixed(2)}x), 4000 keys ${s.inProcessSynthMs.keysync4000.toFixed(0)} (${s.inProcessRatio4000.toFixed(2)}x); peak RSS MiB baseline ${s.peakRssMiB.baseline1000?.toFixed(0)}, 1000 ${s.peakRssMiB.keysync1000?.toFixed(0)}, 4000 ${s.peakRssMiB.keysync4000?.toFixed(0)}`);
  const f = details.fleet;
  if (f) console.log(`fleet detail: ${f.keysPerSecond.toFixed(0)} keys/s, peak RSS ${f.fleetPeakRssMiB?.toFixed(0)} MiB`);
  console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
  for (const x of Object.values(details.startup)) delete x.raw;
  fs.writeFileSync(path.join(__dirname, 'results.json'), `${JSON.stringify({ quick, node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), at: new Date().toISOString(), figures, details }, null, 2)}\n`);
  const failed = figures.filter((x) => (quick ? x.gross : !x.pass));
  if (failed.length > 0) {
    console.log(`\n${quick ? 'gross regression (2x past target)' : 'target missed'}: ${failed.map((x) => x.name).join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
