/**
 * `npm run migrate` (deploy pending migrations to DATABASE_URL) and `npm run migrate -- sql-from-empty`
 * (the SQL that creates schema.prisma from nothing, to write a migration), with Prisma's WASM schema
 * engine: no engine download, so it works offline. See libs/db/src/migrator.ts.
 */
import { loadConfig } from '../libs/config/src/index.js';
import { diffEmptyToSchema, migrateDeploy } from '../libs/db/src/migrator.js';

const command = process.argv[2] ?? 'deploy';
const url = process.argv[3] ?? loadConfig().databaseUrl;
if (command === 'deploy') {
  const applied = await migrateDeploy(url);
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
} else if (command === 'sql-from-empty') {
  process.stdout.write(await diffEmptyToSchema(url));
} else {
  console.error(`unknown command "${command}" (use deploy | sql-from-empty)`);
  process.exit(64);
}
// The WASM schema engine leaves a timer behind for a few seconds; nothing else is pending.
process.exit(0);
