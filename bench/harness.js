'use strict';
/**
 * What every part of the bench shares: running a command with its wall time (from here)
 * and peak RSS / CPU (from `/usr/bin/time -f`, when present; CPU includes the children the
 * command waited for, so a `terraform apply` counts its provisioners), interleaved rounds,
 * medians with min and max, and the emulator as a child process.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const CLI = path.join(root, 'dist', 'key-sync.cjs');
const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const CURL = ['/usr/bin/curl', '/bin/curl'].find((p) => fs.existsSync(p));
const INSTANCE = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const API_KEY = 'ks-emulator-demo-key';
const IAM_BODY = `grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=${API_KEY}`;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const keyId = (i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** Runs argv; wall ms from here, peak RSS (MiB) and CPU ms from /usr/bin/time. */
function measure(argv, env, { stdout = 'ignore', cwd } = {}) {
  return new Promise((resolve, reject) => {
    const full = TIME === undefined ? argv : [TIME, '-f', 'KSBENCH %M %U %S', ...argv];
    const t0 = process.hrtime.bigint();
    const c = spawn(full[0], full.slice(1), { env, cwd, stdio: ['ignore', stdout === 'ignore' ? 'ignore' : 'pipe', 'pipe'] });
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

/** Median, min and max of the runs' wall ms (and RSS / CPU when measured). */
function summarize(rs) {
  const ms = rs.map((r) => r.ms);
  return {
    runs: rs.length,
    medianMs: median(ms),
    minMs: Math.min(...ms),
    maxMs: Math.max(...ms),
    ...(rs[0]?.rssMiB === undefined ? {} : { medianRssMiB: median(rs.map((r) => r.rssMiB)), maxRssMiB: Math.max(...rs.map((r) => r.rssMiB)), medianCpuMs: median(rs.map((r) => r.cpuMs)) }),
    raw: rs,
  };
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
  return Object.fromEntries(Object.entries(res).map(([k, rs]) => [k, summarize(rs)]));
}

/**
 * Starts `key-sync emulator` (gate 0: every sync answers 204, so rounds are never gated)
 * with INSTANCE holding keys keyId(0..n-1) when `seedKeys` is given, else the default seed.
 * Resolves to { url, port, log(), clearLog(), close() }.
 */
async function startEmulator(seedKeys, registrationsPerKey = 0) {
  const args = [CLI, 'emulator', '--port', '0', '--gate-seconds', '0'];
  let seedFile;
  if (seedKeys !== undefined) {
    seedFile = path.join(os.tmpdir(), `ks-bench-seed-${process.pid}-${seedKeys}-${registrationsPerKey}.json`);
    fs.writeFileSync(seedFile, JSON.stringify({
      instances: [{ id: INSTANCE, kind: 'key-protect', region: 'us-south' }],
      keys: Array.from({ length: seedKeys }, (_, i) => ({ id: keyId(i), instanceId: INSTANCE, name: `bench-${i}` })),
      registrations: Array.from({ length: seedKeys * registrationsPerKey }, (_, j) => ({
        keyId: keyId(Math.floor(j / registrationsPerKey)),
        resourceCrn: `crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:bench-${j}`,
      })),
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
  const admin = async (method) => {
    const res = await fetch(`${url}/__emulator/log`, { method });
    if (method === 'GET') return (await res.json()).entries;
    await res.arrayBuffer();
    return undefined;
  };
  return {
    url,
    port: Number(new URL(url).port),
    log: () => admin('GET'),
    clearLog: () => admin('DELETE'),
    close: () => {
      child.kill();
      if (seedFile) fs.rmSync(seedFile, { force: true });
    },
  };
}

/**
 * The CLI's environment: only PATH and the emulator's credentials (no NODE_EXTRA_CA_CERTS),
 * and the cross-process token cache off, so start-up and fleet runs keep measuring the same
 * two requests as before it (a cache left warm by an earlier run would skip IAM). The
 * apply part turns it on with a fresh directory per apply.
 */
const cliEnv = (iamUrl, kpUrl = iamUrl) => ({ PATH: process.env.PATH ?? '', IBMCLOUD_API_KEY: API_KEY, IBMCLOUD_IAM_API_ENDPOINT: iamUrl, IBMCLOUD_KP_API_ENDPOINT: kpUrl, KEY_SYNC_TOKEN_CACHE: 'off' });

module.exports = { root, CLI, TIME, CURL, INSTANCE, API_KEY, IAM_BODY, median, keyId, measure, summarize, interleaved, startEmulator, cliEnv };
