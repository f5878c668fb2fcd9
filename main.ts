/**
 * The example CDKTF app: one stack, `key-sync-demo`, with a Key Protect key and an HPCS
 * key, each protecting two resources and synced by `key-sync` whenever what is declared
 * about it changes.
 *
 * Environment (all optional):
 * - `KEY_SYNC_DEMO_ENDPOINT`: an explicit key-management URL for both instances (the demo
 *   points it at the local emulator); unset, the real regional endpoints are used.
 * - `KEY_SYNC_DEMO_PAYMENTS_ROTATION` / `KEY_SYNC_DEMO_ANALYTICS_ROTATION`: the declared
 *   rotation markers; change one and only that key re-syncs.
 * - `KEY_SYNC_DEMO_PAYMENTS_GENERATION`: declare a rotation of the payments key with this
 *   generation (`paymentsKey.rotate({ generation })`); change it and the key is rotated
 *   once more (`npm run demo:rotation` does). Unset: no rotation is declared.
 * - `KEY_SYNC_DEMO_RESOURCE_TYPE`: `terraform_data` to sync through Terraform's built-in
 *   resource instead of `null_resource` (no provider download; the demo uses it when
 *   `terraform init` cannot install hashicorp/null).
 * - `CDKTF_OUTDIR`: where to synthesize (default `cdktf.out`).
 *
 * Importing this file builds nothing; running it (`npm run synth`) synthesizes.
 */
import { App, LocalBackend, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { KmsInstance, RootKey, type KeySyncResourceType, type KmsService } from './src';

/** Name of the demo stack (its directory under `cdktf.out/stacks/`). */
export const DEMO_STACK_NAME = 'key-sync-demo';

/** The values of the emulator's built-in seed. */
export const DEMO = {
  accountCrnScope: 'a/1234567890abcdef1234567890abcdef',
  payments: {
    instanceId: '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20',
    region: 'us-south',
    keyId: '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84',
    name: 'payments-root',
    defaultRotation: '2026-11-01',
    associations: {
      LedgerBucket: 'crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:payments-ledger',
      LedgerDatabase: 'crn:v1:bluemix:public:databases-for-postgresql:us-south:a/1234567890abcdef1234567890abcdef:9c8b7a6f-5e4d-4c3b-a2f1-e0d9c8b7a6f5::',
    },
  },
  analytics: {
    instanceId: '6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73',
    region: 'us-south',
    port: 9730,
    keyId: 'c7e2a9f4-1b6d-4c38-9e05-a3f8d2b1c6e9',
    name: 'analytics-root',
    defaultRotation: '2026-11-01',
    associations: {
      RawBucket: 'crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:analytics-raw',
      EventStream: 'crn:v1:bluemix:public:messagehub:us-south:a/1234567890abcdef1234567890abcdef:3d2c1b0a-9f8e-4d7c-b6a5-f4e3d2c1b0a9::',
    },
  },
} as const;

/** Environment the demo stack reads (`KEY_SYNC_DEMO_*`; defaults to `process.env`). */
export type DemoEnv = Readonly<Record<string, string | undefined>>;

function instance(endpoint: string | undefined, service: KmsService, regional: () => KmsInstance, instanceId: string): KmsInstance {
  return endpoint ? KmsInstance.fromEndpoint({ instanceId, endpoint, service }) : regional();
}

/** The example stack: a Key Protect key and an HPCS key, two associations and a sync each. */
export class DemoStack extends TerraformStack {
  public readonly paymentsKey: RootKey;
  public readonly analyticsKey: RootKey;

  public constructor(scope: Construct, id: string = DEMO_STACK_NAME, env: DemoEnv = process.env) {
    super(scope, id);
    // A relative state path: cdktf's default is absolute, which would tie the stack
    // directory to this machine. Terraform runs in the stack directory.
    new LocalBackend(this, { path: `terraform.${id}.tfstate` });

    const endpoint = env.KEY_SYNC_DEMO_ENDPOINT || undefined;
    const resourceType = env.KEY_SYNC_DEMO_RESOURCE_TYPE as KeySyncResourceType | undefined;
    const syncOptions = resourceType ? { resourceType } : {};
    const p = DEMO.payments;
    const keyProtect = instance(endpoint, 'key-protect', () => KmsInstance.keyProtect({ instanceId: p.instanceId, region: p.region }), p.instanceId);
    this.paymentsKey = new RootKey(this, 'PaymentsKey', {
      instance: keyProtect,
      keyId: p.keyId,
      name: p.name,
      lifecycle: { state: 'active', rotation: env.KEY_SYNC_DEMO_PAYMENTS_ROTATION || p.defaultRotation },
    });
    for (const [id, resourceCrn] of Object.entries(p.associations)) this.paymentsKey.associate(id, { resourceCrn });
    this.paymentsKey.sync(syncOptions);
    // Rotated exactly once per generation; the sync above runs after the rotation.
    const generation = env.KEY_SYNC_DEMO_PAYMENTS_GENERATION || undefined;
    if (generation !== undefined) this.paymentsKey.rotate({ generation, ...syncOptions });

    const a = DEMO.analytics;
    const hpcs = instance(endpoint, 'hpcs', () => KmsInstance.hyperProtect({ instanceId: a.instanceId, region: a.region, port: a.port }), a.instanceId);
    this.analyticsKey = new RootKey(this, 'AnalyticsKey', {
      instance: hpcs,
      keyId: a.keyId,
      name: a.name,
      lifecycle: { state: 'active', rotation: env.KEY_SYNC_DEMO_ANALYTICS_ROTATION || a.defaultRotation },
    });
    for (const [id, resourceCrn] of Object.entries(a.associations)) this.analyticsKey.associate(id, { resourceCrn });
    this.analyticsKey.sync(syncOptions);
  }
}

/** Synthesizes the example stack into `outdir` (the demos call this; `cdktf synth` runs the block below). */
export function synthDemo(outdir: string, env: DemoEnv = process.env): void {
  const app = new App({ outdir });
  new DemoStack(app, DEMO_STACK_NAME, env);
  app.synth();
}

if (require.main === module) {
  const app = new App();
  new DemoStack(app, DEMO_STACK_NAME);
  app.synth();
}
