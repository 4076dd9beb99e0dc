/** Where the test run's own servers are; global-setup.ts fills these in before any test file runs. */
if (!process.env.TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set: run the tests with npm test (global-setup.mjs creates the database)');
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_S3 = {
  endpoint: process.env.TEST_S3_ENDPOINT ?? 'http://127.0.0.1:7480',
  accessKeyId: process.env.TEST_S3_ACCESS_KEY ?? 'maskflow-test-access',
  secretAccessKey: process.env.TEST_S3_SECRET_KEY ?? 'maskflow-test-secret-key-0123456789',
  bucket: 'maskflow-test',
};
