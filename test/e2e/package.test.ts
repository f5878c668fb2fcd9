/**
 * "Use it in your infra repo" as a user does it: the package as `npm pack` builds it,
 * installed into an empty project, the README's main.ts example synthesized there, the
 * installed `key-sync` bin, the README's emulator import path, and the synthesized
 * command run against that emulator as local-exec would. Catches what tests inside the
 * checkout cannot: a file missing from the tarball, a broken `main`/`bin`/import path.
 *
 * npm installs offline from its cache (which `npm ci` filled); if it cannot, the test
 * skips and says why.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess } from '../helpers/cli';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };
const TSX = path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const CANARY = 'CANARY-package-test-9d8c7b6a5f4e3d2c1b0a';
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The README's example stack: the ts block of "Use it in your infra repo". */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const m = /```ts\n(import \{ App, LocalBackend[\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md lost its main.ts example');
  return m[1];
}

let work: string;
let project: string;
let skipWhy: string | undefined;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ks-package-'));
  project = path.join(work, 'infra');
  fs.mkdirSync(project);
  // prepack builds lib/ and dist/ first, as `npm publish` would.
  const packed = execFileSync(npm, ['pack', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
  const tarball = path.join(work, packed.trim().split('\n').pop() ?? '');
  fs.writeFileSync(path.join(project, 'package.json'), '{ "name": "infra", "private": true }\n');
  const peers = ['cdktf', 'constructs', '@cdktf/provider-null'].map((n) => `${n}@${pkg.dependencies[n]}`);
  const install = spawnSync(npm, ['install', '--offline', '--no-audit', '--no-fund', tarball, ...peers], { cwd: project, encoding: 'utf8' });
  if (install.status !== 0) {
    skipWhy = `npm could not install the packed package offline from its cache (${(install.stderr || install.stdout).trim().split('\n').slice(-2).join(' ')})`;
    console.warn(`package e2e SKIPPED: ${skipWhy}. Run \`npm ci\` first so the cache holds the dependencies.`);
  }
}, 120_000);

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

function needInstall(): boolean {
  if (skipWhy === undefined) return true;
  console.warn(`skipped: ${skipWhy}`);
  return false;
}

test('the tarball holds the library, its types and the bundled CLI, and nothing from the test tree', () => {
  if (!needInstall()) return;
  const installed = path.join(project, 'node_modules', pkg.name);
  for (const f of ['lib/index.js', 'lib/index.d.ts', 'lib/emulator/index.js', 'dist/key-sync.cjs', 'README.md', 'package.json']) {
    expect({ f, present: fs.existsSync(path.join(installed, f)) }).toEqual({ f, present: true });
  }
  expect(fs.existsSync(path.join(installed, 'test'))).toBe(false);
  expect(fs.existsSync(path.join(installed, 'src'))).toBe(false);
});

test('the installed bin runs', () => {
  if (!needInstall()) return;
  const out = execFileSync(path.join(project, 'node_modules', '.bin', 'key-sync'), ['--version'], { encoding: 'utf8' });
  expect(out).toBe(`key-sync ${pkg.version}\n`);
});

test("the README example synthesizes in the user's project and its command syncs against the emulator", async () => {
  if (!needInstall()) return;
  fs.writeFileSync(path.join(project, 'main.ts'), readmeExample());
  // A credential in the environment at synth time must not reach the output.
  const synth = spawnSync(process.execPath, ['--import', TSX, 'main.ts'], {
    cwd: project,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', CHECKPOINT_DISABLE: '1', IBMCLOUD_API_KEY: CANARY },
  });
  expect(synth.stderr).toBe('');
  expect(synth.status).toBe(0);
  const stackDir = path.join(project, 'cdktf.out', 'stacks', 'keys');
  const text = fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8');
  expect(text).not.toContain(CANARY);
  expect(text).not.toContain(project);
  expect(text).not.toContain(root);
  const tf = JSON.parse(text) as { resource: { null_resource: Record<string, { provisioner: { 'local-exec': { command: string; environment?: Record<string, string> } }[] }> } };
  expect(Object.keys(tf.resource.null_resource).sort()).toEqual(['AnalyticsKey_sync', 'PaymentsKey_sync']);

  // The asset is the installed package's bundle, byte for byte.
  const exec = tf.resource.null_resource['PaymentsKey_sync']!.provisioner[0]!['local-exec'];
  const asset = /'(assets\/KeySyncCli\/[^']+\/key-sync\.cjs)'/.exec(exec.command)?.[1];
  expect(asset).toBeDefined();
  expect(fs.readFileSync(path.join(stackDir, asset!))).toEqual(fs.readFileSync(path.join(project, 'node_modules', pkg.name, 'dist', 'key-sync.cjs')));

  // The emulator through the import path the README gives, then the command as local-exec runs it.
  const { startEmulator } = require(path.join(project, 'node_modules', pkg.name, 'lib', 'emulator')) as typeof import('../../src/emulator');
  const { DEFAULT_SEED } = require(path.join(project, 'node_modules', pkg.name, 'lib', 'emulator', 'seed')) as typeof import('../../src/emulator/seed');
  const emu = await startEmulator({ port: 0, seed: { ...DEFAULT_SEED, apiKeys: [...DEFAULT_SEED.apiKeys, CANARY] } });
  try {
    const run = await runProcess('/bin/sh', ['-c', exec.command], {
      PATH: process.env['PATH'] ?? '', ...exec.environment, IBMCLOUD_API_KEY: CANARY, IBMCLOUD_IAM_API_ENDPOINT: emu.url, IBMCLOUD_KP_API_ENDPOINT: emu.url,
    }, { cwd: stackDir });
    expect(run.stdout).toContain('synced key 4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84');
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(CANARY);
    expect(emu.log().filter((e) => e.route === 'keys.sync').map((e) => e.status)).toEqual([204]);
  } finally {
    await emu.close();
  }
});
