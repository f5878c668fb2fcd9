/**
 * `npm start`: the whole flow (emulator, synth, apply, change, gate, retry) on this machine, with no cloud account.
 *
 *  1. start the emulator (IAM + key management) on a free loopback port;
 *  2. synthesize main.ts pointed at it;
 *  3. apply: real terraform/tofu when one is on PATH, else run each KeySync's
 *     synthesized local-exec command exactly as Terraform would (stand-in;
 *     `KEY_SYNC_DEMO_APPLY=stand-in` forces it);
 *  4. change one declared input an hour later: only that key's hash changes, it re-syncs;
 *  5. change it again at once: the sync is gated (exit 75, resource tainted); an hour
 *     later the next apply retries it and it goes through;
 *  then print a summary and exit 0 (non-zero if any step did not behave as it must).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEMO_STACK_NAME, synthDemo } from '../main';
import { startEmulator, type RunningEmulator } from '../src/emulator/server';
import { DEFAULT_SEED } from '../src/emulator/seed';
import type { KeySyncResourceType } from '../src';
import { emptyState, readSyncResources, standInApply, type ApplyReport, type StandInState } from './lib/stand-in-terraform';
import { runTerraform, terraformApply } from './lib/terraform-apply';
import { check, runDemo, say, verdict } from './lib/demo-run';

const OUTDIR = path.resolve(process.env.KEY_SYNC_DEMO_OUTDIR ?? 'cdktf.out');
const STACK_DIR = path.join(OUTDIR, 'stacks', DEMO_STACK_NAME);
const HOUR_MS = 3600_000;

interface Row {
  readonly step: string;
  readonly resource: string;
  readonly action: string;
  readonly exit: string;
  readonly outcome: string;
}

const rows: Row[] = [];

/** Environment for the apply: the emulator's endpoints and demo API key, nothing inherited that could point elsewhere. */
function applyEnv(emulator: RunningEmulator): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(IBMCLOUD_|IC_|KEY_SYNC_)/.test(k)) env[k] = v;
  }
  env.IBMCLOUD_API_KEY = DEFAULT_SEED.apiKeys[0];
  env.IBMCLOUD_IAM_API_ENDPOINT = emulator.url;
  return env;
}

/** The resource type the stacks are synthesized with (switched when only terraform_data can be applied). */
let resourceType: KeySyncResourceType = 'null_resource';

/** Synthesizes main.ts's DemoStack; returns each sync resource's `sync_hash` by address. */
function synth(emulatorUrl: string, paymentsRotation: string): Record<string, string> {
  synthDemo(OUTDIR, {
    KEY_SYNC_DEMO_ENDPOINT: emulatorUrl,
    KEY_SYNC_DEMO_PAYMENTS_ROTATION: paymentsRotation,
    KEY_SYNC_DEMO_RESOURCE_TYPE: resourceType,
  });
  return Object.fromEntries(readSyncResources(STACK_DIR).map((r) => [r.address, r.triggers.sync_hash]));
}

function terraformOnPath(): string | undefined {
  const candidates = [process.env.TERRAFORM_BINARY_NAME, 'terraform', 'tofu'].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ['version'], { stdio: 'ignore', env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
    if (r.status === 0) return c;
  }
  return undefined;
}

/** Terraform's environment: no checkpoint calls, and a CLI config file that exists. */
function terraformEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const tf: NodeJS.ProcessEnv = { ...env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
  if (tf.TF_CLI_CONFIG_FILE && !existsSync(tf.TF_CLI_CONFIG_FILE)) {
    const empty = path.join(OUTDIR, 'empty.tfrc');
    writeFileSync(empty, '');
    tf.TF_CLI_CONFIG_FILE = empty;
  }
  return tf;
}

/**
 * The binary to apply with, or why the stand-in is used instead. A binary counts only
 * when `init` succeeds: `null_resource` needs the hashicorp/null provider (network or a
 * mirror); when that fails, the stack is re-synthesized with `terraform_data`, which is
 * built into Terraform >= 1.4 and OpenTofu, and tried again.
 */
async function chooseApplier(env: NodeJS.ProcessEnv, resynth: () => void): Promise<{ binary?: string; why: string }> {
  if (process.env.KEY_SYNC_DEMO_APPLY === 'stand-in') return { why: 'KEY_SYNC_DEMO_APPLY=stand-in asks for the stand-in' };
  const binary = terraformOnPath();
  if (!binary) return { why: 'No terraform or tofu on PATH' };
  const init = () => runTerraform(binary, ['init', '-input=false', '-no-color'], STACK_DIR, env);
  if ((await init()).status === 0) return { binary, why: `${binary} init succeeded` };
  resourceType = 'terraform_data';
  resynth();
  if ((await init()).status === 0) {
    return {
      binary,
      why: `${binary} could not install the hashicorp/null provider (no network or mirror), so the stack was\n` +
        "      re-synthesized with KeySync's resourceType 'terraform_data' (built into Terraform, no provider)",
    };
  }
  resourceType = 'null_resource';
  resynth();
  return { why: `${binary} is on PATH but \`${binary} init\` failed` };
}

/** One line of what the CLI said (its last non-empty line: the outcome). */
function outcomeLine(r: { stdout?: string; stderr?: string }): string {
  const lines = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

function short(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}

async function apply(step: string, state: StandInState, env: NodeJS.ProcessEnv, binary: string | undefined): Promise<ApplyReport> {
  // Each apply runs as on a fresh CI runner: its syncs share one IAM token through the
  // token cache in the runner's own XDG_RUNTIME_DIR (the demo moves the emulator's clock
  // an hour between applies, past any token an earlier apply got).
  const runtimeDir = mkdtempSync(path.join(tmpdir(), 'key-sync-demo-runner-'));
  try {
    const runner = { ...env, XDG_RUNTIME_DIR: runtimeDir };
    const report = binary ? await terraformApply(binary, STACK_DIR, runner) : await standInApply(STACK_DIR, state, runner);
    printApply(step, report);
    return report;
  } finally {
    rmSync(runtimeDir, { recursive: true, force: true });
  }
}

function printApply(step: string, report: ApplyReport): void {
  for (const r of report.resources) {
    const exit = r.exitCode === undefined ? '-' : String(r.exitCode);
    const outcome = r.action === 'no-op' ? 'not run (nothing declared changed)' : outcomeLine(r);
    say(`      ${r.address.padEnd(34)} ${r.action.padEnd(8)} ${r.reason}`);
    if (r.action !== 'no-op') say(`        exit ${exit}: ${outcome}`);
    // The emulator's clock is ahead because this demo moved it forward ("an hour later");
    // the CLI measures the gate on the service's clock and says so.
    if (/by the key service's clock/.test(outcome)) say("        (the emulator's clock is ahead of this machine's because this demo moved it forward an hour at a time; a real service's clock agrees with yours)");
    rows.push({ step, resource: r.address, action: r.action, exit, outcome: r.action === 'no-op' ? 'unchanged' : outcomeKind(r.exitCode) });
  }
}

function outcomeKind(exit: number | undefined): string {
  if (exit === 0) return 'synced';
  if (exit === 75) return 'gated -> tainted, retried next apply';
  return `failed (exit ${exit})`;
}

function syncRequests(emulator: RunningEmulator): Array<{ status: number }> {
  return emulator.log().filter((e) => e.route === 'keys.sync');
}

async function main(): Promise<number> {
  if (!existsSync(path.resolve(__dirname, '..', 'dist', 'key-sync.cjs'))) {
    process.stderr.write('dist/key-sync.cjs is missing: run `npm run build:cli` first (npm start does it for you).\n');
    return 2;
  }
  const started = Date.now();
  // A fresh stack directory: a state file left by an earlier run would change the story.
  rmSync(STACK_DIR, { recursive: true, force: true });
  mkdirSync(OUTDIR, { recursive: true });
  const emulator = await startEmulator({ port: 0, now: Date.now() });
  try {
    const env = terraformEnv(applyEnv(emulator));
    say('key-sync demo: IBM Cloud is played by the local emulator; no account, no network.');
    say();
    say(`[1/5] Emulator started at ${emulator.url} (IAM + key management), clock ${new Date(emulator.clock.now()).toISOString()}`);

    const synthFirst = () => synth(emulator.url, '2026-11-01');
    const synthesized = synthFirst();
    say(`[2/5] Synthesized main.ts -> ${path.relative(process.cwd(), STACK_DIR)}/cdk.tf.json`);
    for (const [addr, h] of Object.entries(synthesized)) say(`      ${addr.padEnd(34)} sync_hash ${short(h)}`);
    // Choosing may re-synthesize with another resource type (step 3 says so).
    const { binary, why } = await chooseApplier(env, synthFirst);
    const first = synthFirst();
    say(
      binary
        ? `[3/5] Apply with ${binary}: ${why}.`
        : `[3/5] Apply. ${why};\n` +
            '      so a stand-in runs each local-exec command exactly as Terraform would\n' +
            '      (/bin/sh -c, in the stack directory, with its environment):',
    );
    if (Object.keys(first).join() !== Object.keys(synthesized).join()) {
      say('      The same syncs (the same hashes) are now:');
      for (const [addr, h] of Object.entries(first)) say(`      ${addr.padEnd(34)} sync_hash ${short(h)}`);
    }
    let report = await apply('1 first apply', emptyState(), env, binary);
    check(report.ok, 'the first apply must sync both keys');

    emulator.clock.advance(HOUR_MS + 60_000);
    say();
    say("[4/5] An hour later the payments key's declared rotation marker changes; re-synth:");
    const second = synth(emulator.url, '2026-11-28');
    for (const addr of Object.keys(first)) {
      const changed = first[addr] !== second[addr];
      say(`      ${addr.padEnd(34)} ${short(first[addr])} -> ${short(second[addr])}  ${changed ? 'CHANGED' : 'unchanged'}`);
    }
    const changedKeys = Object.keys(first).filter((a) => first[a] !== second[a]);
    check(changedKeys.length === 1 && /payments/i.test(changedKeys[0]), 'exactly the payments key hash must change');
    report = await apply('2 marker changed', report.state, env, binary);
    check(report.ok, 'the second apply must re-sync the payments key');

    say();
    say('[5/5] The marker is changed again minutes later: the key service time-gates the sync (409):');
    synth(emulator.url, '2026-11-28b');
    report = await apply('3 changed again', report.state, env, binary);
    const gated = binary ? !report.ok : report.resources.some((r) => r.exitCode === 75);
    check(gated, 'the third apply must be gated (the CLI exits 75)');
    say('      Terraform marks the failed resource tainted, so the next apply retries it.');
    emulator.clock.advance(HOUR_MS + 60_000);
    say('      An hour later, the next apply:');
    report = await apply('4 next apply', report.state, env, binary);
    check(report.ok, 'the apply after the gate opened must sync the tainted key');

    const syncs = syncRequests(emulator);
    say();
    say('Summary');
    const widths = [16, 34, 8, 4];
    say(`  ${'apply'.padEnd(widths[0])} ${'resource'.padEnd(widths[1])} ${'action'.padEnd(widths[2])} ${'exit'.padEnd(widths[3])} outcome`);
    for (const r of rows) {
      say(`  ${r.step.padEnd(widths[0])} ${r.resource.padEnd(widths[1])} ${r.action.padEnd(widths[2])} ${r.exit.padEnd(widths[3])} ${r.outcome}`);
    }
    const by = (s: number) => syncs.filter((e) => e.status === s).length;
    check(syncs.length === 5 && by(204) === 4 && by(409) === 1, `the emulator must see 4 accepted syncs and 1 gated one, saw ${syncs.length}`);
    say(`  sync requests seen by the emulator: ${syncs.length} (${by(204)} x 204, ${by(409)} x 409 gated)`);
    say(`  finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return verdict();
  } finally {
    await emulator.close();
  }
}

runDemo(main);
