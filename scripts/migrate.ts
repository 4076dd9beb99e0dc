/**
 * `npm run migrate` (deploy pending migrations to DATABASE_URL) and `npm run migrate -- sql-from-empty`
 * (the SQL that creates schema.prisma from nothing) and `npm run migrate -- sql-from-schema <old.prisma>` (the
 * SQL from an older schema to the current one: how a new migration is written), with Prisma's WASM schema
 * engine: no engine download, so it works offline. See libs/db/src/migrator.ts.
 */
import { loadConfig } from '../libs/config/src/index.js';
import { diffEmptyToSchema, diffSchemaFileToSchema, migrateDeploy } from '../libs/db/src/migrator.js';

const command = process.argv[2] ?? 'deploy';
const fromSchema = command === 'sql-from-schema' ? process.argv[3] : undefined;
if (command === 'sql-from-schema' && !fromSchema) {
  console.error('usage: migrate sql-from-schema <older schema.prisma> [database url]');
  process.exit(64);
}
// Diffs only need a connection, not maskflow's database: they default to the server's `postgres` database.
const defaultUrl = () => {
  const url = new URL(loadConfig().databaseUrl);
  if (command !== 'deploy') url.pathname = '/postgres';
  return url.toString();
};
const url = process.argv[fromSchema ? 4 : 3] ?? defaultUrl();
if (command === 'deploy') {
  const applied = await migrateDeploy(url);
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
} else if (command === 'sql-from-empty') {
  process.stdout.write(await diffEmptyToSchema(url));
} else if (fromSchema) {
  process.stdout.write(await diffSchemaFileToSchema(url, fromSchema));
} else {
  console.error(`unknown command "${command}" (use deploy | sql-from-empty | sql-from-schema <file>)`);
  process.exit(64);
}
// The WASM schema engine leaves a timer behind for a few seconds; nothing else is pending.
process.exit(0);
