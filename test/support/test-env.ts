/** Where the test run's own servers are; global-setup.ts fills these in before any test file runs. */
if (!process.env.TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set: run the tests with npm test (global-setup.mjs creates the database)');
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
// The gateway global-setup starts with scripts/s3/radosgw.sh (same variable names), or TEST_S3_ENDPOINT's.
export const TEST_S3 = {
  endpoint: process.env.TEST_S3_ENDPOINT ?? `http://127.0.0.1:${process.env.S3_TEST_PORT ?? '7480'}`,
  accessKeyId: process.env.TEST_S3_ENDPOINT ? (process.env.TEST_S3_ACCESS_KEY ?? '') : (process.env.S3_TEST_ACCESS_KEY ?? 'maskflow-test-access'),
  secretAccessKey: process.env.TEST_S3_ENDPOINT ? (process.env.TEST_S3_SECRET_KEY ?? '') : (process.env.S3_TEST_SECRET_KEY ?? 'maskflow-test-secret-key-0123456789'),
  bucket: 'maskflow-test',
};
