/**
 * A declared rotation end to end: synth (KeyRotation + KeySync on one key), a copy of the
 * stack directory, applies against the in-process emulator, with the real `terraform`
 * binary (terraform_data needs no provider) and with the stand-in (which runs each
 * local-exec as Terraform does). One story for both:
 *
 *  1. first apply: the record, the rotation (one new version) and the sync, which the
 *     rotation's gate refuses and which succeeds saying the rotation notified the resources;
 *  2. re-apply, nothing changed: no rotation, no sync;
 *  3. two hours later, a generation bump: exactly one rotation, no sync;
 *  4. two hours later, a bump with an association change: one rotation, and the sync runs
 *     and succeeds ("no sync needed": the rotation notified the resources);
 *  5. ten minutes later, a bump: the once-an-hour gate, exit 75, the rotation tainted, the
 *     time named; 6. an hour later: one rotation, with the same requested-at time;
 *  7. two hours later, a bump whose answer is lost (reset after the service rotated):
 *     one rotation, found by reading the key;
 *  8. ten minutes later, a gated bump, then a rotation by a policy an hour later: the next
 *     apply finds the generation rotated and sends no rotate request.
 *
 * The emulator follows real time (Terraform's plantimestamp() is this machine's) and is
 * moved forward instead of sleeping; the CLI measures that as the service's clock skew.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, LocalBackend, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { emptyState, standInApply, type StandInState } from '../../scripts/lib/stand-in-terraform';
import { KmsInstance, RootKey, type KeySyncResourceType } from '../../src';
import { DEFAULT_SEED } from '../../src/emulator/seed';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import { skipUnless } from '../helpers/skip';
import { copyStack, filesUnder, PAYMENTS, runnerEnv, TempDirs } from './helpers';

const STACK = 'rotation';
const STATE_FILE = `terraform.${STACK}.tfstate`;
const MIN = 60_000;
const HOUR = 60 * MIN;
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./;

interface Declared {
  readonly generation: string;
  readonly crns: readonly string[];
}

class RotationStack extends TerraformStack {
  public constructor(scope: Construct, emulatorUrl: string, d: Declared, resourceType: KeySyncResourceType | undefined) {
    super(scope, STACK);
    new LocalBackend(this, { path: STATE_FILE });
    const key = new RootKey(this, 'PaymentsKey', {
      instance: KmsInstance.fromEndpoint({ instanceId: PAYMENTS.instanceId, endpoint: emulatorUrl }),
      keyId: PAYMENTS.keyId,
      keyRing: PAYMENTS.keyRing,
    });
    d.crns.forEach((resourceCrn, i) => key.associate(`Resource${i}`, { resourceCrn }));
    const opts = resourceType === undefined ? {} : { resourceType };
    key.sync(opts);
    key.rotate({ generation: d.generation, ...opts });
  }
}

/** What one apply did, as the story checks it. */
interface Applied {
  readonly ok: boolean;
  /** Everything printed (Terraform's output, or each resource's command output). */
  readonly out: string;
  /** Resource name -> ran its command this time (created/replaced and run). */
  readonly ran: Readonly<Record<string, boolean>>;
}

interface Applier {
  apply(): Promise<Applied>;
  /** Resource name -> tainted, from the state. */
  tainted(): Promise<Record<string, boolean>>;
  /** The requested-at time in the state's record. */
  requestedAt(): Promise<string | undefined>;
  /** Every text CI would keep (outputs, state, files), for the no-secret check. */
  kept(): Array<[string, string]>;
}

let emu: RunningEmulator;
const temp = new TempDirs();
const dir = (prefix: string): string => temp.dir(prefix);
let canary: string;

/** Synthesizes the stack into `outdir` and copies it over `work` (keeping its state). */
function synthInto(outdir: string, work: string, d: Declared, resourceType: KeySyncResourceType | undefined): void {
  const saved = process.env.IBMCLOUD_API_KEY;
  process.env.IBMCLOUD_API_KEY = canary; // synth runs where the credential is set, as in CI
  try {
    const app = new App({ outdir });
    new RotationStack(app, emu.url, d, resourceType);
    app.synth();
  } finally {
    if (saved === undefined) delete process.env.IBMCLOUD_API_KEY;
    else process.env.IBMCLOUD_API_KEY = saved;
  }
  copyStack(path.join(outdir, 'stacks', STACK), work);
}

const paymentsKey = () => {
  const k = emu.state.findKey(PAYMENTS.instanceId, PAYMENTS.keyId);
  if (k === undefined) throw new Error('seed key missing');
  return k;
};
const versions = (): number => paymentsKey().versions.length;
const rotatePosts = () => emu.log().filter((e) => e.route === 'keys.action' && e.path.endsWith('/actions/rotate'));
const syncPosts = () => emu.log().filter((e) => e.route === 'keys.sync');
const flat = (s: string): string => s.replace(/\s+/g, ' ');
/** "2026-11-28 21:38:43 UTC" as the CLI prints a service time. */
const utc = (ms: number): string => `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;

const CRNS = PAYMENTS.crns;

/** The whole story against `applier`, re-synthesizing through `declare`. */
async function story(applier: Applier, declare: (d: Declared) => void, sync: string, rotation: string): Promise<void> {
  // 1. first apply
  declare({ generation: '2026-Q3', crns: [CRNS[0]] });
  const first = await applier.apply();
  expect({ ok: first.ok, out: first.out }).toEqual({ ok: true, out: expect.stringContaining('key-sync: rotated key') });
  expect(first.ran).toMatchObject({ [rotation]: true, [sync]: true });
  expect(first.out).toContain('key-sync: no sync needed, key');
  expect(versions()).toBe(2);
  expect(rotatePosts().map((e) => e.status)).toEqual([204]);
  expect(syncPosts().map((e) => e.status)).toEqual([409]);
  const firstAt = await applier.requestedAt();
  expect(firstAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  // 2. re-apply, nothing changed
  const again = await applier.apply();
  expect(again.ok).toBe(true);
  expect(again.ran).toEqual({});
  expect(versions()).toBe(2);
  expect(rotatePosts()).toHaveLength(1);
  expect(await applier.requestedAt()).toBe(firstAt);

  // 3. a generation bump alone: one rotation, no sync
  emu.clock.advance(2 * HOUR);
  declare({ generation: '2026-Q4', crns: [CRNS[0]] });
  const bump = await applier.apply();
  expect(bump.ok).toBe(true);
  expect(bump.ran).toEqual({ [rotation]: true });
  expect(versions()).toBe(3);
  expect(rotatePosts()).toHaveLength(2);
  expect(syncPosts()).toHaveLength(1);

  // 4. a bump and an association change: one rotation, and a sync that the rotation made unnecessary
  emu.clock.advance(2 * HOUR);
  declare({ generation: '2027-Q1', crns: [...CRNS] });
  const both = await applier.apply();
  expect({ ok: both.ok, out: both.out }).toEqual({ ok: true, out: expect.stringContaining('key-sync: no sync needed, key') });
  expect(both.ran).toEqual({ [rotation]: true, [sync]: true });
  expect(flat(both.out)).toMatch(/that rotation notified its associated resources/);
  expect(versions()).toBe(4);
  expect(syncPosts().map((e) => e.status)).toEqual([409, 409]);

  // 5. ten minutes later, another bump: gated, exit 75, tainted, the opening time named
  emu.clock.advance(10 * MIN);
  const lastRotation = paymentsKey().lastRotateDate ?? 0;
  declare({ generation: '2027-Q2', crns: [...CRNS] });
  const gated = await applier.apply();
  expect(gated.ok).toBe(false);
  expect(flat(gated.out)).toContain(`rotation time gate closed until ${utc(lastRotation + HOUR)}`);
  expect(flat(gated.out)).toMatch(/exit status 75|exit 75/);
  expect(await applier.tainted()).toMatchObject({ [rotation]: true, [sync]: false });
  expect(versions()).toBe(4);
  const gatedAt = await applier.requestedAt();
  expect(gatedAt).not.toBe(firstAt);

  // 6. an hour later, the next apply: one rotation, the same requested-at
  emu.clock.advance(HOUR);
  const retried = await applier.apply();
  expect({ ok: retried.ok, out: retried.out }).toEqual({ ok: true, out: expect.stringContaining('key-sync: rotated key') });
  expect(retried.ran).toEqual({ [rotation]: true });
  expect(await applier.requestedAt()).toBe(gatedAt);
  expect(await applier.tainted()).toMatchObject({ [rotation]: false });
  expect(versions()).toBe(5);
  expect(rotatePosts().map((e) => e.status)).toEqual([204, 204, 204, 204]);

  // 7. a lost answer: the service rotates, the connection drops; the key read tells
  emu.clock.advance(2 * HOUR);
  emu.injectFaults('keys.action', [{ reset: 'after-handler' }]);
  declare({ generation: '2027-Q3', crns: [...CRNS] });
  const lost = await applier.apply();
  expect({ ok: lost.ok, out: lost.out }).toEqual({ ok: true, out: expect.stringContaining('the rotate request got no answer, and the key read after it shows new version') });
  expect(versions()).toBe(6);
  expect(rotatePosts().at(-1)).toMatchObject({ status: 0, handledStatus: 204 });
  expect(rotatePosts()).toHaveLength(5);

  // 8. a gated bump, then a rotation by a policy: the next apply rotates nothing
  emu.clock.advance(10 * MIN);
  declare({ generation: '2027-Q4', crns: [...CRNS] });
  expect((await applier.apply()).ok).toBe(false);
  expect(await applier.tainted()).toMatchObject({ [rotation]: true });
  emu.clock.advance(61 * MIN);
  expect(emu.state.action(paymentsKey(), 'rotate', emu.clock.now()).ok).toBe(true); // the policy
  const byPolicy = await applier.apply();
  expect({ ok: byPolicy.ok, out: byPolicy.out }).toEqual({ ok: true, out: expect.stringContaining('key-sync: nothing to rotate, key') });
  expect(flat(byPolicy.out)).toContain('already rotated for generation 2027-Q4');
  expect(versions()).toBe(7);
  expect(rotatePosts()).toHaveLength(5);

  // nothing secret in what CI keeps
  for (const [what, text] of applier.kept()) {
    expect({ what, canary: text.includes('CANARY-apikey'), token: JWT.test(text) }).toEqual({ what, canary: false, token: false });
  }
  expect(JSON.stringify(emu.log())).not.toContain('CANARY-apikey');
}

beforeEach(async () => {
  canary = `CANARY-apikey-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  emu = await startEmulator({ port: 0, seed: { ...DEFAULT_SEED, apiKeys: [canary] } });
});
afterEach(async () => {
  await emu.close();
  temp.cleanup();
});

describe('stand-in terraform (each local-exec run as Terraform does)', () => {
  test('the story with cdktf\'s default resource type (null_resource) for the sync and the rotation', async () => {
    const outdir = dir('out');
    const work = path.join(dir('work'), 'stack');
    const env = runnerEnv(emu.url, canary);
    let state: StandInState = emptyState();
    const outputs: Array<[string, string]> = [];
    const applier: Applier = {
      apply: async () => {
        const r = await standInApply(work, state, env);
        state = r.state;
        const out = r.resources.map((x) => `${x.address} ${x.action} ${x.reason}${x.exitCode === undefined ? '' : ` exit ${x.exitCode}`}\n${x.stdout ?? ''}${x.stderr ?? ''}`).join('\n');
        outputs.push(['stand-in apply', out]);
        const ran = Object.fromEntries(r.resources.filter((x) => x.exitCode !== undefined && x.command !== undefined).map((x) => [x.address.split('.')[1] ?? '', true]));
        return { ok: r.ok, out, ran };
      },
      tainted: async () => Object.fromEntries(Object.entries(state.resources).map(([a, s]) => [a.split('.')[1] ?? '', s.tainted])),
      requestedAt: async () => (state.resources['terraform_data.PaymentsKey_rotation_requested_at']?.output as { requested_at?: string } | undefined)?.requested_at,
      kept: () => [...outputs, ...filesUnder(work).map((f): [string, string] => [path.relative(work, f), readFileSync(f, 'latin1')])],
    };
    await story(applier, (d) => synthInto(outdir, work, d, undefined), 'PaymentsKey_sync', 'PaymentsKey_rotation');
  }, 90_000);
});

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

function terraform(binary: string, cwd: string, args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

skipUnless(FOUND.binary !== undefined, 'real terraform rotation e2e', `${FOUND.why}. Install terraform >= 1.5 or tofu >= 1.6 (plantimestamp()) to run it`).describe(
  `real ${FOUND.binary ?? 'terraform'} (${FOUND.version ?? FOUND.why})`,
  () => {
    test("the story with resourceType 'terraform_data' (no provider to download)", async () => {
      const binary = FOUND.binary as string;
      const outdir = dir('out');
      const work = path.join(dir('work'), 'stack');
      const tfrc = path.join(dir('tfrc'), 'empty.tfrc');
      writeFileSync(tfrc, '');
      const env = runnerEnv(emu.url, canary, { CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: tfrc, TF_IN_AUTOMATION: '1' });
      for (const k of Object.keys(env)) if (/^TF_(LOG|CLI_ARGS)/.test(k)) delete env[k];
      const outputs: Array<[string, string]> = [];
      const run = async (args: readonly string[]): Promise<{ code: number | null; out: string }> => {
        const r = await terraform(binary, work, args, env);
        outputs.push([`${binary} ${args.join(' ')}`, r.out]);
        return r;
      };
      const show = async (): Promise<Array<{ address: string; tainted?: boolean; values?: { output?: { requested_at?: string } } }>> => {
        const r = await terraform(binary, work, ['show', '-json', '-no-color'], env);
        expect(r.code).toBe(0);
        return (JSON.parse(r.out) as { values?: { root_module?: { resources?: Array<{ address: string; tainted?: boolean }> } } }).values?.root_module?.resources ?? [];
      };
      let initialized = false;
      const applier: Applier = {
        apply: async () => {
          if (!initialized) {
            const init = await run(['init', '-input=false', '-no-color']);
            expect({ code: init.code, out: init.out }).toEqual({ code: 0, out: expect.stringContaining('initialized') });
            initialized = true;
          }
          const r = await run(['apply', '-auto-approve', '-input=false', '-no-color']);
          const ran = Object.fromEntries([...r.out.matchAll(/terraform_data\.(\w+): Provisioning with 'local-exec'/g)].map((m) => [m[1] ?? '', true]));
          return { ok: r.code === 0, out: r.out, ran };
        },
        tainted: async () => Object.fromEntries((await show()).map((x) => [x.address.split('.')[1] ?? '', x.tainted === true])),
        requestedAt: async () => (await show()).find((x) => x.address === 'terraform_data.PaymentsKey_rotation_requested_at')?.values?.output?.requested_at,
        kept: () => [
          ...outputs,
          ...(existsSync(path.join(work, STATE_FILE)) ? [[STATE_FILE, readFileSync(path.join(work, STATE_FILE), 'utf8')] as [string, string]] : []),
          ...filesUnder(work).filter((f) => !f.includes(`${path.sep}.terraform${path.sep}`)).map((f): [string, string] => [path.relative(work, f), readFileSync(f, 'latin1')]),
        ],
      };
      await story(applier, (d) => synthInto(outdir, work, d, 'terraform_data'), 'PaymentsKey_sync', 'PaymentsKey_rotation');
      // the plan of a bump names the generation change and leaves the sync alone
      synthInto(outdir, work, { generation: '2028-Q1', crns: [...CRNS] }, 'terraform_data');
      const plan = await run(['plan', '-input=false', '-no-color']);
      expect(plan.out).toContain('terraform_data.PaymentsKey_rotation must be replaced');
      expect(plan.out).toContain('terraform_data.PaymentsKey_rotation_requested_at must be replaced');
      expect(plan.out).not.toContain('terraform_data.PaymentsKey_sync must be replaced');
      expect(plan.out).toMatch(/generation"?\s+= "2027-Q4" -> "2028-Q1"/);
    }, 120_000);
  },
);
