'use strict';
// Bundles the key-sync CLI (src/cli/main.ts and everything it imports, undici included)
// into one CommonJS file, dist/key-sync.cjs. One file starts faster than a module tree
// and is what the KeySync construct copies into each stack as a TerraformAsset, so a
// synthesized stack directory needs nothing but Node >= 20 to run it.
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const outfile = path.join(root, 'dist', 'key-sync.cjs');

async function bundleCli() {
  const { version } = require(path.join(root, 'package.json'));
  await esbuild.build({
    entryPoints: [path.join(root, 'src', 'cli', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    banner: { js: '#!/usr/bin/env node' },
    define: { KEY_SYNC_VERSION: JSON.stringify(version) },
    logLevel: 'warning',
  });
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
