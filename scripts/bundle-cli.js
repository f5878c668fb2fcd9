'use strict';
// Bundles the key-sync CLI (src/cli/main.ts and everything it imports, undici included)
// into one CommonJS file, dist/key-sync.cjs. One file starts faster than a module tree
// and is what the KeySync construct copies into each stack as a TerraformAsset, so a
// synthesized stack directory needs nothing but Node >= 20 to run it.
//
// Start-up time is most of what a one-key sync costs, so the bundle loads only
// what the CLI uses (measured with `npm run bench`; numbers in bench/README.md):
// - `undici` resolves to the pieces the client uses (Agent, its connector, Dispatcher#request)
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
const buildConnector = require('undici/lib/core/connect');
// What undici's index does for every API; we use only request().
Dispatcher.prototype.request = require('undici/lib/api/api-request');
module.exports = { Agent, Dispatcher, buildConnector };
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

/**
 * `node:http` for undici's client.js, which reads `http.maxHeaderSize` when it loads (the
 * default for Clients not given one). Node's default is 16384 and only
 * `--max-http-header-size` (on the command line or in NODE_OPTIONS, with dashes or
 * underscores as Node accepts) changes it; with that flag present the real module is
 * loaded and asked, so the value is always Node's own.
 */
const HTTP_MAX_HEADER_SIZE_STUB = `
'use strict';
module.exports = {
  get maxHeaderSize() {
    const flagged = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => /max[-_]http[-_]header[-_]size/.test(a));
    return flagged ? require('node:' + 'http').maxHeaderSize : 16384;
  },
};
`;

/**
 * `node:assert` for undici, which calls only `assert(value)` on internal invariants: a pass
 * costs nothing, a failure throws node:assert's own AssertionError.
 */
const ASSERT_STUB = `
'use strict';
module.exports = function assert(value, message) {
  if (!value) require('node:' + 'assert')(value, message);
};
`;

/**
 * undici's core/util.js loads `node:http` only to compare a stream's constructor with
 * IncomingMessage in destroy(). The patched comparison checks the constructor's name first
 * and loads node:http only for a stream that may really be one: same result, no load.
 */
function patchUndiciUtil(source) {
  const swaps = [
    ["const { IncomingMessage } = require('node:http')", "const isIncomingMessage = (C) => C != null && C.name === 'IncomingMessage' && C === require('node:' + 'http').IncomingMessage"],
    ['Object.getPrototypeOf(stream).constructor === IncomingMessage', 'isIncomingMessage(Object.getPrototypeOf(stream).constructor)'],
  ];
  for (const [from, to] of swaps) {
    if (source.split(from).length !== 2) throw new Error(`bundle-cli: undici/lib/core/util.js no longer holds \`${from}\` once; revisit patchUndiciUtil`);
    source = source.replace(from, to);
  }
  return source;
}

const VIRTUAL = {
  'undici-lite': () => UNDICI_LITE,
  'http2-lazy': http2Stub,
  'http-max-header-size': () => HTTP_MAX_HEADER_SIZE_STUB,
  'assert-lazy': () => ASSERT_STUB,
};

/** esbuild plugin: the substitutions above, each only for the importer it is written for. */
const loadOnlyWhatIsUsed = {
  name: 'load-only-what-is-used',
  setup(build) {
    const inUndici = (args) => args.importer.includes(`${path.sep}undici${path.sep}`);
    const virtual = (name) => ({ path: name, namespace: 'ks-virtual' });
    build.onResolve({ filter: /^undici$/ }, (args) => (args.importer.includes(`${path.sep}src${path.sep}`) ? virtual('undici-lite') : undefined));
    build.onResolve({ filter: /^node:http2$/ }, (args) => (inUndici(args) ? virtual('http2-lazy') : undefined));
    build.onResolve({ filter: /^node:assert$/ }, (args) => (inUndici(args) ? virtual('assert-lazy') : undefined));
    build.onResolve({ filter: /^node:http$/ }, (args) => (inUndici(args) && args.importer.endsWith(path.join('dispatcher', 'client.js')) ? virtual('http-max-header-size') : undefined));
    build.onLoad({ filter: /.*/, namespace: 'ks-virtual' }, (args) => ({ contents: VIRTUAL[args.path](), loader: 'js', resolveDir: root }));
    build.onLoad({ filter: /[\\/]undici[\\/]lib[\\/]core[\\/]util\.js$/ }, (args) => ({ contents: patchUndiciUtil(fs.readFileSync(args.path, 'utf8')), loader: 'js' }));
  },
};

/**
 * Where a block comment would end (a star then a slash) inside the program, the shipped comment holds this
 * instead (the build checks the program never holds it itself).
 */
const COMMENT_END_ESCAPE = '*@key-sync@/';

/**
 * Text carried in a block comment: the program (with every comment end escaped) or the
 * base64 of the code cache. Base64 of ~350 KB of binary holds "eyJ" followed by 8+ letters
 * about half the time: text that secret scanners (and our own leak checks) take for a JWT.
 * Each "eyJ" gets a space ("ey J"), which Node's base64 decoder skips: the same bytes at
 * run time, no false alarm in the shipped file.
 */
function commentBody(program, cacheBase64) {
  if (program.includes(COMMENT_END_ESCAPE)) throw new Error(`bundle-cli: the program contains ${COMMENT_END_ESCAPE}; pick another escape`);
  return {
    program: program.split('*/').join(COMMENT_END_ESCAPE),
    escaped: program.includes('*/'),
    cache: cacheBase64.replace(/eyJ/g, 'ey J'),
  };
}

/**
 * The file we ship: a small loader, the program, and (optionally) a V8 code cache of the
 * program. Node 20 has no compile cache for CommonJS, and compiling the bundle's functions
 * as they are first called was most of a one-key sync's start-up. The loader compiles the
 * program with `vm.Script` and the embedded cache; when V8 rejects the cache (another
 * Node/V8 version, other V8 flags) it silently compiles from source: the file works the
 * same with or without a usable cache. Everything is in this one file, so the stack
 * directory stays self-contained.
 *
 * Program and cache sit in block comments inside two functions that are never called, and
 * the loader reads them back with Function#toString (V8 keeps the file's source; the slice
 * is not a copy). Measured here: V8 scans an 870 KB string literal in ~11 ms but a comment
 * of that size in ~0.4 ms, and the literals were a quarter of `--version`'s start-up.
 *
 * `KEY_SYNC_NO_CODE_CACHE=1` ignores the cache (benchmarks compare both);
 * `KEY_SYNC_WRITE_CODE_CACHE=FILE` writes the cache at exit (used by this script only).
 */
function loaderSource(program, cacheBase64) {
  const body = commentBody(`(function (exports, require, module, __filename, __dirname) {${program}\n})`, cacheBase64);
  return `#!/usr/bin/env node
'use strict';
// key-sync CLI (bundled). See scripts/bundle-cli.js in the cdktf-key-sync package.
{
  // Same V8 flags as src/cli/main.ts, set before compiling: a code cache is only accepted
  // under the flags it was made with.
  require('node:v8').setFlagsFromString('--liftoff-only');
  const vm = require('node:vm');
  const text = (f) => { const s = f.toString(); return s.slice(s.indexOf('/*') + 2, s.lastIndexOf('*/')); };
  const program = ${body.escaped ? `text(PROGRAM).split(${JSON.stringify(COMMENT_END_ESCAPE)}).join('*/')` : 'text(PROGRAM)'};
  const cache = text(CODE_CACHE);
  const useCache = cache !== '' && process.env.KEY_SYNC_NO_CODE_CACHE !== '1';
  // A fixed script name, not this file's path: a stack trace names no directory (V8 keeps
  // the name it compiled under in the code cache, which was made in a temporary one).
  const script = new vm.Script(program, { filename: 'key-sync.cjs', ...(useCache ? { cachedData: Buffer.from(cache, 'base64') } : {}) });
  const out = process.env.KEY_SYNC_WRITE_CODE_CACHE;
  if (out) process.once('exit', () => require('node:fs').writeFileSync(out, script.createCachedData()));
  script.runInThisContext()(exports, require, module, __filename, __dirname);
}
function PROGRAM() {/*${body.program}*/}
function CODE_CACHE() {/*${body.cache}*/}
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
  const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'key-sync-train-runtime-'));
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
        // A runtime directory of its own: the run trains the token cache's code too, and
        // leaves no token behind in this machine's shared one.
        env: { PATH: process.env.PATH ?? '', IBMCLOUD_API_KEY: DEFAULT_API_KEY, IBMCLOUD_IAM_API_ENDPOINT: url, IBMCLOUD_KP_API_ENDPOINT: url, KEY_SYNC_WRITE_CODE_CACHE: cacheFile, XDG_RUNTIME_DIR: runtimeDir },
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
    fs.rmSync(runtimeDir, { recursive: true, force: true });
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
  if (opts.codeCache === false || process.env.KEY_SYNC_BUILD_NO_CODE_CACHE === '1') {
    writeAtomic(outfile, loaderSource(program, ''));
    return outfile;
  }
  // Train on a file of its own, so the shipped path only ever holds a finished bundle: a
  // rebuild while tests run it (npm pack's prepack in the package test) never exposes a
  // bundle without its cache.
  // (In a temporary directory, never in dist/, which npm pack ships.)
  const trainingDir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'key-sync-bundle-'));
  try {
    const training = path.join(trainingDir, 'key-sync.cjs');
    writeAtomic(training, loaderSource(program, ''));
    const cache = await trainCodeCache(training);
    writeAtomic(outfile, loaderSource(program, cache === undefined ? '' : cache.toString('base64')));
  } finally {
    fs.rmSync(trainingDir, { recursive: true, force: true });
  }
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
