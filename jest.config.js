/** @type {import('jest').Config} */
const project = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  setupFilesAfterEnv: ['<rootDir>/test/setup-after-env.ts'],
  testTimeout: 30000,
};

/**
 * The construct tests that run a second time on CDK Terrain (project `cdktn`): every
 * test/unit/constructs-*.test.ts (so a new construct's tests run on both cores unless
 * listed below) and trigger-hash. They are written for either core: the default resource
 * type and the trigger attribute come from the core under test.
 */
const CDKTN_TESTS = ['**/unit/constructs-*.test.ts', '**/unit/trigger-hash.test.ts'];
/** cdktf only: null provider specifics (constructs.test.ts, not matched above), main.ts's DemoStack, and the test that loads both cores. */
const CDKTF_ONLY = ['/constructs-synth\\.test\\.ts$', '/constructs-cross-core\\.test\\.ts$'];

/** @type {import('jest').Config} */
module.exports = {
  // The CLI bundle (dist/key-sync.cjs) is what integration and e2e tests run as a child
  // process, and what the KeySync construct ships as an asset: build it once per run.
  globalSetup: '<rootDir>/test/global-setup.js',
  globalTeardown: '<rootDir>/test/global-teardown.js',
  testTimeout: 30000,
  // jest's DefaultReporter, then its SummaryReporter extended with a plain closing line
  // ('default' would add a second SummaryReporter after ours).
  reporters: ['<rootDir>/test/default-reporter.js', '<rootDir>/test/summary-reporter.js'],
  projects: [
    // Every test, on cdktf (the constructs' default core).
    { ...project, roots: ['<rootDir>/test'], testMatch: ['**/*.test.ts'], globals: { KEY_SYNC_TEST_CORE: 'cdktf' } },
    // The same constructs built on cdktn, as `cdktf-key-sync/cdktn` ships them.
    {
      ...project,
      displayName: 'cdktn',
      roots: ['<rootDir>/test/unit'],
      testMatch: CDKTN_TESTS,
      testPathIgnorePatterns: ['/node_modules/', ...CDKTF_ONLY],
      resolver: '<rootDir>/test/cdktn-resolver.js',
      globals: { KEY_SYNC_TEST_CORE: 'cdktn' },
    },
  ],
};
