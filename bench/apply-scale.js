'use strict';
/**
 * The apply-scale part of `npm run bench`: what users wait for, an apply of many keys
 * from a CI runner, with Terraform starting one process per key, ten at a time.
 *
 * For N keys and each command under test a stack directory holds N `terraform_data`
 * resources (built in: no provider download), each with a create-time local-exec running
 * the command for its key, as the KeySync construct writes it. `terraform init` runs once
 * per directory; each round then times `terraform apply -auto-approve -parallelism=10
 * -input=false` from fresh state, against the emulator (gate 0) directly ("loopback") and
 * through two relays, one for IAM and one for the key service ("relay", see relay.js),
 * with a fresh, empty `$XDG_RUNTIME_DIR` per apply (so a cross-process token cache starts
 * cold every apply, as on a fresh CI runner). The emulator's request log gives the IAM
 * exchanges per apply.
 *
 * Commands: key-sync (the bundled CLI copied into the stack, run as the construct runs
 * it); `sh` + two `curl` calls (baselines/sync-curl.sh); a plain node:http script
 * (baselines/sync-http.js); `true` (loopback only: Terraform's own cost, the floor).
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { CLI, CURL, INSTANCE, keyId, measure, median, summarize, interleaved, startEmulator, cliEnv } = require('./harness');
const { startRelay } = require('./relay');

const BASELINES = path.join(__dirname, 'baselines');

/** The Terraform binary (`$TERRAFORM_BINARY_NAME`, else `terraform`) and its version, or why there is none. */
function findTerraform() {
  const candidates = [process.env.TERRAFORM_BINARY_NAME, 'terraform'].filter((c) => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ['version'], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
    if (r.status === 0) return { binary: c, version: r.stdout.split('\n')[0] };
  }
  return { why: `none of ${candidates.join(', ')} runs (\`version\` failed or not on PATH)` };
}

const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The local-exec command of key `i` for a variant (run by /bin/sh from the stack directory). */
const COMMANDS = {
  // As KmsInstance.keyProtect + KeySync({ maxWaitSeconds: 0 }) synthesize it;
  // IBMCLOUD_KP_API_ENDPOINT points it at the emulator or the relay.
  'key-sync': (i) => `node ${q('assets/KeySyncCli/bench/key-sync.cjs')} sync --instance-id ${q(INSTANCE)} --key-id ${q(keyId(i))} --region 'us-south' --service 'key-protect' --max-wait '0'`,
  'sh + curl': (i) => `sh ./sync-curl.sh ${q(INSTANCE)} ${q(keyId(i))}`,
  'node:http': (i) => `node ./sync-http.js ${q(INSTANCE)} ${q(keyId(i))}`,
  'true': () => 'true',
  // The floor of any CLI written for Node: a process that starts and does nothing.
  'node -e 0': () => 'node -e 0',
};

/** Writes a stack directory for N keys running `variant`, and runs `terraform init` in it. */
function makeStack(tf, base, n, variant, env) {
  const dir = path.join(base, `${n}-${variant.replace(/[^a-z]+/g, '-')}`);
  fs.mkdirSync(path.join(dir, 'assets', 'KeySyncCli', 'bench'), { recursive: true });
  fs.copyFileSync(CLI, path.join(dir, 'assets', 'KeySyncCli', 'bench', 'key-sync.cjs'));
  fs.copyFileSync(path.join(BASELINES, 'sync-curl.sh'), path.join(dir, 'sync-curl.sh'));
  fs.copyFileSync(path.join(BASELINES, 'sync-http.js'), path.join(dir, 'sync-http.js'));
  const resources = {};
  for (let i = 0; i < n; i++) resources[`k${String(i).padStart(4, '0')}_sync`] = { provisioner: [{ 'local-exec': { command: COMMANDS[variant](i) } }] };
  fs.writeFileSync(path.join(dir, 'main.tf.json'), `${JSON.stringify({ resource: { terraform_data: resources } }, null, 1)}\n`);
  const r = spawnSync(tf.binary, ['init', '-input=false', '-no-color'], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`terraform init in ${dir} failed (${r.status}): ${(r.stdout + r.stderr).slice(-600)}`);
  return dir;
}

/** Terraform's environment: nothing from this shell but PATH and HOME; no NODE_EXTRA_CA_CERTS. */
function terraformEnv(work) {
  const rc = path.join(work, 'empty.tfrc');
  fs.writeFileSync(rc, '');
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? work, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: rc };
}

/**
 * Two requests on one keep-alive connection through the relay: the first must cost at
 * least set-up + round trip, the second at least the round trip and less than the first.
 * A relay that does not delay (or delays every turn like a new connection) would make
 * every relay figure meaningless, so it stops the part.
 */
async function checkRelay(relay) {
  const http = require('node:http');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () => new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    http.get(`${relay.url}/__emulator/clock`, { agent }, (res) => {
      res.resume().on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
    }).on('error', reject);
  });
  try {
    relay.resetStats();
    const first = await get();
    const next = await get();
    const ok = first >= relay.setupMs + relay.rttMs - 2 && next >= relay.rttMs - 2 && (relay.setupMs === 0 || next < first) && relay.stats.connections === 1;
    if (!ok) throw new Error(`relay check failed: first turn ${first.toFixed(0)} ms (want >= ${relay.setupMs + relay.rttMs}), next ${next.toFixed(0)} ms (want >= ${relay.rttMs}, < first), ${relay.stats.connections} connections (want 1)`);
    return { first, next };
  } finally {
    agent.destroy();
  }
}

const fmtS = (s) => `${(s.medianMs / 1000).toFixed(2)} s (${(s.minMs / 1000).toFixed(2)}-${(s.maxMs / 1000).toFixed(2)})`;

/**
 * Runs the part. `figure(name, value, unit, baseline, target, cmp, note, opts)` records a
 * figure; returns the details for results.json (or `{ skipped }`).
 */
async function applyScale({ quick, figure, rttMs = 50, setupMs = 100, rounds, log = console.log }) {
  const tf = findTerraform();
  if (tf.binary === undefined) {
    log(`apply-scale: skipped: ${tf.why}; install terraform >= 1.4 (terraform_data) to run it`);
    return { skipped: tf.why };
  }
  if (CURL === undefined) {
    log('apply-scale: skipped: no curl at /usr/bin/curl or /bin/curl (the sh + curl baseline needs it)');
    return { skipped: 'no curl' };
  }
  const Ns = quick ? [10] : [10, 100];
  const R = rounds ?? (quick ? 2 : 5);
  const maxN = Math.max(...Ns);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ks-bench-apply-'));
  const emu = await startEmulator(maxN);
  const iamRelay = await startRelay({ target: { host: '127.0.0.1', port: emu.port }, rttMs, setupMs });
  const kpRelay = await startRelay({ target: { host: '127.0.0.1', port: emu.port }, rttMs, setupMs });
  const networks = {
    loopback: { iam: emu.url, kp: emu.url },
    relay: { iam: iamRelay.url, kp: kpRelay.url },
  };
  const baseEnv = terraformEnv(work);
  try {
    log(`apply-scale: ${tf.version}; N = ${Ns.join(', ')}; ${R} round${R === 1 ? '' : 's'} + 1 warm-up; relay rtt ${rttMs} ms, set-up ${setupMs} ms per connection`);
    const check = await checkRelay(kpRelay);
    log(`apply-scale: relay check: first turn on a new connection ${check.first.toFixed(0)} ms (set-up + rtt = ${setupMs + rttMs}), next turn ${check.next.toFixed(0)} ms (rtt ${rttMs})`);
    const NO_NETWORK = ['true', 'node -e 0'];
    const variantsFor = (net) => (net === 'loopback' && !quick ? Object.keys(COMMANDS) : Object.keys(COMMANDS).filter((v) => !NO_NETWORK.includes(v)));
    const dirs = {};
    for (const n of Ns) for (const v of Object.keys(COMMANDS)) dirs[`${n}/${v}`] = makeStack(tf, work, n, v, baseEnv);

    /** One timed apply from fresh state; checks every key synced once; counts IAM exchanges and connections. */
    const apply = async (n, net, variant) => {
      const dir = dirs[`${n}/${variant}`];
      for (const f of ['terraform.tfstate', 'terraform.tfstate.backup']) fs.rmSync(path.join(dir, f), { force: true });
      const runtimeDir = fs.mkdtempSync(path.join(work, 'xdg-'));
      await emu.clearLog();
      iamRelay.resetStats();
      kpRelay.resetStats();
      const env = { ...baseEnv, ...cliEnv(networks[net].iam, networks[net].kp), KEY_SYNC_TOKEN_CACHE: 'on', XDG_RUNTIME_DIR: runtimeDir };
      const r = await measure([tf.binary, 'apply', '-auto-approve', '-input=false', '-no-color', '-parallelism=10'], env, { cwd: dir, stdout: 'pipe' });
      fs.rmSync(runtimeDir, { recursive: true, force: true });
      if (r.code !== 0) throw new Error(`terraform apply (${n} keys, ${net}, ${variant}) exited ${r.code}: ${(r.out + r.err).slice(-800)}`);
      const entries = await emu.log();
      r.iamExchanges = entries.filter((e) => e.route === 'iam.token').length;
      r.syncs = entries.filter((e) => e.route === 'keys.sync' && e.status === 204).length;
      if (net === 'relay') r.connections = { iam: iamRelay.stats.connections, kp: kpRelay.stats.connections };
      const expected = NO_NETWORK.includes(variant) ? 0 : n;
      if (r.syncs !== expected) throw new Error(`terraform apply (${n} keys, ${net}, ${variant}): ${r.syncs} syncs answered 204, expected ${expected}`);
      r.out = '';
      return r;
    };

    const raw = {};
    for (let round = 0; round < R + 1; round++) {
      for (const n of Ns) {
        for (const net of Object.keys(networks)) {
          const vs = variantsFor(net);
          // Rotate the order every round so no command always runs first (or last).
          for (const v of vs.map((_, j) => vs[(round + j) % vs.length])) {
            const r = await apply(n, net, v);
            if (round > 0) (raw[`${n}/${net}/${v}`] ??= []).push(r);
          }
        }
      }
    }

    const details = { terraform: tf.version, rttMs, setupMs, relayCheck: check, rounds: R, parallelism: 10, applies: {} };
    for (const [k, rs] of Object.entries(raw)) {
      const s = summarize(rs);
      delete s.raw;
      s.iamExchanges = { median: median(rs.map((r) => r.iamExchanges)), max: Math.max(...rs.map((r) => r.iamExchanges)) };
      if (rs[0].connections) s.connections = { iam: median(rs.map((r) => r.connections.iam)), kp: median(rs.map((r) => r.connections.kp)) };
      details.applies[k] = s;
    }

    const A = details.applies;
    for (const n of Ns) {
      const targeted = n === 100;
      // N = 10 has no target of its own; --quick checks it against the N = 100 targets for gross regressions only.
      const opts = targeted ? {} : { infoUnlessQuick: true };
      const relay = A[`${n}/relay/key-sync`].medianMs / A[`${n}/relay/sh + curl`].medianMs;
      figure(`apply ${n} keys, relay: key-sync / sh + curl`, relay, 'x', `key-sync ${fmtS(A[`${n}/relay/key-sync`])}, sh + curl ${fmtS(A[`${n}/relay/sh + curl`])}, node:http ${fmtS(A[`${n}/relay/node:http`])}`, 0.8, '<=', undefined, opts);
      const loop = A[`${n}/loopback/key-sync`].medianMs / A[`${n}/loopback/sh + curl`].medianMs;
      figure(`apply ${n} keys, loopback: key-sync / sh + curl`, loop, 'x', `key-sync ${fmtS(A[`${n}/loopback/key-sync`])}, sh + curl ${fmtS(A[`${n}/loopback/sh + curl`])}, node:http ${fmtS(A[`${n}/loopback/node:http`])}`, 1.5, '<=', undefined, opts);
      const floor = A[`${n}/loopback/node -e 0`];
      if (floor !== undefined) {
        figure(`apply ${n} keys, loopback: \`node -e 0\` per key / sh + curl (the floor of a Node CLI)`, floor.medianMs / A[`${n}/loopback/sh + curl`].medianMs, 'x', `node -e 0 ${fmtS(floor)}, sh + curl ${fmtS(A[`${n}/loopback/sh + curl`])}, true ${fmtS(A[`${n}/loopback/true`])}`);
      }
      const iam = Math.max(A[`${n}/relay/key-sync`].iamExchanges.max, A[`${n}/loopback/key-sync`].iamExchanges.max);
      figure(`IAM exchanges in one apply of ${n} keys (key-sync, max of rounds)`, iam, '', `sh + curl: ${A[`${n}/relay/sh + curl`].iamExchanges.max}; one API key, one IAM endpoint, cold cache each apply`, 1, '<=', undefined, opts);
    }

    // One sync on the relay, one process at a time: key-sync (token cache cold: a fresh
    // directory per run, so it makes the same two requests as the baselines) vs the two
    // baselines; and, for information, key-sync finding its token cached by the run before.
    const env = { ...baseEnv, ...cliEnv(iamRelay.url, kpRelay.url), KEY_SYNC_TOKEN_CACHE: 'on' };
    const one = async (argv) => {
      const runtimeDir = fs.mkdtempSync(path.join(work, 'xdg-'));
      const r = await measure(argv, { ...env, XDG_RUNTIME_DIR: runtimeDir });
      fs.rmSync(runtimeDir, { recursive: true, force: true });
      return r;
    };
    const warmDir = fs.mkdtempSync(path.join(work, 'xdg-warm-'));
    const k = keyId(0);
    const syncArgv = [process.execPath, CLI, 'sync', '--instance-id', INSTANCE, '--key-id', k, '--region', 'us-south', '--service', 'key-protect', '--max-wait', '0'];
    const single = await interleaved({
      'key-sync': () => one(syncArgv),
      ...(quick ? {} : { 'key-sync, token cached': () => measure(syncArgv, { ...env, XDG_RUNTIME_DIR: warmDir }) }),
      'sh + curl': () => one(['sh', path.join(BASELINES, 'sync-curl.sh'), INSTANCE, k]),
      'node:http': () => one([process.execPath, path.join(BASELINES, 'sync-http.js'), INSTANCE, k]),
    }, { warmups: 1, runs: quick ? 4 : 15 });
    for (const s of Object.values(single)) delete s.raw;
    details.oneSyncOnRelay = single;
    const ms = (x) => `${x.medianMs.toFixed(0)} ms (${x.minMs.toFixed(0)}-${x.maxMs.toFixed(0)})`;
    figure('one sync on the relay: key-sync / sh + curl', single['key-sync'].medianMs / single['sh + curl'].medianMs, 'x',
      `key-sync ${ms(single['key-sync'])}, sh + curl ${ms(single['sh + curl'])}, node:http ${ms(single['node:http'])} (${single['key-sync'].runs} interleaved runs, token cache cold)`, 0.75, '<=');
    if (!quick) figure('one sync on the relay, token already cached: key-sync / sh + curl', single['key-sync, token cached'].medianMs / single['sh + curl'].medianMs, 'x',
      `key-sync ${ms(single['key-sync, token cached'])} (a CLI without the cross-process cache still exchanges: same as cold)`);
    return details;
  } finally {
    emu.close();
    await iamRelay.close();
    await kpRelay.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The issue's table (markdown) for N keys from the details: median (min-max) per command and network. */
function applyTable(details, n) {
  const A = details.applies;
  if (A === undefined || A[`${n}/relay/key-sync`] === undefined) return undefined;
  const cell = (k) => (A[k] ? `${(A[k].medianMs / 1000).toFixed(2)} s (${(A[k].minMs / 1000).toFixed(2)}-${(A[k].maxMs / 1000).toFixed(2)})` : '-');
  const lines = [`| ${n} keys | loopback | relay | IAM exchanges | relay connections (IAM + key service) |`, '|---|---|---|---|---|'];
  for (const v of Object.keys(COMMANDS)) {
    if (A[`${n}/loopback/${v}`] === undefined && A[`${n}/relay/${v}`] === undefined) continue;
    const relay = A[`${n}/relay/${v}`];
    const conns = relay?.connections ? `${relay.connections.iam} + ${relay.connections.kp}` : '-';
    const iam = A[`${n}/loopback/${v}`]?.iamExchanges.max ?? '-';
    const name = v === 'true' ? '`true` (Terraform alone)' : v === 'node -e 0' ? '`node -e 0` (an empty Node process)' : v === 'sh + curl' ? '`sh` + two `curl` calls' : v === 'node:http' ? 'plain `node:http` script' : v;
    lines.push(`| ${name} | ${cell(`${n}/loopback/${v}`)} | ${cell(`${n}/relay/${v}`)} | ${iam} | ${conns} |`);
  }
  return lines.join('\n');
}

module.exports = { applyScale, applyTable, findTerraform, COMMANDS };
