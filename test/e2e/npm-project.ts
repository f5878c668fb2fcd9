/**
 * A user's project, as the package e2e tests build one: the package as `npm pack` makes
 * it (packed once per jest run and shared by the test files that need it), documented
 * shell steps run in an empty directory, and the decision, at collection time, whether
 * npm can install anything here at all.
 *
 * npm installs from its cache first (`--offline`), and when that fails (right after
 * `npm ci` the cache holds package tarballs but not the registry metadata an
 * `npm install <name>@<version>` resolves against) from the registry
 * (`--prefer-offline`). A machine that reaches neither skips these tests, counted as
 * skipped; on CI (CI=true, which reaches the registry) they always run, and a failed
 * install fails them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runProcess, type CliRun } from '../helpers/cli';

export const ROOT = path.resolve(__dirname, '..', '..');
export const PACKAGE = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The package specs the `npm install` lines of a shell block name (flags and the package itself left out). */
export function installSpecs(block: string): string[] {
  return block
    .split('\n')
    .filter((l) => /^\s*npm install\b/.test(l))
    .flatMap((l) => l.replace(/#.*$/, '').trim().split(/\s+/).slice(2))
    .filter((w) => !w.startsWith('-') && w !== PACKAGE.name);
}

/**
 * Why npm cannot install `specs` here, or undefined when it can. Asked at collection
 * time, so that a test that cannot run is reported as skipped. Never skips on CI.
 */
export function npmUnavailable(specs: readonly string[]): string | undefined {
  if (process.env['CI'] === 'true') return undefined;
  const ping = spawnSync(NPM, ['ping', '--fetch-retries=0', '--fetch-timeout=5000'], { encoding: 'utf8', timeout: 20_000 });
  if (ping.status === 0) return undefined;
  // No registry: only an install wholly from the cache can work.
  const dir = mkdtempSync(path.join(tmpdir(), 'ks-npm-probe-'));
  try {
    writeFileSync(path.join(dir, 'package.json'), '{ "name": "probe", "private": true }\n');
    const dry = spawnSync(NPM, ['install', '--dry-run', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', ...specs], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    if (dry.status === 0) return undefined;
    // npm's own words, without its pointers to logs and proxy settings
    const said = (s: string | null | undefined): string[] =>
      (s ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/complete log of this run|proxy/.test(l));
    return (
      `the npm registry cannot be reached (npm ping: ${said(ping.stderr).find((l) => /request to|code /.test(l)) ?? `exit ${String(ping.status ?? ping.signal)}`}) ` +
      `and npm's cache cannot install ${specs.join(' ')} offline (${said(dry.stderr).slice(-1)[0] ?? `exit ${String(dry.status ?? dry.signal)}`}); ` +
      'run it where the registry is reachable (CI does)'
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** What `npm pack` needs of the checkout: the manifest, the README and the build's inputs. */
const PACK_INPUTS = ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'src', 'scripts'];

/**
 * The package as `npm pack` builds it (prepack builds lib/, cdktn/ and dist/, as
 * `npm publish` would), packed once per jest run: test files in other workers wait for the
 * first one and share its tarball. It is packed in a copy of the checkout (node_modules
 * linked), so the build never rewrites this checkout's dist/ while other tests run it or
 * compare a synthesized asset with it (the bundle's code cache differs per build).
 * test/global-setup.js names the run; test/global-teardown.js removes the directory.
 */
export function packedTarball(): string {
  const dir = packDir();
  const lock = `${dir}.lock`;
  const done = path.join(dir, 'tarball-path');
  const deadline = Date.now() + 240_000;
  for (;;) {
    if (existsSync(done)) return readFileSync(done, 'utf8');
    try {
      mkdirSync(lock);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (Date.now() > deadline) throw new Error(`waited 240 s for another test file to pack the package (${lock})`);
      sleepMs(250);
      continue;
    }
    try {
      if (existsSync(done)) continue;
      mkdirSync(dir, { recursive: true });
      const checkout = mkdtempSync(path.join(dir, 'checkout-'));
      for (const f of PACK_INPUTS) cpSync(path.join(ROOT, f), path.join(checkout, f), { recursive: true });
      symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'), 'dir');
      const packed = execFileSync(NPM, ['pack', '--silent', '--pack-destination', dir], {
        cwd: checkout,
        encoding: 'utf8',
        env: { ...process.env, CHECKPOINT_DISABLE: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 180_000,
      });
      const tarball = path.join(dir, packed.trim().split('\n').pop() ?? '');
      if (!existsSync(tarball)) throw new Error(`npm pack wrote no tarball (it said: ${packed.trim()})`);
      writeFileSync(done, tarball);
    } finally {
      rmdirSync(lock);
    }
  }
}

/** Where this jest run's tarball goes (one per run; a file run alone packs for itself). */
export function packDir(): string {
  return path.join(tmpdir(), `ks-pack-${process.env['KEY_SYNC_TEST_RUN'] ?? `pid-${process.pid}`}`);
}

/**
 * The environment of a user's shell: this one without IBM Cloud credentials, key-sync
 * settings or the `npm_*` variables `npm test` sets (they would configure the user's npm).
 */
export function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(IBMCLOUD_|IC_|KEY_SYNC_|npm_)/i.test(k)) continue;
    env[k] = v;
  }
  env['PATH'] = [path.dirname(process.execPath), process.env['PATH'] ?? ''].join(path.delimiter);
  env['CHECKPOINT_DISABLE'] = '1';
  return { ...env, ...extra };
}

/** The block with the package's name in its `npm install` line replaced by the tarball (the one edit made to it). */
export function withTarball(block: string, tarball: string): string {
  let replaced = 0;
  const out = block
    .split('\n')
    .map((l) =>
      /^\s*npm install\b/.test(l)
        ? l.replace(new RegExp(`(?<=\\s)${PACKAGE.name.replace(/[-/]/g, '\\$&')}(?=\\s|$)`), () => {
            replaced++;
            return `'${tarball}'`;
          })
        : l,
    )
    .join('\n');
  if (replaced !== 1) throw new Error(`the setup block must install ${PACKAGE.name} in exactly one npm install line (found ${replaced})`);
  return out;
}

/** Runs a shell block with `sh -e` in `cwd`. */
export function runBlock(block: string, cwd: string, env: Record<string, string>, timeoutMs: number): Promise<CliRun> {
  return runProcess('/bin/sh', ['-e', '-c', block], env, { cwd, timeoutMs });
}

/**
 * Runs a setup block (it installs packages) in the empty directory `project`: first with
 * npm offline, then, if that fails, from a clean directory again with `--prefer-offline`.
 * Throws with both outputs when neither works.
 */
export async function runSetupBlock(block: string, project: string, timeoutMs: number): Promise<CliRun> {
  const attempts: string[] = [];
  for (const mode of ['offline', 'prefer-offline'] as const) {
    rmSync(project, { recursive: true, force: true });
    mkdirSync(project, { recursive: true });
    const run = await runBlock(block, project, userEnv({ [`npm_config_${mode.replace('-', '_')}`]: 'true', npm_config_audit: 'false', npm_config_fund: 'false' }), timeoutMs);
    if (run.code === 0) return run;
    attempts.push(`--- npm ${mode}: exit ${String(run.code ?? run.signal)}\n${(run.stdout + run.stderr).trim().split('\n').slice(-15).join('\n')}`);
  }
  throw new Error(`the setup block failed in ${project}:\n${attempts.join('\n')}`);
}
