/**
 * Applies and checks Prisma migrations with Prisma's WebAssembly schema engine and the Postgres driver
 * adapter, so nothing is downloaded: the Prisma 7 CLI fetches a native schema engine, which fails offline.
 * The migrations are ordinary Prisma migrations (prisma/migrations/<name>/migration.sql, recorded in
 * _prisma_migrations), so `prisma migrate deploy` remains usable wherever the native engine is available.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The repository root, found from this file whether it runs from source (ts) or from dist/. */
function projectRoot(): string {
  let dir = here;
  for (;;) {
    const candidate = path.join(dir, 'prisma', 'schema.prisma');
    try {
      require_.resolve(candidate);
      return dir;
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) throw new Error(`prisma/schema.prisma not found above ${here}`);
      dir = parent;
    }
  }
}
const require_ = createRequire(import.meta.url);

export const PRISMA_DIR = path.join(projectRoot(), 'prisma');
export const SCHEMA_PATH = path.join(PRISMA_DIR, 'schema.prisma');
export const MIGRATIONS_DIR = path.join(PRISMA_DIR, 'migrations');

interface SchemaEngineModule {
  SchemaEngine: {
    new: (options: { datamodels: [string, string][] }, log: (msg: string) => void, adapter: object) => Promise<SchemaEngine>;
  };
  __wbg_set_wasm: (wasm: unknown) => void;
}
interface SchemaEngine {
  applyMigrations(input: unknown): Promise<{ appliedMigrationNames: string[] }>;
  diff(params: unknown): Promise<{ exitCode: number; stdout: string | null }>;
  free(): void;
}

let engineModule: Promise<SchemaEngineModule> | undefined;

/** Loads the wasm-bindgen module by hand: its entry file imports a .wasm, which Node cannot do without flags. */
function loadEngineModule(): Promise<SchemaEngineModule> {
  engineModule ??= (async () => {
    const bgPath = require_.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bg = (await import(bgPath)) as SchemaEngineModule & Record<string, unknown>;
    const bytes = await readFile(path.join(path.dirname(bgPath), 'schema_engine_bg.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bg as WebAssembly.ModuleImports });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bg;
  })();
  return engineModule;
}

async function migrationsList() {
  const entries = (await readdir(MIGRATIONS_DIR)).sort();
  const dirs = [];
  for (const name of entries) {
    const dir = path.join(MIGRATIONS_DIR, name);
    if (!(await stat(dir)).isDirectory()) continue;
    const file = path.join(dir, 'migration.sql');
    dirs.push({ path: name, migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: await readFile(file, 'utf8') } } });
  }
  let lock: string | null = null;
  try {
    lock = await readFile(path.join(MIGRATIONS_DIR, 'migration_lock.toml'), 'utf8');
  } catch {
    lock = null;
  }
  return { baseDir: MIGRATIONS_DIR, lockfile: { path: 'migration_lock.toml', content: lock }, migrationDirectories: dirs, shadowDbInitScript: '' };
}

const noFilters = { externalTables: [], externalEnums: [] };

async function withEngine<T>(databaseUrl: string, fn: (engine: SchemaEngine, schema: string) => Promise<T>): Promise<T> {
  const mod = await loadEngineModule();
  const schema = await readFile(SCHEMA_PATH, 'utf8');
  // Our own pool, so that it is closed when we are done (the engine does not close what it opens).
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, allowExitOnIdle: true });
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool));
  try {
    const engine = await mod.SchemaEngine.new({ datamodels: [[SCHEMA_PATH, schema]] }, () => undefined, adapter);
    try {
      return await fn(engine, schema);
    } finally {
      engine.free();
    }
  } finally {
    await pool.end();
  }
}

/** Creates the database named in the URL when it does not exist yet (like `prisma migrate deploy`). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) return;
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } catch (err) {
        // Two replicas starting at once: the other one created it first.
        const code = (err as { code?: string }).code;
        if (code !== '42P04' && code !== '23505') throw err;
      }
    }
  } finally {
    await client.end();
  }
}

/** Applies every pending migration; returns the names applied. Safe to run concurrently (advisory lock). */
export async function migrateDeploy(databaseUrl: string): Promise<string[]> {
  await ensureDatabase(databaseUrl);
  const lock = new pg.Client({ connectionString: databaseUrl });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(72707370)');
    return await withEngine(databaseUrl, async (engine) => {
      const out = await engine.applyMigrations({ migrationsList: await migrationsList(), filters: noFilters });
      return out.appliedMigrationNames;
    });
  } finally {
    await lock.query('SELECT pg_advisory_unlock(72707370)').catch(() => undefined);
    await lock.end();
  }
}

/** SQL creating schema.prisma from nothing: used to write a first migration. */
export async function diffEmptyToSchema(databaseUrl: string): Promise<string> {
  return diffToSchema(databaseUrl, { tag: 'empty' });
}

/**
 * SQL taking a database described by an older schema file to schema.prisma: how a new migration is written
 * (`git show HEAD:prisma/schema.prisma > /tmp/old.prisma; npm run migrate -- sql-from-schema /tmp/old.prisma`).
 * The migrations test checks that the migrations, applied in order, give exactly schema.prisma.
 */
export async function diffSchemaFileToSchema(databaseUrl: string, fromSchemaPath: string): Promise<string> {
  const from = await readFile(fromSchemaPath, 'utf8');
  return diffToSchema(databaseUrl, { tag: 'schemaDatamodel', files: [{ path: fromSchemaPath, content: from }] });
}

async function diffToSchema(databaseUrl: string, from: unknown): Promise<string> {
  return withEngine(databaseUrl, async (engine, schema) => {
    const out = await engine.diff({
      from,
      to: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: schema }] },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    return out.stdout ?? '';
  });
}
