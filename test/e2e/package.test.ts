/**
 * "Use it in your infra repo" as a user does it, on cdktf: the package as `npm pack`
 * builds it, the README's steps run as written in an empty directory (npm install,
 * package.json scripts, cdktf.json, main.ts, `npm run synth` through the real cdktf CLI),
 * then the installed `key-sync` bin, the README's emulator import path, and the
 * synthesized command run against that emulator as local-exec would. Catches what tests
 * inside the checkout cannot: a file missing from the tarball, a broken
 * `main`/`bin`/import path, steps that do not work in a new project.
 *
 * The steps are the blocks marked `<!-- e2e: infra-... -->` in README.md (see
 * doc-blocks.ts). The one edit made to them: `cdktf-key-sync` in the
 * `npm install` line is the packed tarball. Installing needs the npm registry or a cache
 * that can resolve the steps offline; where neither is there the tests are skipped with
 * the reason (never on CI). See npm-project.ts.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runProcess, type CliRun } from '../helpers/cli';
import { skipUnless } from '../helpers/skip';
import { commandOf, syncResources, triggersOf } from '../helpers/sync-resource';
import { docBlock } from './doc-blocks';
import { cleanup, README_PAYMENTS_SYNC_HASH, tempDir } from './helpers';
import { PACKAGE, ROOT, installSpecs, npmUnavailable, packedTarball, runBlock, runSetupBlock, userEnv, withTarball } from './npm-project';

const CANARY = 'CANARY-package-test-9d8c7b6a5f4e3d2c1b0a';
const SETUP = docBlock('infra-setup');
const MAIN = docBlock('infra-main');
const SYNTH = docBlock('infra-synth');
const SPECS = installSpecs(SETUP.text);

test('the documented steps pin the versions this repository builds and tests with', () => {
  const pinned = Object.fromEntries(SPECS.map((s) => [s.slice(0, s.lastIndexOf('@')), s.slice(s.lastIndexOf('@') + 1)]));
  expect(pinned).toEqual({
    cdktf: PACKAGE.dependencies['cdktf'],
    constructs: PACKAGE.devDependencies['constructs'],
    'cdktf-cli': PACKAGE.dependencies['cdktf'],
    tsx: PACKAGE.devDependencies['tsx'],
  });
  expect(MAIN.lang).toBe('ts');
  expect(MAIN.text).toMatch(/from 'cdktf-key-sync';/);
});

const why = npmUnavailable(SPECS);
const maybe = skipUnless(why === undefined, 'package e2e (cdktf)', why ?? '');

maybe.describe(`the packed package in a new cdktf project (steps from ${SETUP.file})`, () => {
  let work: string;
  let project: string;
  let synth: CliRun;

  beforeAll(async () => {
    work = tempDir('package');
    project = path.join(work, 'infra');
    await runSetupBlock(withTarball(SETUP.text, packedTarball()), project, 180_000);
    fs.writeFileSync(path.join(project, 'main.ts'), MAIN.text);
    // A credential in the environment at synth time must not reach the output.
    synth = await runBlock(SYNTH.text, project, userEnv({ IBMCLOUD_API_KEY: CANARY }), 120_000);
  }, 360_000);

  afterAll(() => cleanup(work === undefined ? [] : [work]));

  test('the tarball holds the library (cdktf and cdktn builds), its types and the bundled CLI, and nothing from the test tree', () => {
    const installed = path.join(project, 'node_modules', PACKAGE.name);
    const files = ['lib/index.js', 'lib/index.d.ts', 'lib/emulator/index.js', 'cdktn/index.js', 'cdktn/index.d.ts', 'cdktn/constructs/core.js', 'dist/key-sync.cjs', 'README.md', 'package.json'];
    expect(files.filter((f) => !fs.existsSync(path.join(installed, f)))).toEqual([]);
    for (const absent of ['test', 'src', 'bench', 'lib/constructs/core-cdktn.js']) expect({ absent, present: fs.existsSync(path.join(installed, absent)) }).toEqual({ absent, present: false });
  });

  test('the installed bin runs', () => {
    const out = execFileSync(path.join(project, 'node_modules', '.bin', 'key-sync'), ['--version'], { encoding: 'utf8' });
    expect(out).toBe(`key-sync ${PACKAGE.version}\n`);
  });

  test("`npm run synth` (the cdktf CLI) synthesizes the example, and its command syncs against the emulator from the README's import path", async () => {
    expect({ code: synth.code, out: synth.stdout + synth.stderr }).toEqual({ code: 0, out: expect.stringContaining('Generated Terraform code for the stacks: keys') });
    expect(synth.stdout + synth.stderr).not.toContain(CANARY);
    const stackDir = path.join(project, 'cdktf.out', 'stacks', 'keys');
    const text = fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8');
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain(project);
    expect(text).not.toContain(ROOT);
    const resources = syncResources(JSON.parse(text), 'null_resource');
    expect(Object.keys(resources).sort()).toEqual(['AnalyticsKey_sync', 'PaymentsKey_sync']);
    // the same digest cdktn-package.test.ts expects of the cdktn example's payments key
    expect(triggersOf(resources['PaymentsKey_sync']!)['sync_hash']).toBe(README_PAYMENTS_SYNC_HASH);

    // The asset is the installed package's bundle, byte for byte.
    const command = commandOf(resources['PaymentsKey_sync']!);
    const asset = /'(assets\/KeySyncCli\/[^']+\/key-sync\.cjs)'/.exec(command)?.[1];
    expect(asset).toBeDefined();
    expect(fs.readFileSync(path.join(stackDir, asset!))).toEqual(fs.readFileSync(path.join(project, 'node_modules', PACKAGE.name, 'dist', 'key-sync.cjs')));

    // The emulator through the import path the README gives, then the command as local-exec runs it.
    const lib = path.join(project, 'node_modules', PACKAGE.name, 'lib', 'emulator');
    const { startEmulator } = require(lib) as typeof import('../../src/emulator');
    const { DEFAULT_SEED } = require(path.join(lib, 'seed')) as typeof import('../../src/emulator/seed');
    const emu = await startEmulator({ port: 0, seed: { ...DEFAULT_SEED, apiKeys: [...DEFAULT_SEED.apiKeys, CANARY] } });
    try {
      const run = await runProcess('/bin/sh', ['-c', command], userEnv({ IBMCLOUD_API_KEY: CANARY, IBMCLOUD_IAM_API_ENDPOINT: emu.url, IBMCLOUD_KP_API_ENDPOINT: emu.url }), { cwd: stackDir });
      expect(run.stdout).toContain('synced key 4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84');
      expect(run.code).toBe(0);
      expect(run.stdout + run.stderr).not.toContain(CANARY);
      expect(emu.log().filter((e) => e.route === 'keys.sync').map((e) => e.status)).toEqual([204]);
    } finally {
      await emu.close();
    }
  }, 30_000);
});
