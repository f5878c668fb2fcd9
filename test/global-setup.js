'use strict';
const { randomBytes } = require('node:crypto');
const { bundleCli } = require('../scripts/bundle-cli');

module.exports = async function globalSetup() {
  await bundleCli();
  // Names this run for the test files that share one `npm pack` (test/e2e/npm-project.ts);
  // jest starts its workers after this, so they inherit it.
  process.env.KEY_SYNC_TEST_RUN ??= `${process.pid}-${randomBytes(4).toString('hex')}`;
};
