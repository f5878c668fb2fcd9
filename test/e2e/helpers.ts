/**
 * Shared pieces of the end-to-end tests: a stack built only with the public constructs and
 * pointed at an in-process emulator, synth into a temp outdir, copying the stack directory
 * elsewhere (what a CI job does with an artifact), the runner environment Terraform would
 * give local-exec, and file walkers for the "no secret anywhere" checks.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, LocalBackend, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { KmsInstance, RootKey, type KeySync, type KeySyncResourceType } from '../../src';
import { DEFAULT_SEED, DEMO_API_KEY } from '../../src/emulator/seed';
import { rfc3339CeilSeconds } from '../../src/emulator/clock';
import type { RunningEmulator } from '../../src/emulator/server';
import type { RequestLogEntry } from '../../src/emulator/request-log';

export const STACK = 'e2e';
export const STATE_FILE = `terraform.${STACK}.tfstate`;

const ACCOUNT = '1234567890abcdef1234567890abcdef';
export const PAYMENTS = {
  instanceId: DEFAULT_SEED.instances[0].id,
  keyId: DEFAULT_SEED.keys[0].id,
  /** The seed's keys live in the `default` ring: declaring it makes the CLI send X-Kms-Key-Ring. */
  keyRing: 'default',
  resource: 'PaymentsKey_sync',
  crns: [
    `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:payments-ledger`,
    `crn:v1:bluemix:public:databases-for-postgresql:us-south:a/${ACCOUNT}:9c8b7a6f-5e4d-4c3b-a2f1-e0d9c8b7a6f5::`,
  ],
} as const;
export const ANALYTICS = {
  instanceId: DEFAULT_SEED.instances[1].id,
  keyId: DEFAULT_SEED.keys[1].id,
  resource: 'AnalyticsKey_sync',
  crns: [
    `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:analytics-raw`,
    `crn:v1:bluemix:public:messagehub:us-south:a/${ACCOUNT}:3d2c1b0a-9f8e-4d7c-b6a5-f4e3d2c1b0a9::`,
  ],
} as const;
export const ROTATION_1 = '2026-11-01';
export const ROTATION_2 = '2026-12-01';

export interface E2eStackOptions {
  readonly emulatorUrl: string;
  readonly paymentsRotation?: string;
  readonly resourceType?: KeySyncResourceType;
}

/**
 * A Key Protect key (in a declared key ring) and an HPCS key, two associations and a sync
 * each, both instances at the emulator URL; a relative LocalBackend keeps the stack
 * directory free of synth-machine paths (as main.ts's DemoStack does).
 */
export class E2eStack extends TerraformStack {
  public readonly payments: KeySync;
  public readonly analytics: KeySync;

  public constructor(scope: Construct, opts: E2eStackOptions) {
    super(scope, STACK);
    new LocalBackend(this, { path: STATE_FILE });
    const resourceType = opts.resourceType;
    const payments = new RootKey(this, 'PaymentsKey', {
      instance: KmsInstance.fromEndpoint({ instanceId: PAYMENTS.instanceId, endpoint: opts.emulatorUrl, service: 'key-protect' }),
      keyId: PAYMENTS.keyId,
      keyRing: PAYMENTS.keyRing,
      lifecycle: { state: 'active', rotation: opts.paymentsRotation ?? ROTATION_1 },
    });
    PAYMENTS.crns.forEach((resourceCrn, i) => payments.associate(`Resource${i}`, { resourceCrn }));
    this.payments = payments.sync(resourceType ? { resourceType } : {});
    const analytics = new RootKey(this, 'AnalyticsKey', {
      instance: KmsInstance.fromEndpoint({ instanceId: ANALYTICS.instanceId, endpoint: opts.emulatorUrl, service: 'hpcs' }),
      keyId: ANALYTICS.keyId,
      lifecycle: { state: 'active', rotation: ROTATION_1 },
    });
    ANALYTICS.crns.forEach((resourceCrn, i) => analytics.associate(`Resource${i}`, { resourceCrn }));
    this.analytics = analytics.sync(resourceType ? { resourceType } : {});
  }
}

/** A fresh temp directory (real path: macOS and some CI runners symlink /tmp). */
export function tempDir(prefix: string): string {
  return realpathSync(mkdtempSync(path.join(tmpdir(), `key-sync-e2e-${prefix}-`)));
}

/** Removes the directories a test created. */
export function cleanup(dirs: readonly string[]): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

/** The temporary directories of one test: `dir()` makes one, `cleanup()` removes them all. */
export class TempDirs {
  private made: string[] = [];

  dir(prefix: string): string {
    const d = tempDir(prefix);
    this.made.push(d);
    return d;
  }

  cleanup(): void {
    cleanup(this.made);
    this.made = [];
  }
}

/** Full synth of {@link E2eStack} with a real App into `outdir`; returns the stack directory. */
export function synthStack(outdir: string, opts: E2eStackOptions): string {
  const app = new App({ outdir });
  new E2eStack(app, opts);
  app.synth();
  return path.join(outdir, 'stacks', STACK);
}

/** Copies a synthesized stack directory over `dest` (keeping files already there, e.g. state). */
export function copyStack(stackDir: string, dest: string): string {
  cpSync(stackDir, dest, { recursive: true });
  return dest;
}

/** The synthesized JSON of a stack directory. */
export function stackJson(stackDir: string): StackJson {
  return JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')) as StackJson;
}

export interface SyncResourceJson {
  triggers?: Record<string, string>;
  triggers_replace?: Record<string, string>;
  provisioner: Array<{ 'local-exec': { command: string; environment?: Record<string, string> } }>;
}

export interface StackJson {
  resource: { null_resource?: Record<string, SyncResourceJson>; terraform_data?: Record<string, SyncResourceJson> };
  terraform: { backend?: { local?: { path: string } }; required_providers?: Record<string, unknown> };
  provider?: Record<string, unknown>;
}

/** Every file under `dir`. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : e.isFile() ? [p] : [];
  });
}

/**
 * The environment of a CI runner as Terraform hands it to local-exec: the process
 * environment without any IBM Cloud credential or endpoint variable, plus the API key and
 * the IAM endpoint (the emulator). `node` is put first on PATH (the command runs `node`).
 */
export function runnerEnv(emulatorUrl: string, apiKey: string = DEMO_API_KEY, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(IBMCLOUD_|IC_)/.test(k) || /^KEY_SYNC_/.test(k)) continue;
    env[k] = v;
  }
  env.PATH = [path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter);
  env.IBMCLOUD_API_KEY = apiKey;
  env.IBMCLOUD_IAM_API_ENDPOINT = emulatorUrl;
  // A runtime directory of its own, and the IAM token cache off unless a test asks for it
  // (KEY_SYNC_TOKEN_CACHE: 'on'): these tests move the emulator's clock hours ahead between
  // applies, past any token an earlier apply cached, which a real runner never sees, and
  // they count IAM exchanges per command.
  env.XDG_RUNTIME_DIR = mkdtempSync(path.join(tmpdir(), 'ks-runner-'));
  env.KEY_SYNC_TOKEN_CACHE = 'off';
  return { ...env, ...extra };
}

/** Sync requests the emulator received. */
export function syncRequests(emu: RunningEmulator): RequestLogEntry[] {
  return emu.log().filter((e) => e.route === 'keys.sync');
}

/** The sync path of a key. */
export function syncPath(keyId: string): string {
  return `/api/v2/keys/${keyId}/actions/sync`;
}

/** The time the sync gate of a key opens, in the two forms the CLI may print it. */
export function gateTimes(emu: RunningEmulator, instanceId: string, keyId: string): { rfc3339: string; human: string } {
  const key = emu.state.findKey(instanceId, keyId);
  const opens = key ? emu.state.gateOpensAt(key) : undefined;
  if (opens === undefined) throw new Error(`the gate of ${keyId} is open`);
  const rfc3339 = rfc3339CeilSeconds(opens);
  return { rfc3339, human: `${rfc3339.replace('T', ' ').replace(/Z$/, '')} UTC` };
}

/** One hour and a second: crosses the emulator's default sync gate. */
export const PAST_THE_GATE_MS = 3601_000;

/**
 * The sync hash of the README examples' payments key (the cdktf and the cdktn example
 * declare it alike), computed by hand: sha256sum over its canonical JSON. Both package
 * e2e tests expect it, so the installed package gives the same digest on both cores.
 */
export const README_PAYMENTS_SYNC_HASH = '5e8c60149832c49087a4c25c61a541ac76d48e6155c7156271422b95d2f9099e';
