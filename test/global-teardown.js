'use strict';
const { rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');

module.exports = async function globalTeardown() {
  // The tarball the package e2e tests shared this run (test/e2e/npm-project.ts).
  const run = process.env.KEY_SYNC_TEST_RUN;
  if (run) rmSync(path.join(tmpdir(), `ks-pack-${run}`), { recursive: true, force: true });
};
