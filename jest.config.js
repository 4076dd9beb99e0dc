/**
 * Jest runs in native ESM mode (NestJS 12 is ESM-only): `npm test` passes --experimental-vm-modules.
 * *.spec.ts are pure units; *.int-spec.ts run against real Postgres, Redis, S3 (radosgw) and HTTP servers.
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: ['TS151001', 'TS151002'] } }],
  },
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.int-spec.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  testTimeout: 120000,
  // A handle a failing test leaves open (a queue it never reached closing) must not hold CI until its time
  // limit: jest still prints its summary and the warning, then exits.
  forceExit: true,
};
