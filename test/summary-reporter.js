'use strict';
// jest's SummaryReporter, followed by one plain closing line that any CI log reader
// understands: "tests: N passed, N failed, N skipped". jest always adds its own
// SummaryReporter last, so this one replaces it rather than running beside it.
const { SummaryReporter } = require('@jest/reporters');

class PlainSummaryReporter extends SummaryReporter {
  onRunComplete(testContexts, results) {
    super.onRunComplete(testContexts, results);
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stderr.write(
      `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`,
    );
  }
}
module.exports = PlainSummaryReporter;
