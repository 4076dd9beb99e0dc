/**
 * The committed migrations must produce exactly the schema that schema.prisma describes: a database built by
 * the migrations and one built from Prisma's own DDL for schema.prisma are compared column by column,
 * index by index, constraint by constraint.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

// Through the migrate command (as an operator or a starting replica would), in its own process.
const migrateCli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/scripts/migrate.js');
async function migrate(command: 'deploy' | 'sql-from-empty', url: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [migrateCli, command, url], { maxBuffer: 16 << 20 });
  return stdout;
}
const migrateDeploy = async (url: string) => {
  const out = (await migrate('deploy', url)).trim();
  return out.startsWith('applied: ') ? out.slice('applied: '.length).split(', ') : [];
};
const diffEmptyToSchema = (url: string) => migrate('sql-from-empty', url);

const admin = 'postgresql://postgres@127.0.0.1:5432/postgres';
const urlOf = (name: string) => `postgresql://postgres@127.0.0.1:5432/${name}`;

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

async function describeSchema(url: string): Promise<string[]> {
  const columns = await query(url, `
    SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || udt_name || ' null=' || is_nullable || ' default=' || coalesce(column_default, '') AS d
    FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`);
  const indexes = await query(url, `SELECT indexdef AS d FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`);
  const constraints = await query(url, `
    SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS d
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '_prisma_migrations'`);
  const enums = await query(url, `
    SELECT t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS d
    FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname`);
  return [...columns, ...indexes, ...constraints, ...enums].map((r) => (r as { d: string }).d).sort();
}

const suffix = `${process.pid}_${Date.now()}`;
const migrated = `maskflow_mig_a_${suffix}`;
const fromSchema = `maskflow_mig_b_${suffix}`;

afterAll(async () => {
  for (const db of [migrated, fromSchema]) await query(admin, `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
});

it('migrating a fresh database gives the schema of schema.prisma, and a second deploy applies nothing', async () => {
  const applied = await migrateDeploy(urlOf(migrated));
  expect(applied.length).toBeGreaterThan(0);
  expect(await migrateDeploy(urlOf(migrated))).toEqual([]);

  await query(admin, `CREATE DATABASE "${fromSchema}"`);
  const ddl = await diffEmptyToSchema(urlOf(fromSchema));
  await query(urlOf(fromSchema), ddl);

  const a = await describeSchema(urlOf(migrated));
  const b = await describeSchema(urlOf(fromSchema));
  expect(a.length).toBeGreaterThan(20);
  expect(a).toEqual(b);
  const recorded = await query<{ migration_name: string; finished_at: Date | null }>(urlOf(migrated), 'SELECT migration_name, finished_at FROM _prisma_migrations');
  expect(recorded.map((r) => r.migration_name)).toEqual(applied);
  expect(recorded.every((r) => r.finished_at !== null)).toBe(true);
});

it('two replicas migrating at once both succeed, and the migrations are applied once', async () => {
  const name = `maskflow_mig_c_${suffix}`;
  try {
    const [x, y] = await Promise.all([migrateDeploy(urlOf(name)), migrateDeploy(urlOf(name))]);
    expect([...x, ...y].length).toBe(Math.max(x.length, y.length));
    const recorded = await query(urlOf(name), 'SELECT count(*)::int AS n FROM _prisma_migrations');
    expect(recorded[0]).toEqual({ n: x.length + y.length });
  } finally {
    await query(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
});
