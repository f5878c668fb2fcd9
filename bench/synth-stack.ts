/**
 * One synth, in its own process (run by bench/run.js with tsx): `keysync N` builds N
 * RootKeys with 3 associations and a KeySync each; `baseline N` builds the same Terraform
 * by hand with @cdktf/provider-null (N null_resources with equivalent triggers and a
 * local-exec command). Prints one JSON line: { kind, keys, synthMs, resources }.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { Resource } from '@cdktf/provider-null/lib/resource';
import { KmsInstance, RootKey } from '../src';

const [kind, nRaw] = process.argv.slice(2);
const n = Number(nRaw ?? '1000');
const INSTANCE = '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20';
const ENDPOINT = 'https://us-south.kms.cloud.ibm.com';
const keyId = (i: number): string => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const crn = (i: number, j: number): string => `crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:b-${i}-${j}`;

const outdir = mkdtempSync(path.join(os.tmpdir(), 'ks-bench-synth-'));
const t0 = process.hrtime.bigint();
const app = new App({ outdir });
const stack = new TerraformStack(app, 'bench');
if (kind === 'keysync') {
  const instance = KmsInstance.fromEndpoint({ instanceId: INSTANCE, endpoint: ENDPOINT });
  for (let i = 0; i < n; i++) {
    const key = new RootKey(stack, `Key${i}`, { instance, keyId: keyId(i), lifecycle: { state: 'active', rotation: '2026-11-01' } });
    for (let j = 0; j < 3; j++) key.associate(`A${j}`, { resourceCrn: crn(i, j) });
    key.sync();
  }
} else if (kind === 'baseline') {
  new NullProvider(stack, 'null');
  for (let i = 0; i < n; i++) {
    const crns = [0, 1, 2].map((j) => crn(i, j));
    const hash = createHash('sha256').update(JSON.stringify({ INSTANCE, ENDPOINT, key: keyId(i), state: 'active', rotation: '2026-11-01', crns })).digest('hex');
    new Resource(stack, `Key${i}Sync`, {
      triggers: { sync_hash: hash, key_id: keyId(i), instance_id: INSTANCE, association_count: '3' },
      provisioners: [{ type: 'local-exec', command: `node assets/KeySyncCli/HASH/key-sync.cjs sync --instance-id ${INSTANCE} --key-id ${keyId(i)} --endpoint ${ENDPOINT} --max-wait 900` }],
    });
  }
} else {
  throw new Error(`unknown kind ${String(kind)}`);
}
app.synth();
const synthMs = Number(process.hrtime.bigint() - t0) / 1e6;
const tf = JSON.parse(readFileSync(path.join(outdir, 'stacks', 'bench', 'cdk.tf.json'), 'utf8')) as { resource?: Record<string, Record<string, unknown>> };
const resources = Object.values(tf.resource ?? {}).reduce((a, r) => a + Object.keys(r).length, 0);
rmSync(outdir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ kind, keys: n, synthMs, resources })}\n`);
