'use strict';
// jest's DefaultReporter on its own, so jest.config.js can order it before 'summary'
// and our one-line summary (the 'default' alias appends 'summary' after everything).
module.exports = require('@jest/reporters').DefaultReporter;
