'use strict';
// Module resolution of the jest project `cdktn`: the construct tests run on CDK Terrain
// exactly as the `cdktf-key-sync/cdktn` build does, with src/constructs/core-cdktn.ts in
// place of src/constructs/core.ts (matched by resolved path, so no other `./core` is
// touched). A test file's own `import ... from 'cdktf'` gets `cdktn`; anything else that
// asks for `cdktf` or `@cdktf/*` (the library's sources, a dependency) fails, reported as
// "Cannot find module 'cdktf' from <file>": a cdktn app never loads them.
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const TESTS = path.join(ROOT, 'test') + path.sep;
const CORE = path.join(ROOT, 'src', 'constructs', 'core.ts');
const CDKTN_CORE = path.join(ROOT, 'src', 'constructs', 'core-cdktn.ts');

module.exports = (request, options) => {
  const fromTest = (options.basedir + path.sep).startsWith(TESTS);
  if (request === 'cdktf' && fromTest) return options.defaultResolver('cdktn', options);
  if (request === 'cdktf' || request.startsWith('@cdktf/')) {
    throw new Error(`the cdktn test project must not load ${request} (asked for from ${path.relative(ROOT, options.basedir)}): a cdktn app never loads cdktf or its providers`);
  }
  const resolved = options.defaultResolver(request, options);
  return resolved === CORE ? CDKTN_CORE : resolved;
};
