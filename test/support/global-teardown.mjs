/** Drops this run's test database (the S3 gateway is left running for the next run; it holds nothing). */
import pg from 'pg';

export default async function globalTeardown() {
  const url = process.env.TEST_DATABASE_URL;
  if (!url || process.env.KEEP_TEST_DATABASE) return;
  const name = new URL(url).pathname.slice(1);
  if (!name.startsWith('maskflow_test')) return;
  const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
}
