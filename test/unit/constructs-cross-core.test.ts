/**
 * Both cores in one process: the same declaration synthesized with the constructs on
 * cdktf and on cdktn (src/constructs/core-cdktn.ts in place of core.ts, as the
 * `cdktf-key-sync/cdktn` build does), compared whole. Each core gets its own module
 * registry (jest.isolateModules), and the cdktn one fails if anything asks for `cdktf`
 * or `@cdktf/*`. Runs in the default project only (the `cdktn` project maps `cdktf` away).
 */
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { KeySyncOptions } from '../../src';
import { syncResources, triggersOf, type SynthJson } from '../helpers/sync-resource';

type Core = 'cdktf' | 'cdktn';
type Cdk = typeof import('cdktf');
type Lib = typeof import('../../src');

const SRC = path.resolve(__dirname, '../../src');
const CORE = '../../src/constructs/core';
const NOT_IN_A_CDKTN_APP = ['cdktf', '@cdktf/provider-null/lib/provider', '@cdktf/provider-null/lib/resource', '@cdktf/provider-null'];

/** Runs `fn` with a fresh module registry in which the constructs and the app use `core`. */
function withCore<T>(core: Core, fn: (cdk: Cdk, lib: Lib) => T): T {
  let out: { value: T } | undefined;
  jest.isolateModules(() => {
    if (core === 'cdktn') {
      jest.doMock(CORE, () => jest.requireActual('../../src/constructs/core-cdktn'));
      for (const m of NOT_IN_A_CDKTN_APP) {
        jest.doMock(m, () => {
          throw new Error(`${m} was loaded by the constructs built on cdktn`);
        });
      }
    }
    try {
      out = { value: fn(require(core) as Cdk, require('../../src') as Lib) };
    } finally {
      for (const m of [CORE, ...NOT_IN_A_CDKTN_APP]) jest.dontMock(m);
    }
  });
  return out!.value;
}

interface Synth {
  readonly json: SynthJson;
  /** Relative path -> content of every file in the stack directory. */
  readonly files: Record<string, string>;
}

function filesUnder(dir: string, base = dir): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) Object.assign(out, filesUnder(p, base));
    else out[path.relative(base, p)] = readFileSync(p, 'latin1');
  }
  return out;
}

/** A README-like stack (two keys, a key ring, markers, associations, a token), synthesized with `core`. */
function synth(core: Core, sync: KeySyncOptions = {}): Synth {
  return withCore(core, (cdk, lib) => {
    expect(require('../../src/constructs/core').CORE_PACKAGE).toBe(core);
    const outdir = realpathSync(mkdtempSync(path.join(tmpdir(), `ks-cross-${core}-`)));
    try {
      const app = new cdk.App({ outdir });
      const stack = new cdk.TerraformStack(app, 'keys');
      new cdk.LocalBackend(stack, { path: 'terraform.keys.tfstate' });
      const rotation = new cdk.TerraformVariable(stack, 'rotation', { type: 'string', default: '2026-11-01' }).stringValue;
      const payments = new lib.RootKey(stack, 'PaymentsKey', {
        instance: lib.KmsInstance.keyProtect({ instanceId: '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20', region: 'us-south' }),
        keyId: '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84',
        keyRing: 'payments',
        lifecycle: { state: 'active', rotation: '2026-11-01' },
      });
      payments.associate('Ledger', { resourceCrn: 'crn:v1:bluemix:public:cloud-object-storage:global:a/1234567890abcdef1234567890abcdef:5e2b3c1d-7a9f-4e8b-a6c2-d1f0e9b8a7c6:bucket:payments-ledger' });
      payments.sync(sync);
      const analytics = new lib.RootKey(stack, 'AnalyticsKey', {
        instance: lib.KmsInstance.hyperProtect({ instanceId: '6b3f8d1a-2c9e-4d7b-8a5f-1e0c9b2d4a73', region: 'us-south', port: 9730 }),
        keyId: 'analytics-root',
        lifecycle: { rotation },
      });
      analytics.sync({ ...sync, maxWaitSeconds: 0, verifyRegistrations: true });
      app.synth();
      const stackDir = path.join(outdir, 'stacks', 'keys');
      const files = filesUnder(stackDir);
      return { json: JSON.parse(files['cdk.tf.json']!) as SynthJson, files };
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
}

/** The JSON without the `//` metadata comments (they name the core and its version). */
function withoutMetadata(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutMetadata);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== '//').map(([k, v]) => [k, withoutMetadata(v)]));
  }
  return value;
}

describe('the same declaration on cdktf and on cdktn', () => {
  test('terraform_data: the stack directory is the same, file for file, but for the metadata comments', () => {
    const viaCdktf = synth('cdktf', { resourceType: 'terraform_data' });
    const viaCdktn = synth('cdktn', { resourceType: 'terraform_data' });
    expect(Object.keys(viaCdktn.files).sort()).toEqual(Object.keys(viaCdktf.files).sort());
    expect(withoutMetadata(viaCdktn.json)).toEqual(withoutMetadata(viaCdktf.json));
    for (const f of Object.keys(viaCdktf.files).filter((n) => n !== 'cdk.tf.json')) expect({ f, same: viaCdktn.files[f] === viaCdktf.files[f] }).toEqual({ f, same: true });
    // the hash, literal and token form alike
    const hashes = (s: Synth): Record<string, string> =>
      Object.fromEntries(Object.entries(syncResources(s.json, 'terraform_data')).map(([name, r]) => [name, triggersOf(r)['sync_hash']!]));
    expect(hashes(viaCdktn)).toEqual(hashes(viaCdktf));
    expect(hashes(viaCdktf)).toEqual({
      PaymentsKey_sync: expect.stringMatching(/^[0-9a-f]{64}$/),
      AnalyticsKey_sync: expect.stringMatching(/^\$\{sha256\(jsonencode\(\{.*var\.rotation.*\}\)\)\}$/),
    });
  });

  test("each core's default: null_resource on cdktf, terraform_data on cdktn, with the same names, trigger maps and commands", () => {
    const viaCdktf = syncResources(synth('cdktf').json, 'null_resource');
    const viaCdktn = syncResources(synth('cdktn').json, 'terraform_data');
    expect(Object.keys(viaCdktn).sort()).toEqual(Object.keys(viaCdktf).sort());
    for (const name of Object.keys(viaCdktf)) {
      expect(viaCdktn[name]!.triggers_replace).toEqual(viaCdktf[name]!.triggers);
      expect(viaCdktn[name]!.provisioner).toEqual(viaCdktf[name]!.provisioner);
    }
  });
});

test('in src/, only src/constructs/core.ts imports cdktf or @cdktf/* (the one place the core is swapped)', () => {
  const importsCdktf = /(?:from\s+|require\(\s*|import\(\s*|import\s+)'(cdktf|@cdktf\/[^']*)'/;
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
  const offenders = walk(SRC).filter((f) => importsCdktf.test(readFileSync(f, 'utf8'))).map((f) => path.relative(SRC, f));
  expect(offenders).toEqual([path.join('constructs', 'core.ts')]);
});
