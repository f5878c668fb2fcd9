/**
 * The run report end to end, as a CI job meets it: an apply where one key is gated and one
 * syncs fails as a whole (Terraform's `exit status 1` for any failing provisioner), and
 * `key-sync report` then exits 75 naming the gated key and the time its gate opens.
 * - with the stand-in (always) and with the real `terraform` (terraform_data: no provider
 *   download), skipped with its reason where no binary is on PATH;
 * - the README's "In CI" examples: the shell of the
 *   GitHub Actions steps and of the GitLab CI job run exactly as written, with the
 *   environment each runner gives them, against the emulator and a real terraform apply
 *   (only `npx cdktf deploy` is stood in for, by `terraform apply` of the synthesized
 *   stack; `npm ci`, `gh` and `sleep` are recorded, not run).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_SEED } from '../../src/emulator/seed';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import { emptyState, standInApply } from '../../scripts/lib/stand-in-terraform';
import { CLI, runCli, type CliRun } from '../helpers/cli';
import { skipUnless } from '../helpers/skip';
import { docBlock } from './doc-blocks';
import { ANALYTICS, copyStack, gateTimes, PAST_THE_GATE_MS, PAYMENTS, runnerEnv, syncPath, syncRequests, synthStack, TempDirs } from './helpers';

function terraformVersion(): string | undefined {
  const r = spawnSync('terraform', ['version'], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
  return r.status === 0 ? r.stdout.split('\n')[0] : undefined;
}

const TF = terraformVersion();
const withTerraform = skipUnless(TF !== undefined, 'the run report with real terraform', 'terraform is not on PATH (install terraform >= 1.4 to run it; the stand-in test runs anyway)');
const GITHUB = docBlock('in-ci-github');
const GITLAB = docBlock('in-ci-gitlab');

let emu: RunningEmulator;
const temp = new TempDirs();
const dir = (prefix: string): string => temp.dir(prefix);
let canary: string;

beforeEach(async () => {
  canary = `CANARY-apikey-in-ci-${process.pid}-${Date.now().toString(36)}`;
  // The payments key was synced a moment ago: its gate is closed for the hour.
  const keys = DEFAULT_SEED.keys.map((k) => (k.id === PAYMENTS.keyId ? { ...k, lastSyncDate: new Date().toISOString() } : k));
  emu = await startEmulator({ port: 0, seed: { ...DEFAULT_SEED, keys, apiKeys: [canary] } });
});
afterEach(async () => {
  await emu.close();
  temp.cleanup();
});

/** A synthesized stack copied to its own working directory (the CI checkout's cdktf.out). */
function stack(resourceType: 'null_resource' | 'terraform_data'): string {
  const work = path.join(dir('work'), 'stack');
  copyStack(synthStack(dir('out'), { emulatorUrl: emu.url, resourceType }), work);
  return work;
}

/** The runner's environment for Terraform and the commands it runs. */
function tfEnv(extra: Record<string, string> = {}): Record<string, string> {
  const rc = path.join(dir('tfrc'), 'empty.tfrc');
  fs.writeFileSync(rc, '');
  const env = runnerEnv(emu.url, canary, { CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: rc, ...extra });
  for (const k of Object.keys(env)) if (/^TF_(LOG|CLI_ARGS)/.test(k) || /^(GITHUB_|GITLAB_|CI_)/.test(k) || k === 'CI') delete env[k];
  return env;
}

function run(command: string, args: readonly string[], env: Record<string, string>, cwd: string, timeoutMs = 90_000): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const c = spawn(command, [...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('error', reject);
    c.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const flat = (s: string): string => s.replace(/\s+/g, ' ');

function expectNoCanary(what: string, text: string): void {
  expect({ what, canary: text.includes('CANARY-apikey'), jwt: /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./.test(text) }).toEqual({ what, canary: false, jwt: false });
}

/** What `key-sync report` must say after the apply: 75, the gated key and its gate time, the synced key. */
function expectReport75(r: CliRun, gateHuman: string): void {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 75, stderr: '' });
  expect(r.stdout).toMatch(new RegExp(`^${PAYMENTS.keyId}\\s+${PAYMENTS.instanceId}\\s+gated\\s+1\\s+${gateHuman}\\s+sync time gate closed`, 'm'));
  expect(r.stdout).toMatch(new RegExp(`^${ANALYTICS.keyId}\\s+${ANALYTICS.instanceId}\\s+synced\\s+1\\s+-\\s+sync accepted`, 'm'));
  expect(r.stdout).toContain(`Nothing is broken: re-run after ${gateHuman} (in `);
}

test('stand-in: one gated and one synced key fail the apply (the gated resource tainted); report exits 75 naming the key and the time', async () => {
  const work = stack('null_resource');
  const file = path.join(dir('report'), 'key-sync-report.jsonl');
  const applied = await standInApply(work, emptyState(), tfEnv({ KEY_SYNC_REPORT: file }));
  expect(applied.ok).toBe(false); // Terraform: "exit status 1" for the whole apply
  expect(applied.resources.map((r) => [r.address, r.exitCode])).toEqual([
    [`null_resource.${ANALYTICS.resource}`, 0],
    [`null_resource.${PAYMENTS.resource}`, 75],
  ]);
  expect(applied.state.resources[`null_resource.${PAYMENTS.resource}`]?.tainted).toBe(true);
  const gate = gateTimes(emu, PAYMENTS.instanceId, PAYMENTS.keyId);
  expectReport75(await runCli(['report', file], { PATH: process.env['PATH'] ?? '' }), gate.human);
  expectNoCanary('report file', fs.readFileSync(file, 'utf8'));
}, 60_000);

withTerraform.describe(`real terraform (${TF ?? 'absent'})`, () => {
  test('terraform_data: the apply exits 1 with the gated key inside; report exits 75 naming the key and the time', async () => {
    const work = stack('terraform_data');
    const file = path.join(dir('report'), 'key-sync-report.jsonl');
    const env = tfEnv({ KEY_SYNC_REPORT: file });
    expect((await run('terraform', ['init', '-input=false', '-no-color'], env, work)).code).toBe(0);
    const apply = await run('terraform', ['apply', '-auto-approve', '-input=false', '-no-color'], env, work);
    expect(apply.code).toBe(1);
    expect(flat(apply.stderr)).toMatch(/exit status 75/);
    expect(syncRequests(emu).map((e) => [e.path, e.status]).sort()).toEqual([[syncPath(ANALYTICS.keyId), 204], [syncPath(PAYMENTS.keyId), 409]].sort());
    const gate = gateTimes(emu, PAYMENTS.instanceId, PAYMENTS.keyId);
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { keyId: string; exitCode: number; notBefore?: string });
    expect(lines.map((l) => [l.keyId, l.exitCode]).sort()).toEqual([[ANALYTICS.keyId, 0], [PAYMENTS.keyId, 75]].sort());
    expect(lines.find((l) => l.keyId === PAYMENTS.keyId)?.notBefore).toBe(gate.rfc3339.replace('Z', '.000Z'));
    expectReport75(await runCli(['report', file], { PATH: process.env['PATH'] ?? '' }), gate.human);
    for (const [what, text] of [['apply', apply.stdout + apply.stderr], ['report file', fs.readFileSync(file, 'utf8')]] as const) expectNoCanary(what, text);
  }, 120_000);
});

/**
 * Commands on PATH ahead of the real ones, as the CI examples call them: `npx cdktf
 * deploy` (terraform apply of the synthesized stack), `npx key-sync` (this checkout's
 * bundle), and recorders for `npm`, `gh` and `sleep`.
 */
function shims(stackDir: string): { bin: string; calls: () => string[] } {
  const bin = dir('bin');
  const log = path.join(bin, 'calls.log');
  fs.writeFileSync(log, '');
  const write = (name: string, body: string): void => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  write('npx', `case "$1" in
  key-sync) shift; exec node ${JSON.stringify(CLI)} "$@" ;;
  cdktf) echo "npx $*" >> ${JSON.stringify(log)}; [ "$2" = deploy ] || exit 64; cd ${JSON.stringify(stackDir)} && exec terraform apply -auto-approve -input=false -no-color ;;
  *) echo "npx shim: unexpected $*" >&2; exit 64 ;;
esac`);
  for (const name of ['npm', 'gh', 'sleep']) write(name, `echo "${name} $*" >> ${JSON.stringify(log)}`);
  return { bin, calls: () => fs.readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') };
}

/** `bash -eo pipefail`, as GitHub (default shell) and GitLab (its bash shell) run scripts. */
function bash(script: string, env: Record<string, string>, cwd: string): Promise<CliRun> {
  const file = path.join(dir('script'), 'step.sh');
  fs.writeFileSync(file, script);
  return run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], env, cwd);
}

interface GithubStep {
  readonly id?: string;
  readonly run?: string;
  readonly uses?: string;
  readonly env?: Record<string, string>;
}
interface GithubJob {
  readonly env?: Record<string, string>;
  readonly outputs?: Record<string, string>;
  readonly if?: string;
  readonly needs?: string;
  readonly steps: GithubStep[];
}

/** The `${{ ... }}` expressions the example uses, resolved; any other is an error (the test must learn it). */
function resolve(value: string, known: Record<string, string>): string {
  return value.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_m, expr: string) => {
    const v = known[expr];
    if (v === undefined) throw new Error(`${GITHUB.file}: the test does not know the expression \${{ ${expr} }}`);
    return v;
  });
}

function resolved(env: Record<string, string> | undefined, known: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, resolve(v, known)]));
}

/** `name=value` lines of a $GITHUB_OUTPUT / dotenv file. */
function keyValues(file: string): Record<string, string> {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

withTerraform.describe('the README "In CI" examples, their shell run as written', () => {
  test('GitHub Actions: gated -> green with warnings, summary and retry-after; the retry job waits for the gate and starts the workflow; the re-run syncs', async () => {
    const workflow = parseYaml(GITHUB.text) as { name: string; jobs: { deploy: GithubJob; retry: GithubJob } };
    const { deploy, retry } = workflow.jobs;
    const step = deploy.steps.find((s) => s.id === 'deploy');
    expect(step?.run).toBeDefined();
    expect(deploy.steps.filter((s) => s.run !== undefined && s.id !== 'deploy').map((s) => s.run)).toEqual(['npm ci']);
    expect(retry.if).toBe("needs.deploy.outputs.retry-after != ''");
    const work = stack('terraform_data');
    const { bin, calls } = shims(work);
    const base = tfEnv();
    expect((await run('terraform', ['init', '-input=false', '-no-color'], base, work)).code).toBe(0);
    const checkout = dir('checkout');

    /** One run of the deploy job's deploy step on a fresh runner: its exit code, outputs, summary and log. */
    const runDeploy = async (): Promise<{ r: CliRun; outputs: Record<string, string>; summary: string; report: string }> => {
      const runner = dir('runner');
      const files = { GITHUB_OUTPUT: path.join(runner, 'output'), GITHUB_STEP_SUMMARY: path.join(runner, 'summary.md') };
      const known = { 'secrets.KEY_SYNC_API_KEY': canary, 'runner.temp': runner };
      // a fresh runner: its own temp directory, and so its own IAM token cache
      const env: Record<string, string> = { ...base, XDG_RUNTIME_DIR: dir('xdg'), PATH: `${bin}:${base['PATH']}`, GITHUB_ACTIONS: 'true', CI: 'true', RUNNER_TEMP: runner, GITHUB_WORKFLOW: workflow.name, GITHUB_REF_NAME: 'main', GITHUB_REPOSITORY: 'acme/infra', ...files, ...resolved(deploy.env, known), ...resolved(step?.env, known) };
      const r = await bash(step?.run ?? '', env, checkout);
      const outputs = Object.fromEntries(Object.entries(deploy.outputs ?? {}).map(([k, v]) => [k, resolve(v, { 'steps.deploy.outputs.retry-after': keyValues(files.GITHUB_OUTPUT)['retry-after'] ?? '' })]));
      return { r, outputs, summary: fs.existsSync(files.GITHUB_STEP_SUMMARY) ? fs.readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8') : '', report: fs.readFileSync(env['KEY_SYNC_REPORT'] as string, 'utf8') };
    };

    // Run 1: the payments key is gated, the analytics key syncs.
    const first = await runDeploy();
    const gate = gateTimes(emu, PAYMENTS.instanceId, PAYMENTS.keyId);
    expect({ code: first.r.code, tail: first.r.stdout.trimEnd().split('\n').at(-1) }).toEqual({ code: 0, tail: 'Nothing is broken: the gated keys get through on a re-run after the time above.' });
    expect(flat(first.r.stderr)).toMatch(/exit status 75/); // terraform failed the apply
    expect(first.r.stdout).toMatch(new RegExp(`^::warning title=key-sync%3A sync ${PAYMENTS.keyId} gated::sync of key ${PAYMENTS.keyId} .*retry after ${gate.human}`, 'm'));
    expect(first.r.stdout).not.toMatch(/^::error/m);
    expect(first.outputs).toEqual({ 'retry-after': gate.rfc3339.replace('Z', '.000Z') });
    expect(first.summary).toContain(`### key-sync: nothing is broken, retry after ${gate.human}`);
    expect(first.summary).toMatch(new RegExp(`\\| ${PAYMENTS.keyId} \\| ${PAYMENTS.instanceId} \\| gated \\| 1 \\| ${gate.human} \\|`));

    // The retry job runs (its `if` holds): it sleeps until the gate opens, then starts the workflow.
    expect(first.outputs['retry-after']).not.toBe('');
    const retryStep = retry.steps[0] as GithubStep;
    const known = { 'needs.deploy.outputs.retry-after': first.outputs['retry-after'] ?? '', 'github.token': 'ghs_not-a-real-token' };
    const before = calls().length;
    const waited = await bash(retryStep.run ?? '', { ...base, PATH: `${bin}:${base['PATH']}`, GITHUB_ACTIONS: 'true', GITHUB_WORKFLOW: workflow.name, GITHUB_REF_NAME: 'main', GITHUB_REPOSITORY: 'acme/infra', ...resolved(retryStep.env, known) }, checkout);
    expect(waited.code).toBe(0);
    const [sleepCall, ghCall] = calls().slice(before);
    const seconds = Number(/^sleep (\d+)$/.exec(sleepCall ?? '')?.[1]);
    const expected = Math.round((Date.parse(gate.rfc3339) - Date.now()) / 1000) + 30;
    expect(Math.abs(seconds - expected)).toBeLessThanOrEqual(5);
    expect(ghCall).toBe('gh workflow run deploy-keys --ref main --repo acme/infra');

    // Run 2, started by the retry job once the gate opened: the tainted sync runs again and passes.
    emu.clock.advance(PAST_THE_GATE_MS);
    const second = await runDeploy();
    expect(second.r.code).toBe(0);
    expect(second.r.stdout).toContain('Apply complete! Resources: 1 added, 0 changed, 1 destroyed.');
    expect(second.outputs).toEqual({ 'retry-after': '' }); // the retry job's `if` is false now
    expect(second.summary).toContain('### key-sync: every key succeeded');
    expect(syncRequests(emu).filter((e) => e.path === syncPath(PAYMENTS.keyId)).map((e) => e.status)).toEqual([409, 204]);
    expect(calls().filter((c) => c.startsWith('npx cdktf'))).toEqual(['npx cdktf deploy keys --auto-approve', 'npx cdktf deploy keys --auto-approve']);
    for (const [what, text] of [['run 1', first.r.stdout + first.r.stderr], ['run 2', second.r.stdout + second.r.stderr], ['summary', first.summary], ['report', first.report]] as const) expectNoCanary(what, text);
  }, 180_000);

  test('GitLab CI: gated -> exit 75 (allowed: a warning), JUnit with the gated key skipped, retry.env; the delayed retry job waits and syncs', async () => {
    interface GitlabJob { variables?: Record<string, string>; before_script?: string[]; script?: string[]; allow_failure?: { exit_codes: number[] }; artifacts?: { reports?: { junit?: string; dotenv?: string } }; extends?: string; when?: string }
    const ci = parseYaml(GITLAB.text) as Record<string, GitlabJob>;
    const job = ci['deploy-keys'] as GitlabJob;
    const retry = ci['retry-keys'] as GitlabJob;
    expect(job.allow_failure?.exit_codes).toEqual([75]);
    expect(retry).toMatchObject({ extends: 'deploy-keys', when: 'delayed' });
    const work = stack('terraform_data');
    const { bin, calls } = shims(work);
    const base = tfEnv({ IBMCLOUD_API_KEY: canary });
    expect((await run('terraform', ['init', '-input=false', '-no-color'], base, work)).code).toBe(0);

    /** A job on a fresh checkout: before_script and script in one shell, variables expanded as GitLab does. */
    const runJob = async (before: readonly string[], extra: Record<string, string>): Promise<{ r: CliRun; project: string }> => {
      const project = dir('project');
      const variables = Object.fromEntries(Object.entries(job.variables ?? {}).map(([k, v]) => [k, v.replace(/\$CI_PROJECT_DIR/g, project)]));
      const env = { ...base, XDG_RUNTIME_DIR: dir('xdg'), PATH: `${bin}:${base['PATH']}`, CI: 'true', GITLAB_CI: 'true', CI_PROJECT_DIR: project, ...variables, ...extra };
      return { r: await bash([...before, ...(job.script ?? [])].join('\n'), env, project), project };
    };

    const first = await runJob(job.before_script ?? [], {});
    const gate = gateTimes(emu, PAYMENTS.instanceId, PAYMENTS.keyId);
    expect(first.r.code).toBe(75);
    expect(flat(first.r.stderr)).toMatch(/exit status 75/);
    expect(first.r.stdout).toContain(`Nothing is broken: re-run after ${gate.human} (in `);
    const junit = fs.readFileSync(path.join(first.project, job.artifacts?.reports?.junit ?? ''), 'utf8');
    expect(XMLValidator.validate(junit)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'testcase' }).parse(junit) as { testsuites: { tests: string; failures: string; skipped: string; testsuite: { testcase: Array<Record<string, unknown>> } } };
    expect(doc.testsuites).toMatchObject({ tests: '2', failures: '0', skipped: '1' });
    expect(doc.testsuites.testsuite.testcase.map((c) => [c['name'], 'skipped' in c])).toEqual([
      [`key ${PAYMENTS.keyId} (instance ${PAYMENTS.instanceId})`, true],
      [`key ${ANALYTICS.keyId} (instance ${ANALYTICS.instanceId})`, false],
    ]);
    const dotenv = keyValues(path.join(first.project, job.artifacts?.reports?.dotenv ?? ''));
    expect(dotenv).toEqual({ KEY_SYNC_RETRY_AFTER: gate.rfc3339.replace('Z', '.000Z') });

    // The delayed retry job, after its start_in: it gets the dotenv variables, waits out what is left, deploys again.
    emu.clock.advance(PAST_THE_GATE_MS);
    const before = calls().length;
    const second = await runJob(retry.before_script ?? [], dotenv);
    expect(second.r.code).toBe(0);
    expect(second.r.stdout).toContain('Apply complete! Resources: 1 added, 0 changed, 1 destroyed.');
    const seconds = Number(/^sleep (\d+)$/.exec(calls().slice(before).find((c) => c.startsWith('sleep')) ?? '')?.[1]);
    expect(Math.abs(seconds - (Math.round((Date.parse(gate.rfc3339) - Date.now()) / 1000) + 30))).toBeLessThanOrEqual(5);
    expect(keyValues(path.join(second.project, 'retry.env'))).toEqual({ KEY_SYNC_RETRY_AFTER: 'none' });
    // ... and a retry job after a run with nothing gated ends at once
    const idle = await runJob(retry.before_script ?? [], { KEY_SYNC_RETRY_AFTER: 'none' });
    expect({ code: idle.r.code, out: idle.r.stdout.trim() }).toEqual({ code: 0, out: 'nothing was gated' });
    expect(calls().filter((c) => c.startsWith('npx cdktf'))).toHaveLength(2);
    expect(syncRequests(emu).filter((e) => e.path === syncPath(PAYMENTS.keyId)).map((e) => e.status)).toEqual([409, 204]);
    for (const [what, text] of [['job 1', first.r.stdout + first.r.stderr], ['job 2', second.r.stdout + second.r.stderr], ['junit', junit]] as const) expectNoCanary(what, text);
  }, 180_000);
});
