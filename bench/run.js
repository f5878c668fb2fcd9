#!/usr/bin/env node
'use strict';
/**
 * `npm run bench [-- --quick] [--only PART]... [--rtt MS] [--setup MS] [--rounds N]`:
 * performance figures, each a ratio against a baseline measured in the same run
 * (interleaved, warm-ups first, medians with min and max), wall time from this process
 * and peak RSS / CPU from the OS (`/usr/bin/time -f`, when present).
 *
 *   startup  `key-sync sync` (one key, 204) as ms over `node -e 0`, with NODE_EXTRA_CA_CERTS
 *            unset and set (no target: it measures the machine); peak RSS <= 60 MiB
 *   synth    1000 keys x 3 associations + KeySync vs plain provider-null stack (<= 1.3x)
 *            and 4000 keys vs 1000 keys (<= 4.6x)
 *   fleet    1000 keys in one `--keys-file` run vs sequential single-key runs (>= 20x)
 *   apply    the real `terraform` applying N = 10 and 100 keys (terraform_data + local-exec,
 *            parallelism 10) on loopback and through a relay adding `--rtt` ms per turn and
 *            `--setup` ms per new connection (defaults 50 and 100), key-sync vs `sh` + two
 *            `curl` calls and a plain node:http script: relay <= 0.8x, loopback <= 1.5x,
 *            IAM exchanges per apply <= 1; one sync on the relay <= 0.75x curl. Skipped,
 *            saying so, when terraform is absent (apply-scale.js).
 *
 * Prints a table, writes bench/results.json. --quick runs fewer repetitions and apply with
 * N = 10 only (under a minute) and exits non-zero only on a gross regression (2x past a
 * target); the full run exits non-zero when any target is missed.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, CLI, CURL, INSTANCE, IAM_BODY, median, keyId, measure, interleaved, startEmulator, cliEnv } = require('./harness');
const { applyScale, applyTable } = require('./apply-scale');

const TSX = require('node:url').pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const quick = process.argv.includes('--quick');
const PARTS = ['startup', 'synth', 'fleet', 'apply', 'status'];
/** `--NAME VALUE` for the numeric flags (relay round trip / set-up in ms, apply rounds). */
function numFlag(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) {
    console.error(`bench: --${name} ${JSON.stringify(process.argv[i + 1] ?? '')} is not a number >= 0`);
    process.exit(2);
  }
  return v;
}
const rttMs = numFlag('rtt', 50);
const setupMs = numFlag('setup', 100);
const rounds = numFlag('rounds', undefined);
if (rounds !== undefined && (rounds < 1 || !Number.isInteger(rounds))) {
  console.error(`bench: --rounds ${rounds} must be a whole number >= 1`);
  process.exit(2);
}
/** `--only startup|synth|fleet|apply` (repeatable) runs just those parts, e.g. while working on one. */
const onlyParts = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--only' ? [a] : []));
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

const figures = [];
/**
 * Records a figure. No `target`: information only. `opts.infoUnlessQuick`: information in a
 * full run, checked for a gross regression in --quick (N = 10 against the N = 100 targets).
 */
function figure(name, value, unit, baseline, target, cmp, note, opts = {}) {
  if (target === undefined || (opts.infoUnlessQuick && !quick)) {
    figures.push({ name, value, unit, baseline, target: target === undefined ? '-' : `(${cmp} ${target} at N = 100)`, pass: true, gross: false, info: true, note });
    return;
  }
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
  const body = IAM_BODY;
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

/**
 * A throwaway CA certificate (one self-signed cert made now with openssl) for the
 * NODE_EXTRA_CA_CERTS rows; undefined, with the reason, when openssl cannot make one.
 */
function throwawayPem(dir) {
  const pem = path.join(dir, 'throwaway-ca.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(dir, 'throwaway-ca.key'),
    '-out', pem, '-subj', '/CN=key-sync bench throwaway CA', '-days', '1'], { encoding: 'utf8' });
  return r.status === 0 ? { pem } : { why: `openssl could not make a certificate (${r.error?.message ?? r.stderr.trim().split('\n').pop()})` };
}

const certCount = (file) => (fs.readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;

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
    if (CURL !== undefined) variants['curl POST token'] = () => measure([CURL, '-s', '-o', '/dev/null', '-X', 'POST', '-d', IAM_BODY, `${emu.url}/identity/token`], env);
    // NODE_EXTRA_CA_CERTS set: Node reads and parses the file at start-up, in every process.
    const caSets = [];
    const pem = throwawayPem(refDir);
    if (pem.pem) caSets.push({ label: 'CA: 1 throwaway cert', file: pem.pem });
    else console.log(`start-up: no NODE_EXTRA_CA_CERTS=throwaway row: ${pem.why}`);
    const runnerCa = process.env.NODE_EXTRA_CA_CERTS;
    // The shell's own bundle (e.g. the system's, as on this machine) only in a full run.
    if (!quick && runnerCa && fs.existsSync(runnerCa) && runnerCa !== pem.pem) caSets.push({ label: `CA: this shell's, ${certCount(runnerCa)} certs`, file: runnerCa });
    for (const ca of caSets) {
      variants[`node -e 0 (${ca.label})`] = () => measure([process.execPath, '-e', '0'], { ...env, NODE_EXTRA_CA_CERTS: ca.file });
      variants[`key-sync sync (${ca.label})`] = () => measure([process.execPath, CLI, ...sync], { ...env, NODE_EXTRA_CA_CERTS: ca.file });
    }
    const r = await interleaved(variants, { warmups: 3, runs: quick ? 10 : 25 });
    const base = r['node -e 0'].medianMs;
    const s = r['key-sync sync'];
    const over = (sync, node) => `sync ${sync.medianMs.toFixed(0)} ms, node -e 0 ${node.medianMs.toFixed(0)} ms (${(sync.medianMs / node.medianMs).toFixed(2)}x; ${s.runs} interleaved runs)`;
    figure('start-up: sync (204), ms over node -e 0, NODE_EXTRA_CA_CERTS unset', s.medianMs - base, 'ms', over(s, r['node -e 0']));
    for (const ca of caSets) {
      figure(`start-up: sync (204), ms over node -e 0, NODE_EXTRA_CA_CERTS set (${ca.label.slice(4)})`, r[`key-sync sync (${ca.label})`].medianMs - r[`node -e 0 (${ca.label})`].medianMs, 'ms', over(r[`key-sync sync (${ca.label})`], r[`node -e 0 (${ca.label})`]));
    }
    if (s.maxRssMiB !== undefined) figure('start-up: sync peak RSS (max of runs)', s.maxRssMiB, 'MiB', `node -e 0 ${r['node -e 0'].medianRssMiB.toFixed(1)} MiB`, 60, '<=');
    const info = {};
    for (const [k, v] of Object.entries(r)) info[k] = { medianMs: v.medianMs, minMs: v.minMs, maxMs: v.maxMs, overNodeMs: v.medianMs - base, ratio: v.medianMs / base, medianRssMiB: v.medianRssMiB, medianCpuMs: v.medianCpuMs };
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

/**
 * Request economy of `key-sync status`: 1000 keys with 3 registrations each, an
 * instance-wide status (one listing, all pages, plus one read per key) against the naive
 * way (one key read and one listing per key), requests counted by the emulator.
 */
async function status() {
  const N = quick ? 200 : 1000;
  const emu = await startEmulator(N, 3);
  try {
    const env = cliEnv(emu.url);
    const count = async () => {
      const log = await emu.log();
      await emu.clearLog();
      return log.filter((e) => e.route !== 'admin' && e.route !== 'iam.token').length;
    };
    const ours = [];
    const naive = [];
    for (let round = 0; round < (quick ? 1 : 3); round++) {
      await emu.clearLog();
      const r = await measure([process.execPath, CLI, 'status', '--instance-id', INSTANCE, '--all-registered', '--json'], env, { stdout: 'pipe' });
      if (r.code !== 0) throw new Error(`status exited ${r.code}: ${r.err.slice(0, 300)}`);
      const j = JSON.parse(r.out);
      if (j.keys.length !== N) throw new Error(`status reported ${j.keys.length} of ${N} keys`);
      ours.push({ ms: r.ms, requests: await count() });
      const n = await measure([process.execPath, '--import', TSX, path.join(__dirname, 'status-naive.ts'), emu.url, INSTANCE, String(N)], env, { stdout: 'pipe' });
      if (n.code !== 0) throw new Error(`naive status exited ${n.code}: ${n.err.slice(0, 300)}`);
      naive.push({ ms: JSON.parse(n.out).ms, requests: await count() });
    }
    const oursMs = median(ours.map((x) => x.ms));
    const naiveMs = median(naive.map((x) => x.ms));
    const oursReq = ours[0].requests;
    const naiveReq = naive[0].requests;
    figure(`status of ${N} keys x 3 registrations: requests, naive / key-sync`, naiveReq / oursReq, 'x', `key-sync ${oursReq} requests in ${(oursMs / 1000).toFixed(2)} s (process wall); naive ${naiveReq} requests in ${(naiveMs / 1000).toFixed(2)} s (its loop alone)`, 1.5, '>=');
    return { keys: N, registrationsPerKey: 3, keySync: { requests: oursReq, medianMs: oursMs }, naive: { requests: naiveReq, medianMs: naiveMs } };
  } finally {
    emu.close();
  }
}

async function main() {
  if (!fs.existsSync(CLI)) throw new Error('dist/key-sync.cjs is missing: run `npm run build:cli` first');
  const started = Date.now();
  const partSeconds = {};
  const timed = async (name, fn) => {
    if (!only(name)) return undefined;
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      partSeconds[name] = (Date.now() - t0) / 1000;
    }
  };
  const details = {
    startup: (await timed('startup', startup)) ?? {},
    synth: await timed('synth', synth),
    fleet: await timed('fleet', fleet),
    apply: await timed('apply', () => applyScale({ quick, figure, rttMs, setupMs, rounds })),
    status: await timed('status', status),
  };
  const rows = figures.map((f) => [f.name, `${f.value.toFixed(2)} ${f.unit}`.trim(), f.target, f.info ? 'info' : f.pass ? 'PASS' : (f.gross ? 'FAIL (gross)' : 'FAIL'), f.baseline]);
  const head = ['figure', 'value', 'target', 'result', 'baseline (same run)'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ');
  console.log(`\nkey-sync bench (${quick ? 'quick' : 'full'}), node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}`);
  console.log(fmt(head));
  for (const r of rows) console.log(fmt(r));
  if (Object.keys(details.startup).length > 0) {
    console.log('\nstart-up detail (median wall (min-max) / over node -e 0 / ratio / peak RSS / CPU user+sys):');
    for (const [k, v] of Object.entries(details.startup)) {
      console.log(`  ${k.padEnd(40)} ${v.medianMs.toFixed(1).padStart(6)} ms (${v.minMs.toFixed(0)}-${v.maxMs.toFixed(0)})  ${(v.overNodeMs >= 0 ? '+' : '') + v.overNodeMs.toFixed(1).padStart(5)} ms  ${v.ratio.toFixed(2)}x  ${v.medianRssMiB?.toFixed(1) ?? '?'} MiB  cpu ${v.medianCpuMs?.toFixed(0) ?? '?'} ms`);
    }
  }
  const s = details.synth;
  if (s) console.log(`synth detail: in-process synth ms baseline ${s.inProcessSynthMs.baseline1000.toFixed(0)}, key-sync ${s.inProcessSynthMs.keysync1000.toFixed(0)} (${s.inProcessRatio1000.toFixed(2)}x), 4000 keys ${s.inProcessSynthMs.keysync4000.toFixed(0)} (${s.inProcessRatio4000.toFixed(2)}x); peak RSS MiB baseline ${s.peakRssMiB.baseline1000?.toFixed(0)}, 1000 ${s.peakRssMiB.keysync1000?.toFixed(0)}, 4000 ${s.peakRssMiB.keysync4000?.toFixed(0)}`);
  const f = details.fleet;
  if (f) console.log(`fleet detail: ${f.keysPerSecond.toFixed(0)} keys/s, peak RSS ${f.fleetPeakRssMiB?.toFixed(0)} MiB`);
  const a = details.apply;
  if (a && !a.skipped) {
    console.log(`\napply detail: ${a.terraform}, parallelism ${a.parallelism}, relay rtt ${a.rttMs} ms + ${a.setupMs} ms per new connection, median (min-max) of ${a.rounds} interleaved rounds:`);
    for (const n of [10, 100]) {
      const t = applyTable(a, n);
      if (t) console.log(`\n${t}`);
    }
    console.log('\napply CPU (user+sys of terraform and every process it ran, median ms; per key over `true`):');
    for (const [k, v] of Object.entries(a.applies)) {
      const [n, net] = k.split('/');
      const floor = a.applies[`${n}/loopback/true`]?.medianCpuMs;
      const perKey = floor === undefined || v.medianCpuMs === undefined ? '' : `  ${((v.medianCpuMs - floor) / Number(n)).toFixed(1)} ms/key`;
      if (v.medianCpuMs !== undefined) console.log(`  ${k.padEnd(28)} ${v.medianCpuMs.toFixed(0).padStart(6)} ms${net === 'loopback' ? perKey : ''}`);
    }
  } else if (a?.skipped) console.log(`\napply: skipped (${a.skipped})`);
  console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s: ${Object.entries(partSeconds).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ')})`);
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
