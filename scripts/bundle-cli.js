'use strict';
// Bundles the key-sync CLI (src/cli/main.ts and everything it imports, undici included)
// into one CommonJS file, dist/key-sync.cjs. One file starts faster than a module tree
// and is what the KeySync construct copies into each stack as a TerraformAsset, so a
// synthesized stack directory needs nothing but Node >= 20 to run it.
//
// Start-up time is most of what a one-key sync costs (issue 6), so the bundle loads only
// what the CLI uses (measured with `npm run bench`; numbers in bench/README.md):
// - `undici` resolves to the two pieces the client uses (Agent and Dispatcher#request)
//   instead of undici's index, which loads fetch, WebSocket, caches, mocks, proxies...
// - undici's HTTP/2 client requires `node:http2` at load time (which pulls in tls, the
//   whole of crypto, fs/promises, readline...); we never enable HTTP/2, so `node:http2`
//   is a stub with the constants undici reads at load and a `connect` that loads the
//   real module on first use (HTTP/2 still works if ever enabled).
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const outfile = path.join(root, 'dist', 'key-sync.cjs');

/** The undici entry for the bundle: Agent + the request API, nothing else. */
const UNDICI_LITE = `
'use strict';
const Agent = require('undici/lib/dispatcher/agent');
const Dispatcher = require('undici/lib/dispatcher/dispatcher');
// What undici's index does for every API; we use only request().
Dispatcher.prototype.request = require('undici/lib/api/api-request');
module.exports = { Agent, Dispatcher };
`;

/** `node:http2` for undici's client-h2.js: constants now, the real module on first connect. */
function http2Stub() {
  const c = require('node:http2').constants;
  const names = ['HTTP2_HEADER_AUTHORITY', 'HTTP2_HEADER_METHOD', 'HTTP2_HEADER_PATH', 'HTTP2_HEADER_SCHEME', 'HTTP2_HEADER_CONTENT_LENGTH',
    'HTTP2_HEADER_EXPECT', 'HTTP2_HEADER_STATUS', 'HTTP2_HEADER_PROTOCOL', 'NGHTTP2_REFUSED_STREAM', 'NGHTTP2_CANCEL'];
  const constants = Object.fromEntries(names.map((n) => [n, c[n]]));
  return `
'use strict';
module.exports = {
  constants: ${JSON.stringify(constants)},
  connect(...args) { return require('node:' + 'http2').connect(...args); },
};
`;
}

/** esbuild plugin: the two substitutions above. */
const loadOnlyWhatIsUsed = {
  name: 'load-only-what-is-used',
  setup(build) {
    build.onResolve({ filter: /^undici$/ }, (args) => (args.importer.includes(`${path.sep}src${path.sep}`) ? { path: 'undici-lite', namespace: 'ks-virtual' } : undefined));
    build.onResolve({ filter: /^node:http2$/ }, (args) => (args.importer.includes(`${path.sep}undici${path.sep}`) ? { path: 'http2-lazy', namespace: 'ks-virtual' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'ks-virtual' }, (args) => ({
      contents: args.path === 'undici-lite' ? UNDICI_LITE : http2Stub(),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/**
 * The cache as a JS string literal. Base64 of ~170 KB of binary contains "eyJ" followed by
 * 8+ letters/digits about half the time: text that secret scanners (and our own leak
 * checks) take for a JWT. Each "eyJ" is split ("ey"+"J"): the same string at run time, no
 * false alarm in the shipped file.
 */
function codeCacheLiteral(b64) {
  return JSON.stringify(b64).replace(/eyJ/g, 'ey"+"J');
}

/**
 * The file we ship: a small loader, the program as a string, and (optionally) a V8 code
 * cache of the program. Node 20 has no compile cache for CommonJS, and compiling the
 * bundle's functions as they are first called was most of a one-key sync's start-up. The
 * loader compiles the program with `vm.Script` and the embedded cache; when V8 rejects
 * the cache (another Node/V8 version, other V8 flags) it silently compiles from source:
 * the file works the same with or without a usable cache. Everything is in this one file,
 * so the stack directory stays self-contained.
 *
 * `KEY_SYNC_NO_CODE_CACHE=1` ignores the cache (benchmarks compare both);
 * `KEY_SYNC_WRITE_CODE_CACHE=FILE` writes the cache at exit (used by this script only).
 */
function loaderSource(program, cacheBase64) {
  return `#!/usr/bin/env node
'use strict';
// key-sync CLI (bundled). See scripts/bundle-cli.js in the cdktf-key-sync package.
const PROGRAM = ${JSON.stringify(`(function (exports, require, module, __filename, __dirname) {${program}\n})`)};
const CODE_CACHE = ${codeCacheLiteral(cacheBase64)};
{
  // Same V8 flags as src/cli/main.ts, set before compiling: a code cache is only accepted
  // under the flags it was made with.
  require('node:v8').setFlagsFromString('--liftoff-only');
  const vm = require('node:vm');
  const useCache = CODE_CACHE !== '' && process.env.KEY_SYNC_NO_CODE_CACHE !== '1';
  const script = new vm.Script(PROGRAM, { filename: __filename, ...(useCache ? { cachedData: Buffer.from(CODE_CACHE, 'base64') } : {}) });
  const out = process.env.KEY_SYNC_WRITE_CODE_CACHE;
  if (out) process.once('exit', () => require('node:fs').writeFileSync(out, script.createCachedData()));
  script.runInThisContext()(exports, require, module, __filename, __dirname);
}
`;
}

/** Writes atomically (tests in other processes may be running the current bundle). */
function writeAtomic(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o755 });
  fs.renameSync(tmp, file);
}

/**
 * Runs the bundle once the way Terraform does (one `sync` answered 204 by the emulator,
 * itself started from the bundle) and returns the code cache V8 made of everything that
 * ran. undefined when that fails: the bundle then ships without a cache.
 */
async function trainCodeCache(file) {
  const { spawn } = require('node:child_process');
  const os = require('node:os');
  const cacheFile = path.join(os.tmpdir(), `key-sync-code-cache-${process.pid}.bin`);
  const emu = spawn(process.execPath, [file, 'emulator', '--port', '0', '--gate-seconds', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const url = await new Promise((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error('emulator did not start')), 10_000);
      emu.stdout.setEncoding('utf8').on('data', (d) => {
        out += d;
        const m = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[0]);
        }
      });
      emu.on('exit', () => reject(new Error('emulator exited')));
    });
    const { DEFAULT_INSTANCE, DEFAULT_KEY, DEFAULT_API_KEY } = { DEFAULT_INSTANCE: '0f6d2a8e-4b1c-4e7a-9c3d-5a8b7e6f1d20', DEFAULT_KEY: '4a1e9c37-8d2b-4f60-b5a3-2c7d9e1f0b84', DEFAULT_API_KEY: 'ks-emulator-demo-key' };
    const code = await new Promise((resolve) => {
      const c = spawn(process.execPath, [file, 'sync', '--instance-id', DEFAULT_INSTANCE, '--key-id', DEFAULT_KEY], {
        stdio: 'ignore',
        env: { PATH: process.env.PATH ?? '', IBMCLOUD_API_KEY: DEFAULT_API_KEY, IBMCLOUD_IAM_API_ENDPOINT: url, IBMCLOUD_KP_API_ENDPOINT: url, KEY_SYNC_WRITE_CODE_CACHE: cacheFile },
      });
      c.on('exit', (rc) => resolve(rc));
    });
    if (code !== 0) throw new Error(`training sync exited ${code}`);
    return fs.readFileSync(cacheFile);
  } catch (e) {
    console.warn(`bundle-cli: no code cache (${e.message}); the CLI works without one, it only starts slower`);
    return undefined;
  } finally {
    emu.kill();
    fs.rmSync(cacheFile, { force: true });
  }
}

async function bundleCli(opts = {}) {
  const { version } = require(path.join(root, 'package.json'));
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'src', 'cli', 'main.ts')],
    bundle: true,
    write: false,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    define: { KEY_SYNC_VERSION: JSON.stringify(version) },
    plugins: [loadOnlyWhatIsUsed],
    logLevel: 'warning',
  });
  const program = result.outputFiles[0].text;
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  writeAtomic(outfile, loaderSource(program, ''));
  if (opts.codeCache === false || process.env.KEY_SYNC_BUILD_NO_CODE_CACHE === '1') return outfile;
  const cache = await trainCodeCache(outfile);
  if (cache !== undefined) writeAtomic(outfile, loaderSource(program, cache.toString('base64')));
  return outfile;
}

module.exports = { bundleCli, outfile };

if (require.main === module) {
  bundleCli().then(
    (file) => console.log(`bundled ${path.relative(root, file)}`),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
