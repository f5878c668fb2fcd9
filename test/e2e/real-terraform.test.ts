/**
 * End to end with the real thing: when `terraform` or `tofu` (or `$TERRAFORM_BINARY_NAME`)
 * is on PATH, a synthesized stack directory, copied elsewhere, is initialised, planned and
 * applied for real against the in-process emulator, through a closed time gate (taint)
 * and its retry.
 *
 * - `resourceType: 'terraform_data'` needs no provider, so it runs wherever a binary is
 *   (Terraform >= 1.4, OpenTofu >= 1.6), network or not.
 * - `null_resource` needs `terraform init` to install hashicorp/null (network, or a
 *   provider mirror set up in the CLI config `TF_CLI_CONFIG_FILE` points to); where that
 *   fails, that part is skipped with a printed reason.
 *
 * Terraform runs as a child process; it is spawned asynchronously because the emulator
 * answers from this process's event loop.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { KeySyncResourceType } from '../../src';
import { DEFAULT_SEED } from '../../src/emulator/seed';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import {
  ANALYTICS,
  cleanup,
  copyStack,
  filesUnder,
  gateTimes,
  PAST_THE_GATE_MS,
  PAYMENTS,
  ROTATION_1,
  ROTATION_2,
  runnerEnv,
  stackJson,
  STATE_FILE,
  syncPath,
  syncRequests,
  synthStack,
  tempDir,
  TempDirs,
} from './helpers';
import { skipUnless } from '../helpers/skip';

/** The first of `$TERRAFORM_BINARY_NAME`, terraform, tofu whose `version` runs. */
function findBinary(): { binary?: string; version?: string; why: string } {
  const candidates = [process.env.TERRAFORM_BINARY_NAME, 'terraform', 'tofu'].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ['version'], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
    if (r.status === 0) return { binary: c, version: r.stdout.split('\n')[0], why: '' };
  }
  return { why: `none of ${candidates.join(', ')} is on PATH` };
}

const FOUND = findBinary();
// A JWT: base64url header and payload, both JSON objects (`eyJ` = `{"`), dot-separated. Looser
// patterns match the base64 of the bundled CLI's embedded code cache and wasm parser.
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./;

interface Run {
  readonly code: number | null;
  readonly out: string;
}

let emu: RunningEmulator;
const temp = new TempDirs();
const dir = (prefix: string): string => temp.dir(prefix);
let canary: string;

/**
 * Terraform's environment: the runner's (canary API key, IAM at the emulator), no version
 * check, and a CLI config that exists (the machine's `TF_CLI_CONFIG_FILE` if it points at
 * a file, e.g. one with a provider mirror; else an empty one, so no warning is printed).
 */
function terraformEnv(): Record<string, string> {
  const env = runnerEnv(emu.url, canary, { CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: cliConfig(dir('tfrc')), TF_IN_AUTOMATION: '1' });
  for (const k of Object.keys(env)) if (/^TF_(LOG|CLI_ARGS)/.test(k)) delete env[k];
  return env;
}

function terraform(cwd: string, args: readonly string[], env: Record<string, string>, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(FOUND.binary as string, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

/** Resource address -> tainted, from `terraform show -json` of the working directory's state. */
async function taintedByAddress(cwd: string, env: Record<string, string>): Promise<Record<string, boolean>> {
  const r = await terraform(cwd, ['show', '-json', '-no-color'], env);
  expect(r.code).toBe(0);
  const json = JSON.parse(r.out) as { values?: { root_module?: { resources?: Array<{ address: string; tainted?: boolean }> } } };
  return Object.fromEntries((json.values?.root_module?.resources ?? []).map((x) => [x.address, x.tainted === true]));
}

/** Whitespace-normalised (Terraform wraps diagnostics). */
function flat(s: string): string {
  return s.replace(/\s+/g, ' ');
}

function expectNoSecret(what: string, text: string): void {
  expect({ what, canary: text.includes('CANARY-apikey'), token: JWT.test(text) }).toEqual({ what, canary: false, token: false });
}

/**
 * The whole story for one resource type, in a copy of the synthesized stack directory:
 * init, plan (readable triggers), apply (two 204s), a declared change applied inside the
 * gate (non-zero exit, gate time, tainted), the clock moved past the gate, apply (0).
 * Only called where `init` can install what the stack needs (decided at collection).
 */
async function story(resourceType: KeySyncResourceType): Promise<void> {
  const outdir = dir('out');
  const work = path.join(dir('work'), 'stack');
  const env = terraformEnv();
  const saved = process.env.IBMCLOUD_API_KEY;
  process.env.IBMCLOUD_API_KEY = canary; // synth runs where the credential is set, as in CI
  try {
    copyStack(synthStack(outdir, { emulatorUrl: emu.url, paymentsRotation: ROTATION_1, resourceType }), work);
  } finally {
    if (saved === undefined) delete process.env.IBMCLOUD_API_KEY;
    else process.env.IBMCLOUD_API_KEY = saved;
  }
  const json = stackJson(work);
  expect(Object.keys(json.resource)).toEqual([resourceType]);
  const payments = `${resourceType}.${PAYMENTS.resource}`;
  const analytics = `${resourceType}.${ANALYTICS.resource}`;
  const outputs: Array<[string, string]> = [];
  const run = async (args: readonly string[]): Promise<Run> => {
    const r = await terraform(work, args, env);
    outputs.push([`${FOUND.binary} ${args.join(' ')}`, r.out]);
    return r;
  };

  const init = await run(['init', '-input=false', '-no-color']);
  expect({ code: init.code, out: init.out }).toEqual({ code: 0, out: expect.stringContaining('initialized') });

  // plan shows why each sync will run: the readable trigger entries, not only a digest
  const plan = await run(['plan', '-input=false', '-no-color']);
  expect(plan.code).toBe(0);
  expect(plan.out).toContain(`${payments} will be created`);
  expect(plan.out).toContain(`${analytics} will be created`);
  expect(plan.out).toMatch(new RegExp(`key_id"?\\s+= "${PAYMENTS.keyId}"`));
  expect(plan.out).toMatch(new RegExp(`key_rotation"?\\s+= "${ROTATION_1}"`));
  expect(plan.out).toMatch(/key_state"?\s+= "active"/);
  expect(plan.out).toMatch(/association_count"?\s+= "2"/);
  expect(plan.out).toMatch(/sync_hash"?\s+= "[0-9a-f]{64}"/);

  const first = await run(['apply', '-auto-approve', '-input=false', '-no-color']);
  expect({ code: first.code, out: first.out }).toEqual({ code: 0, out: expect.stringContaining('Apply complete! Resources: 2 added') });
  expect(first.out).toContain(`synced key ${PAYMENTS.keyId}`);
  expect(syncRequests(emu).map((e) => [e.path, e.status]).sort()).toEqual([
    [syncPath(PAYMENTS.keyId), 204],
    [syncPath(ANALYTICS.keyId), 204],
  ].sort());
  expect(syncRequests(emu).find((e) => e.path === syncPath(PAYMENTS.keyId))?.keyRing).toBe(PAYMENTS.keyRing);

  // a declared change, re-synthesized into the same outdir and copied over the working
  // directory, which keeps its state (as a CI job with persisted state does)
  copyStack(synthStack(outdir, { emulatorUrl: emu.url, paymentsRotation: ROTATION_2, resourceType }), work);
  expect(existsSync(path.join(work, STATE_FILE))).toBe(true);
  const plan2 = await run(['plan', '-input=false', '-no-color']);
  expect(plan2.code).toBe(0);
  expect(plan2.out).toContain(`${payments} must be replaced`);
  expect(plan2.out).not.toContain(`${analytics} must be replaced`);
  expect(plan2.out).toMatch(new RegExp(`key_rotation"?\\s+= "${ROTATION_1}" -> "${ROTATION_2}"`));
  // (null_resource marks the change '# forces replacement'; terraform_data's
  // triggers_replace replaces by definition and is not annotated)
  if (resourceType === 'null_resource') expect(plan2.out).toContain('forces replacement');

  const gated = await run(['apply', '-auto-approve', '-input=false', '-no-color']);
  expect(gated.code).not.toBe(0);
  const gate = gateTimes(emu, PAYMENTS.instanceId, PAYMENTS.keyId);
  expect(flat(gated.out)).toContain(gate.human);
  expect(flat(gated.out)).toMatch(/exit status 75/);
  expect(await taintedByAddress(work, env)).toEqual({ [payments]: true, [analytics]: false });
  const stateShow = await run(['state', 'show', '-no-color', payments]);
  expect(stateShow.out).toContain('(tainted)');

  emu.clock.advance(PAST_THE_GATE_MS);
  const retried = await run(['apply', '-auto-approve', '-input=false', '-no-color']);
  expect({ code: retried.code, out: retried.out }).toEqual({ code: 0, out: expect.stringContaining('Apply complete! Resources: 1 added, 0 changed, 1 destroyed') });
  expect(await taintedByAddress(work, env)).toEqual({ [payments]: false, [analytics]: false });
  expect(syncRequests(emu).filter((e) => e.path === syncPath(PAYMENTS.keyId)).map((e) => e.status)).toEqual([204, 409, 204]);
  expect(syncRequests(emu).filter((e) => e.path === syncPath(ANALYTICS.keyId)).map((e) => e.status)).toEqual([204]);

  // nothing secret in what CI would keep: command output, state, the working directory
  for (const [what, out] of outputs) expectNoSecret(what, out);
  expectNoSecret(STATE_FILE, readFileSync(path.join(work, STATE_FILE), 'utf8'));
  for (const f of filesUnder(work)) {
    if (f.includes(`${path.sep}.terraform${path.sep}providers${path.sep}`)) continue; // provider binaries
    expectNoSecret(path.relative(work, f), readFileSync(f, 'latin1'));
  }
  expectNoSecret('emulator log', JSON.stringify(emu.log()));
}

/** The machine's CLI config if it exists (it may set up a provider mirror), else an empty file in `dir`. */
function cliConfig(dirForEmpty: string): string {
  const given = process.env.TF_CLI_CONFIG_FILE;
  if (given && existsSync(given)) return given;
  const empty = path.join(dirForEmpty, 'empty.tfrc');
  writeFileSync(empty, '');
  return empty;
}

/**
 * Can `init` install hashicorp/null here? Asked once, before any test, of a real
 * null_resource synth (so the version constraint is the one the stack pins).
 */
function probeNullProvider(): { ok: boolean; why: string } {
  const probe = tempDir('probe');
  try {
    const stackDir = synthStack(path.join(probe, 'out'), { emulatorUrl: 'http://127.0.0.1:9', resourceType: 'null_resource' });
    const r = spawnSync(FOUND.binary as string, ['init', '-input=false', '-no-color', '-backend=false'], {
      cwd: stackDir,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: cliConfig(probe) },
    });
    if (r.status === 0) return { ok: true, why: '' };
    // Terraform's diagnostic: "Error: <summary>", a blank line, the detail paragraph
    const diag = `${r.stdout}${r.stderr}`.match(/Error: [^\n]*\n\n(?:[^\n]+\n?)*/)?.[0];
    const error = diag ? flat(diag).trim() : `exit ${String(r.status ?? r.signal)}`;
    return { ok: false, why: `\`${FOUND.binary} init\` cannot install hashicorp/null here (no network or provider mirror): ${error}` };
  } finally {
    cleanup([probe]);
  }
}

const withBinary = skipUnless(FOUND.binary !== undefined, 'real terraform e2e', `${FOUND.why}. Install terraform >= 1.4 or tofu >= 1.6 (or set TERRAFORM_BINARY_NAME) to run it`);
const NULL_PROVIDER = FOUND.binary === undefined ? { ok: false, why: FOUND.why } : probeNullProvider();
const withNullProvider = skipUnless(
  NULL_PROVIDER.ok,
  `real ${FOUND.binary ?? 'terraform'} e2e for null_resource`,
  `${NULL_PROVIDER.why}. The terraform_data e2e runs. To run this part too, give the runner registry access or a provider mirror (provider_installation in the file TF_CLI_CONFIG_FILE names)`,
);

withBinary.describe(`real ${FOUND.binary ?? 'terraform'} (${FOUND.version ?? FOUND.why}) against the emulator`, () => {
  beforeEach(async () => {
    canary = `CANARY-apikey-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    emu = await startEmulator({ port: 0, seed: { ...DEFAULT_SEED, apiKeys: [canary] } });
  });
  afterEach(async () => {
    await emu.close();
    temp.cleanup();
  });

  test("resourceType 'terraform_data' (no provider to download): init, plan, apply, gate -> tainted, retry", () => story('terraform_data'), 60_000);

  withNullProvider.test(
    `null_resource: init, plan, apply, gate -> tainted, retry${NULL_PROVIDER.ok ? '' : ` (skipped: ${NULL_PROVIDER.why})`}`,
    () => story('null_resource'),
    60_000,
  );
});
