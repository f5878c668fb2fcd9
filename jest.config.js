/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  // The CLI bundle (dist/key-sync.cjs) is what integration and e2e tests run as a child
  // process, and what the KeySync construct ships as an asset: build it once per run.
  globalSetup: '<rootDir>/test/global-setup.js',
  setupFilesAfterEnv: ['<rootDir>/test/setup-after-env.ts'],
  testTimeout: 30000,
  // jest's DefaultReporter, then its SummaryReporter extended with a plain closing line
  // ('default' would add a second SummaryReporter after ours).
  reporters: ['<rootDir>/test/default-reporter.js', '<rootDir>/test/summary-reporter.js'],
};
