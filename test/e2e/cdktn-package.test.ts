/**
 * CDK Terrain as a user does it: the package as `npm pack` builds it, installed with
 * `cdktn` and `cdktn-cli` from the registry into an empty project by the README's cdktn
 * steps (run as written), the example synthesized, applied with the real `terraform`
 * against the emulator, applied again (nothing syncs), a marker bumped (that key syncs
 * once). Also: the app never loads cdktf, and a stack applied with cdktf
 * (`resourceType: 'terraform_data'`) moves to cdktn without a sync, as the README's
 * migration steps say.
 *
 * The steps are the blocks marked `<!-- e2e: cdktn-... -->` in README.md (see
 * doc-blocks.ts); the one edit made to them: `cdktf-key-sync` in the
 * `npm install` line is the packed tarball. What cannot run here is skipped with the
 * reason: no npm registry or usable cache (never on CI), no `terraform`, or a Node older
 * than cdktn-cli needs for its own commands.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runProcess, type CliRun } from '../helpers/cli';
import { skipUnless } from '../helpers/skip';
import { commandOf, syncResources, triggersOf, type SynthJson } from '../helpers/sync-resource';
import { DEFAULT_SEED } from '../../src/emulator/seed';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server';
import { docBlock } from './doc-blocks';
import { cleanup, PAST_THE_GATE_MS, README_PAYMENTS_SYNC_HASH, syncRequests, tempDir } from './helpers';
import { PACKAGE, ROOT, installSpecs, npmUnavailable, packedTarball, runBlock, runSetupBlock, userEnv, withTarball } from './npm-project';

const SETUP = docBlock('cdktn-setup');
const MAIN = docBlock('cdktn-main');
const SYNTH = docBlock('cdktn-synth');
const APPLY = docBlock('cdktn-apply');
const SPECS = installSpecs(SETUP.text);
const CANARY = `CANARY-apikey-cdktn-${process.pid}`;
const PAYMENTS_KEY = '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84';
/** cdktn-cli 0.24.0's `engines.node` (checked against the installed package below). */
const CDKTN_CLI_NODE = '22.19.0';

test('the documented cdktn steps pin the versions this repository builds and tests with', () => {
  const pinned = Object.fromEntries(SPECS.map((s) => [s.slice(0, s.lastIndexOf('@')), s.slice(s.lastIndexOf('@') + 1)]));
  expect(pinned).toEqual({
    cdktn: PACKAGE.devDependencies['cdktn'],
    constructs: PACKAGE.devDependencies['constructs'],
    'cdktn-cli': PACKAGE.devDependencies['cdktn'],
    tsx: PACKAGE.devDependencies['tsx'],
  });
  expect(PACKAGE.peerDependencies['cdktn']).toBe(`^${PACKAGE.devDependencies['cdktn']}`);
  expect(MAIN.text).toMatch(/^import \{ App, LocalBackend, TerraformStack \} from 'cdktn';$/m);
  expect(MAIN.text).toMatch(/^import \{ KmsInstance, RootKey \} from 'cdktf-key-sync\/cdktn';$/m);
});

function atLeast(version: string, min: string): boolean {
  const [a, b] = [version, min].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if ((a![i] ?? 0) !== (b![i] ?? 0)) return (a![i] ?? 0) > (b![i] ?? 0);
  return true;
}

const npmWhy = npmUnavailable(SPECS);
const hasTerraform = spawnSync('terraform', ['version'], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, CHECKPOINT_DISABLE: '1' } }).status === 0;
const withNpm = skipUnless(npmWhy === undefined, 'cdktn package e2e', npmWhy ?? '');
const withTerraform = skipUnless(npmWhy === undefined && hasTerraform, 'cdktn package e2e with terraform', npmWhy ?? 'terraform is not on PATH (the README steps run `terraform`)');
const withCdktnCli = skipUnless(
  npmWhy === undefined && atLeast(process.versions.node, CDKTN_CLI_NODE),
  '`cdktn synth` through cdktn-cli',
  npmWhy ?? `cdktn-cli 0.24.0 needs Node >= ${CDKTN_CLI_NODE} (its engines field) and this is Node ${process.versions.node}; the app command (npm run synth) is tested instead`,
);

let work: string;
let project: string;

/** Terraform's CLI config: the machine's if it exists, else an empty file (no warning about a missing one). */
function tfCliConfig(): string {
  const given = process.env['TF_CLI_CONFIG_FILE'];
  if (given && fs.existsSync(given)) return given;
  const empty = path.join(work, 'empty.tfrc');
  fs.writeFileSync(empty, '');
  return empty;
}

/** The runner's environment in CI: the API key (a canary) and IAM/KMS at the emulator. */
function runnerEnv(emu: RunningEmulator, extra: Record<string, string> = {}): Record<string, string> {
  return userEnv({
    IBMCLOUD_API_KEY: CANARY,
    IBMCLOUD_IAM_API_ENDPOINT: emu.url,
    IBMCLOUD_KP_API_ENDPOINT: emu.url,
    TF_IN_AUTOMATION: '1',
    TF_CLI_CONFIG_FILE: tfCliConfig(),
    // The test moves the emulator's clock between applies: a token cached by an earlier
    // apply would meet a 401 (a real runner's clock moves with IAM's).
    KEY_SYNC_TOKEN_CACHE: 'off',
    ...extra,
  });
}

function stackJson(outdir: string): SynthJson {
  return JSON.parse(fs.readFileSync(path.join(project, outdir, 'stacks', 'keys', 'cdk.tf.json'), 'utf8')) as SynthJson;
}

function expectOk(what: string, r: CliRun, contains: string): void {
  expect({ what, code: r.code, out: r.stdout + r.stderr }).toEqual({ what, code: 0, out: expect.stringContaining(contains) });
}

withNpm.describe(`the packed package in a new cdktn project (steps from ${SETUP.file})`, () => {
  beforeAll(async () => {
    work = tempDir('cdktn');
    project = path.join(work, 'infra');
    await runSetupBlock(withTarball(SETUP.text, packedTarball()), project, 180_000);
    fs.writeFileSync(path.join(project, 'main.ts'), MAIN.text);
  }, 300_000);

  afterAll(() => cleanup(work === undefined ? [] : [work]));

  test('the app synthesizes on cdktn without loading cdktf: terraform_data syncs, no provider, the same hash as on cdktf', async () => {
    // Every CommonJS module the app loaded, written when it exits.
    const guard = path.join(work, 'loaded-modules.cjs');
    const log = path.join(work, 'loaded-modules.json');
    fs.writeFileSync(guard, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(log)}, JSON.stringify(Object.keys(require.cache))));\n`);
    const run = await runProcess(process.execPath, ['--require', guard, '--import', 'tsx', 'main.ts'], userEnv({ CDKTF_OUTDIR: 'guard.out' }), { cwd: project, timeoutMs: 60_000 });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const loaded = JSON.parse(fs.readFileSync(log, 'utf8')) as string[];
    const from = (pkg: string): string[] => loaded.filter((p) => p.includes(`${path.sep}node_modules${path.sep}${pkg}${path.sep}`));
    expect(from('cdktn').length).toBeGreaterThan(0);
    expect(from(path.join(PACKAGE.name, 'cdktn')).length).toBeGreaterThan(0);
    expect({ cdktf: from('cdktf'), '@cdktf': from('@cdktf'), lib: from(path.join(PACKAGE.name, 'lib')) }).toEqual({ cdktf: [], '@cdktf': [], lib: [] });

    const json = stackJson('guard.out');
    expect(Object.keys(json.resource ?? {})).toEqual(['terraform_data']);
    expect(json['provider']).toBeUndefined();
    const resources = syncResources(json, 'terraform_data');
    expect(Object.keys(resources).sort()).toEqual(['AnalyticsKey_sync', 'PaymentsKey_sync']);
    // the same digest package.test.ts expects of the cdktf example's payments key
    expect(triggersOf(resources['PaymentsKey_sync']!)).toEqual({
      sync_hash: README_PAYMENTS_SYNC_HASH,
      key_id: PAYMENTS_KEY,
      key_state: 'active',
      key_rotation: '2026-11-01',
      association_count: '1',
    });
    expect(commandOf(resources['PaymentsKey_sync']!)).toMatch(/^node 'assets\/KeySyncCli\/[0-9A-F]{32}\/key-sync\.cjs' sync /);
  }, 90_000);

  test('the example type-checks against the installed cdktf-key-sync/cdktn, whose files never name cdktf', async () => {
    const { otherCoreReferences } = require(path.join(ROOT, 'scripts', 'build-cdktn.js')) as { otherCoreReferences: (dir: string) => string[] };
    const shipped = path.join(project, 'node_modules', PACKAGE.name, 'cdktn');
    expect(fs.readdirSync(shipped)).toContain('index.d.ts');
    expect(otherCoreReferences(shipped)).toEqual([]);
    // This repository's TypeScript, strict, as a CommonJS project resolves (node16).
    const tsc = (file: string): Promise<CliRun> =>
      runProcess(process.execPath, [require.resolve('typescript/bin/tsc'), '--noEmit', '--strict', '--skipLibCheck', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', file], userEnv(), { cwd: project, timeoutMs: 60_000 });
    const ok = await tsc('main.ts');
    expect({ code: ok.code, out: ok.stdout + ok.stderr }).toEqual({ code: 0, out: '' });
    // and they are real types, not `any`: a number is not an instance id
    fs.writeFileSync(
      path.join(project, 'wrong.ts'),
      "import { App, TerraformStack } from 'cdktn';\nimport { KmsInstance, RootKey } from 'cdktf-key-sync/cdktn';\n" +
        "const stack = new TerraformStack(new App(), 's');\n" +
        "new RootKey(stack, 'K', { instance: KmsInstance.keyProtect({ instanceId: 1, region: 'us-south' }), keyId: 'k' });\n",
    );
    const wrong = await tsc('wrong.ts');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout).toMatch(/wrong\.ts\(4,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/);
  }, 90_000);

  withTerraform.describe('applied with terraform against the emulator', () => {
    let emu: RunningEmulator;
    beforeEach(async () => {
      emu = await startEmulator({ port: 0, seed: { ...DEFAULT_SEED, apiKeys: [CANARY] } });
    });
    afterEach(async () => {
      await emu.close();
    });

    test('synth + apply syncs both keys; again: nothing syncs; a bumped marker: that key syncs once', async () => {
      const outputs: string[] = [];
      const step = async (block: string, contains: string): Promise<void> => {
        const r = await runBlock(block, project, runnerEnv(emu), 120_000);
        outputs.push(r.stdout + r.stderr);
        expectOk(block.split('\n')[0]!, r, contains);
      };
      const syncs = (): Array<[string, number]> => syncRequests(emu).map((e) => [e.path.split('/')[4]!, e.status]);

      await step(SYNTH.text, '');
      await step(APPLY.text, 'Apply complete! Resources: 2 added, 0 changed, 0 destroyed.');
      expect(syncs().sort()).toEqual([['4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84', 204], ['analytics-root', 204]]);

      await step(SYNTH.text, '');
      await step(APPLY.text, 'No changes.');
      expect(syncs()).toHaveLength(2);

      // The user bumps the rotation marker in main.ts; an hour later (the service's gate) they apply.
      const main = fs.readFileSync(path.join(project, 'main.ts'), 'utf8');
      const bumped = main.replace("rotation: '2026-11-01'", "rotation: '2026-12-01'");
      expect(bumped).not.toBe(main);
      fs.writeFileSync(path.join(project, 'main.ts'), bumped);
      try {
        emu.clock.advance(PAST_THE_GATE_MS);
        await step(SYNTH.text, '');
        await step(APPLY.text, 'Apply complete! Resources: 1 added, 0 changed, 1 destroyed.');
        expect(syncs().slice(2)).toEqual([['4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84', 204]]);
      } finally {
        fs.writeFileSync(path.join(project, 'main.ts'), main);
      }

      const state = fs.readFileSync(path.join(project, 'cdktf.out', 'stacks', 'keys', 'terraform.keys.tfstate'), 'utf8');
      for (const text of [...outputs, state]) expect(text).not.toContain(CANARY);
    }, 240_000);

    test('a stack applied with cdktf (terraform_data) moves to cdktn with no change and no sync', async () => {
      // The README's migration step 1: the same app on cdktf, syncs declared as terraform_data...
      const onCdktf = MAIN.text
        .replace("from 'cdktn';", "from 'cdktf';")
        .replace("from 'cdktf-key-sync/cdktn';", "from 'cdktf-key-sync';")
        .replace('payments.sync();', "payments.sync({ resourceType: 'terraform_data' });")
        .replace('analytics.sync({ maxWaitSeconds: 0 });', "analytics.sync({ maxWaitSeconds: 0, resourceType: 'terraform_data' });");
      expect(onCdktf.match(/'terraform_data'/g)).toHaveLength(2);
      expect(onCdktf).not.toContain("'cdktn'");
      fs.writeFileSync(path.join(project, 'main-cdktf.ts'), onCdktf);
      const env = runnerEnv(emu, { CDKTF_OUTDIR: 'migrate.out' });
      const stack = path.join(project, 'migrate.out', 'stacks', 'keys');
      const tf = (args: string[]): Promise<CliRun> => runProcess('terraform', args, env, { cwd: stack, timeoutMs: 60_000 });

      expectOk('synth on cdktf', await runProcess(process.execPath, ['--import', 'tsx', 'main-cdktf.ts'], env, { cwd: project, timeoutMs: 60_000 }), '');
      expect((stackJson('migrate.out')['//'] as { metadata: { version: string } }).metadata.version).toBe(PACKAGE.dependencies['cdktf']);
      expectOk('init', await tf(['init', '-input=false', '-no-color']), 'initialized');
      expectOk('apply on cdktf', await tf(['apply', '-input=false', '-auto-approve', '-no-color']), 'Resources: 2 added');
      expect(syncRequests(emu)).toHaveLength(2);

      // ...then the imports swapped to cdktn (the README example as it is): no change at all.
      expectOk('synth on cdktn', await runProcess(process.execPath, ['--import', 'tsx', 'main.ts'], env, { cwd: project, timeoutMs: 60_000 }), '');
      expect((stackJson('migrate.out')['//'] as { metadata: { version: string } }).metadata.version).toBe(PACKAGE.devDependencies['cdktn']);
      const plan = await tf(['plan', '-input=false', '-detailed-exitcode', '-no-color']);
      expect({ code: plan.code, out: plan.stdout }).toEqual({ code: 0, out: expect.stringContaining('No changes.') });
      expectOk('apply on cdktn', await tf(['apply', '-input=false', '-auto-approve', '-no-color']), 'No changes.');
      expect(syncRequests(emu)).toHaveLength(2);
    }, 180_000);
  });

  test(`the installed cdktn-cli asks for Node >= ${CDKTN_CLI_NODE}`, () => {
    const cli = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', 'cdktn-cli', 'package.json'), 'utf8')) as { engines?: { node?: string } };
    expect(cli.engines?.node).toBe(`>=${CDKTN_CLI_NODE}`);
  });

  withCdktnCli.test('`npx cdktn synth` writes the same stack as the app command', async () => {
    const viaCli = await runProcess('npx', ['cdktn', 'synth'], userEnv(), { cwd: project, timeoutMs: 120_000 });
    expectOk('cdktn synth', viaCli, 'keys');
    const viaApp = await runProcess(process.execPath, ['--import', 'tsx', 'main.ts'], userEnv({ CDKTF_OUTDIR: 'app.out' }), { cwd: project, timeoutMs: 60_000 });
    expectOk('app', viaApp, '');
    expect(fs.readFileSync(path.join(project, 'cdktf.out', 'stacks', 'keys', 'cdk.tf.json'), 'utf8')).toBe(fs.readFileSync(path.join(project, 'app.out', 'stacks', 'keys', 'cdk.tf.json'), 'utf8'));
  }, 150_000);
});
