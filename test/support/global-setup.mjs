/**
 * Once per test run: a real, credential-checking S3 server (Ceph radosgw, started unless TEST_S3_ENDPOINT
 * points at one), and a fresh test database with the migrations applied by our offline migrator.
 * Plain JS on the compiled build (jest does not transform globalSetup imports): `npm test` builds first.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export default async function globalSetup() {
  process.env.LOG_LEVEL ??= process.env.TEST_LOG_LEVEL ?? 'silent';
  if (!process.env.TEST_S3_ENDPOINT) {
    execFileSync('bash', [path.join(root, 'scripts/s3/radosgw.sh'), 'start'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 180_000 });
  }
  // A database of this run's own, so that parallel runs on one machine never drop each other's.
  const dbName = process.env.TEST_DATABASE_NAME ?? `maskflow_test_${process.pid}`;
  const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await admin.end();
  const url = `postgresql://postgres@127.0.0.1:5432/${dbName}`;
  // In a child process: the schema engine's handles must not keep jest alive.
  const out = execFileSync(process.execPath, [path.join(root, 'dist/scripts/migrate.js'), 'deploy', url], { encoding: 'utf8', timeout: 120_000 });
  if (!out.includes('applied:')) throw new Error(`no migration applied to the fresh test database: ${out}`);
  process.env.TEST_DATABASE_URL = url;
}

export const adminUrl = 'postgresql://postgres@127.0.0.1:5432/postgres';
