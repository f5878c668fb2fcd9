'use strict';
const { bundleCli } = require('../scripts/bundle-cli');

module.exports = async function globalSetup() {
  await bundleCli();
};
