'use strict';
// Builds the CDK Terrain flavour of the library, cdktn/ (what `cdktf-key-sync/cdktn`
// resolves to): src/index.ts and everything it imports, compiled a second time with
// src/constructs/core-cdktn.ts in place of src/constructs/core.ts. Every construct
// reaches its core through that one module, so the swap is one file and the constructs
// are type-checked against cdktn's own declarations. cdktn/ sits beside lib/ at the same
// depth, so the relative path to the bundled CLI (dist/key-sync.cjs) is the same.
//
// A cdktn app must never load cdktf (two cores' tokens and construct trees do not mix):
// the build fails if any emitted file still names `cdktf` or `@cdktf/*` as a module.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'cdktn');
const CORE = path.join('src', 'constructs', 'core.ts');
const CDKTN_CORE = path.join('src', 'constructs', 'core-cdktn.ts');

/** `require("cdktf")`, `from 'cdktf'`, `import("@cdktf/x")`, ...: a module reference to the other core. */
const OTHER_CORE = /(?:require\(\s*|from\s+|import\(\s*|import\s+)["'](cdktf|@cdktf\/[^"']*)["']/;

function filesUnder(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

/** Files under `dir` (.js and .d.ts) that refer to cdktf as a module, with the line. */
function otherCoreReferences(dir) {
  const found = [];
  for (const f of filesUnder(dir)) {
    if (!/\.(js|d\.ts)$/.test(f)) continue;
    const lines = fs.readFileSync(f, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (OTHER_CORE.test(line)) found.push(`${path.relative(root, f)}:${i + 1}: ${line.trim()}`);
    });
  }
  return found;
}

function buildCdktn() {
  // A private copy of src/ inside the repository (so node_modules resolves from it).
  const work = fs.mkdtempSync(path.join(root, '.build-cdktn-'));
  try {
    fs.cpSync(path.join(root, 'src'), path.join(work, 'src'), { recursive: true });
    fs.copyFileSync(path.join(root, CDKTN_CORE), path.join(work, CORE));
    fs.rmSync(path.join(work, CDKTN_CORE));
    const tsconfig = {
      extends: path.join(root, 'tsconfig.build.json'),
      compilerOptions: { rootDir: path.join(work, 'src'), outDir },
      files: [path.join(work, 'src', 'index.ts')],
      include: [],
    };
    fs.writeFileSync(path.join(work, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    fs.rmSync(outDir, { recursive: true, force: true });
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(work, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const leaks = otherCoreReferences(outDir);
  if (leaks.length > 0) {
    fs.rmSync(outDir, { recursive: true, force: true });
    throw new Error(`the cdktn build refers to cdktf (only src/constructs/core.ts may import it):\n  ${leaks.join('\n  ')}`);
  }
  if (!fs.existsSync(path.join(outDir, 'index.js')) || !fs.existsSync(path.join(outDir, 'index.d.ts'))) {
    throw new Error(`the cdktn build wrote no ${path.relative(root, outDir)}/index.js and index.d.ts`);
  }
  return outDir;
}

module.exports = { buildCdktn, otherCoreReferences, outDir };

if (require.main === module) {
  try {
    const out = buildCdktn();
    console.log(`built ${path.relative(root, out)}/ (cdktf-key-sync/cdktn)`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
