/**
 * `npm run demo:rotation`: a declared key rotation end to end on this machine, with no
 * cloud account. main.ts's DemoStack with `KEY_SYNC_DEMO_PAYMENTS_GENERATION` set declares
 * `paymentsKey.rotate({ generation })`; every resource is a `terraform_data`, so real
 * terraform (when on PATH; no provider to download) or the stand-in applies it:
 *
 *  1. start the emulator;  2. first apply: the payments key is rotated once, and its sync,
 *     which the service refuses for the hour after a rotation, succeeds saying the rotation
 *     notified the resources;  3. re-apply with nothing changed: nothing runs;
 *  4. two hours later the generation is bumped: exactly one rotation, no sync;
 *  5. ten minutes later it is bumped again: the once-an-hour gate (exit 75, tainted); an
 *     hour later the next apply rotates it once, with the time first recorded;
 *  then a summary (versions and rotate requests the emulator saw); non-zero if any step
 *  did not behave as it must.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEMO, DEMO_STACK_NAME, synthDemo } from '../main';
import { startEmulator, type RunningEmulator } from '../src/emulator/server';
import { DEFAULT_SEED } from '../src/emulator/seed';
import { emptyState, standInApply, type ApplyReport, type StandInState } from './lib/stand-in-terraform';
import { runTerraform, terraformApply } from './lib/terraform-apply';
import { check, runDemo, say, verdict } from './lib/demo-run';

const OUTDIR = path.resolve(process.env.KEY_SYNC_DEMO_OUTDIR ?? 'cdktf.out');
const STACK_DIR = path.join(OUTDIR, 'stacks', DEMO_STACK_NAME);
const MIN = 60_000;
const HOUR = 60 * MIN;

const rows: Array<{ step: string; resource: string; action: string; exit: string }> = [];

function applyEnv(emulator: RunningEmulator): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(IBMCLOUD_|IC_|KEY_SYNC_)/.test(k)) env[k] = v;
  env.IBMCLOUD_API_KEY = DEFAULT_SEED.apiKeys[0];
  env.IBMCLOUD_IAM_API_ENDPOINT = emulator.url;
  env.CHECKPOINT_DISABLE = '1';
  env.TF_IN_AUTOMATION = '1';
  if (env.TF_CLI_CONFIG_FILE && !existsSync(env.TF_CLI_CONFIG_FILE)) {
    const empty = path.join(OUTDIR, 'empty.tfrc');
    writeFileSync(empty, '');
    env.TF_CLI_CONFIG_FILE = empty;
  }
  return env;
}

function synth(emulatorUrl: string, generation: string): void {
  synthDemo(OUTDIR, {
    KEY_SYNC_DEMO_ENDPOINT: emulatorUrl,
    KEY_SYNC_DEMO_PAYMENTS_GENERATION: generation,
    KEY_SYNC_DEMO_RESOURCE_TYPE: 'terraform_data',
  });
}

function terraformOnPath(): string | undefined {
  if (process.env.KEY_SYNC_DEMO_APPLY === 'stand-in') return undefined;
  for (const c of [process.env.TERRAFORM_BINARY_NAME, 'terraform', 'tofu'].filter((x): x is string => !!x)) {
    if (spawnSync(c, ['version'], { stdio: 'ignore', env: { ...process.env, CHECKPOINT_DISABLE: '1' } }).status === 0) return c;
  }
  return undefined;
}

/** The CLI's outcome line of a resource's run (its last line from key-sync). */
function outcomeLine(r: { stdout?: string; stderr?: string }): string {
  const lines = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('key-sync: ') && !l.includes(': note: '));
  return lines[lines.length - 1] ?? '';
}

const versions = (emulator: RunningEmulator): number => emulator.state.findKey(DEMO.payments.instanceId, DEMO.payments.keyId)?.versions.length ?? 0;
const rotateRequests = (emulator: RunningEmulator) => emulator.log().filter((e) => e.route === 'keys.action' && e.path.endsWith('/actions/rotate'));

async function main(): Promise<number> {
  if (!existsSync(path.resolve(__dirname, '..', 'dist', 'key-sync.cjs'))) {
    process.stderr.write('dist/key-sync.cjs is missing: run `npm run build:cli` first (npm run demo:rotation does it for you).\n');
    return 2;
  }
  const started = Date.now();
  rmSync(STACK_DIR, { recursive: true, force: true });
  mkdirSync(OUTDIR, { recursive: true });
  // Real time (Terraform's plantimestamp() is this machine's), moved forward instead of waiting.
  const emulator = await startEmulator({ port: 0 });
  try {
    const env = applyEnv(emulator);
    let binary = terraformOnPath();
    say('key-sync rotation demo: IBM Cloud is played by the local emulator; no account, no network.');
    say();
    say(`[1/5] Emulator started at ${emulator.url}; the payments key has ${versions(emulator)} version`);
    synth(emulator.url, '2026-Q3');
    if (binary !== undefined && (await runTerraform(binary, ['init', '-input=false', '-no-color'], STACK_DIR, env)).status !== 0) binary = undefined;
    say(binary === undefined
      ? '      Applying with the stand-in (no terraform or tofu on PATH, or KEY_SYNC_DEMO_APPLY=stand-in): it runs each local-exec as Terraform does'
      : `      Applying with ${binary} (every resource is a terraform_data: no provider to download)`);
    let state: StandInState = emptyState();
    const apply = async (step: string): Promise<ApplyReport> => {
      const runtimeDir = mkdtempSync(path.join(tmpdir(), 'key-sync-demo-runner-'));
      let report: ApplyReport;
      try {
        const runner = { ...env, XDG_RUNTIME_DIR: runtimeDir };
        report = binary === undefined ? await standInApply(STACK_DIR, state, runner) : await terraformApply(binary, STACK_DIR, runner);
      } finally {
        rmSync(runtimeDir, { recursive: true, force: true });
      }
      state = report.state;
      for (const r of report.resources) {
        const exit = r.exitCode === undefined ? '-' : String(r.exitCode);
        say(`      ${r.address.padEnd(52)} ${r.action.padEnd(8)} ${r.reason}`);
        const line = outcomeLine(r);
        if (r.exitCode !== undefined && line !== '') say(`        exit ${exit}: ${line}`);
        rows.push({ step, resource: r.address, action: r.action, exit });
      }
      return report;
    };

    say();
    say("[2/5] First apply, generation '2026-Q3' (resources listed by name; they run as: the record of when it was requested, the rotation, then the syncs):");
    let r = await apply('1 first apply');
    check(r.ok, 'the first apply must succeed');
    check(versions(emulator) === 2, `the first apply must rotate the payments key once (versions: ${versions(emulator)})`);

    say();
    say('[3/5] Re-apply with nothing changed:');
    r = await apply('2 re-apply');
    check(r.ok && rotateRequests(emulator).length === 1, 'a re-apply must not rotate');

    emulator.clock.advance(2 * HOUR);
    say();
    say("[4/5] Two hours later the generation is bumped to '2026-Q4': one rotation, the sync is left alone:");
    say("      (the demo moves the emulator's clock instead of waiting; key-sync reads the service's clock from its");
    say("      Date header, so its messages say that clock is ahead of this machine's)");
    synth(emulator.url, '2026-Q4');
    r = await apply('3 generation bump');
    check(r.ok && versions(emulator) === 3, `a bump must rotate once (versions: ${versions(emulator)})`);
    check(r.resources.some((x) => /PaymentsKey_sync$/.test(x.address) && x.action === 'no-op'), 'a bump alone must not sync');

    emulator.clock.advance(10 * MIN);
    say();
    say("[5/5] Ten minutes later it is bumped again, to '2027-Q1': the service allows one rotation an hour:");
    synth(emulator.url, '2027-Q1');
    r = await apply('4 bump, gated');
    check(!r.ok && r.resources.some((x) => x.exitCode === 75), 'the second bump must be gated (exit 75)');
    say('      Terraform marks the rotation tainted; the time recorded for 2027-Q1 is kept for the retry.');
    emulator.clock.advance(HOUR);
    say('      An hour later, the next apply:');
    r = await apply('5 next apply');
    check(r.ok && versions(emulator) === 4, `the retry must rotate once (versions: ${versions(emulator)})`);

    const posts = rotateRequests(emulator);
    say();
    say('Summary');
    say(`  ${'apply'.padEnd(18)} ${'resource'.padEnd(52)} ${'action'.padEnd(8)} exit`);
    for (const row of rows) say(`  ${row.step.padEnd(18)} ${row.resource.padEnd(52)} ${row.action.padEnd(8)} ${row.exit}`);
    say(`  payments key versions: ${versions(emulator)} (one per generation: 2026-Q3, 2026-Q4, 2027-Q1, plus the original)`);
    say(`  rotate requests seen by the emulator: ${posts.length} (${posts.filter((p) => p.status === 204).length} x 204); a gated rotation sends none`);
    check(posts.length === 3 && posts.every((p) => p.status === 204), `the emulator must see exactly 3 rotate requests, all 204 (saw ${posts.map((p) => p.status).join(', ')})`);
    say(`  finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return verdict();
  } finally {
    await emulator.close();
  }
}

runDemo(main);
