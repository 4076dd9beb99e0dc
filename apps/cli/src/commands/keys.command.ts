/** `maskflow keys create|list|revoke`: managed API keys, straight against Postgres (like the admin API). */
import { parseArgs } from 'node:util';
import type { ApiKeyRepository } from '../../../../libs/db/src/index.js';
import { presentApiKey } from '../../../api/src/access/api-key.presenter.js';
import { EXIT, UsageError, type CliCommand, type CliContext } from '../command.js';

// Prisma and the database code load only when a keys command runs, so every other command starts fast.
const db = () => import('../../../../libs/db/src/index.js');
const createApiKeySchema = async () => (await import('../../../api/src/access/create-api-key.schema.js')).createApiKeySchema;

async function withKeys<T>(ctx: CliContext, run: (keys: ApiKeyRepository) => Promise<T>): Promise<T> {
  const config = ctx.config();
  const { ApiKeyRepository, PrismaService, migrateDeploy } = await db();
  if (config.migrateOnStart) await migrateDeploy(config.databaseUrl);
  const prisma = new PrismaService(config);
  try {
    return await run(new ApiKeyRepository(prisma));
  } finally {
    await prisma.onApplicationShutdown();
  }
}

type Values = Record<string, string | boolean | undefined>;

function parse(args: string[], options: Record<string, { type: 'string' | 'boolean' }>, positionals = 0): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({ args, options: { ...options, json: { type: 'boolean' } }, allowPositionals: positionals > 0, strict: true });
    if (parsed.positionals.length !== positionals) throw new UsageError(`expected ${positionals} argument(s), got ${parsed.positionals.length}`);
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError((err as Error).message);
  }
}

export const keysCreate: CliCommand = {
  path: ['keys', 'create'],
  summary: 'create an API key for a tenant (the key is printed once)',
  usage: 'maskflow keys create --name <name> --tenant <tenant> [--rate-limit <requests per window>] [--json]',
  async run(args, ctx) {
    const { values } = parse(args, { name: { type: 'string' }, tenant: { type: 'string' }, 'rate-limit': { type: 'string' } });
    const rateLimit = values['rate-limit'] === undefined ? undefined : Number(values['rate-limit']);
    const input = (await createApiKeySchema()).safeParse({ name: values.name, tenant: values.tenant, ...(rateLimit === undefined ? {} : { rate_limit: rateLimit }) });
    if (!input.success) throw new UsageError(input.error.issues.map((i) => `--${String(i.path[0] ?? '').replace('_', '-')}: ${i.message}`).join('; '));
    const { record, key } = await withKeys(ctx, (keys) => keys.create({ tenantId: input.data.tenant, name: input.data.name, rateLimit: input.data.rate_limit }));
    if (values.json) {
      ctx.out(JSON.stringify({ ...presentApiKey(record), key }));
    } else {
      ctx.out(`created key ${record.id} "${record.name}" for tenant ${record.tenantId}`);
      ctx.out(`key (shown once, store it now): ${key}`);
    }
    return EXIT.ok;
  },
};

export const keysList: CliCommand = {
  path: ['keys', 'list'],
  summary: 'list API keys (never the keys themselves)',
  usage: 'maskflow keys list [--tenant <tenant>] [--active] [--json]',
  async run(args, ctx) {
    const { values } = parse(args, { tenant: { type: 'string' }, active: { type: 'boolean' } });
    const rows = (await withKeys(ctx, (keys) => keys.list({ tenantId: values.tenant as string | undefined, includeRevoked: !values.active }))).map(presentApiKey);
    if (values.json) {
      ctx.out(JSON.stringify({ data: rows }));
      return EXIT.ok;
    }
    ctx.out(['ID', 'TENANT', 'NAME', 'RATE LIMIT', 'CREATED', 'LAST USED', 'REVOKED'].join('\t'));
    for (const r of rows) ctx.out([r.id, r.tenant, r.name, r.rate_limit ?? 'default', r.created_at, r.last_used_at ?? '-', r.revoked_at ?? '-'].join('\t'));
    return EXIT.ok;
  },
};

export const keysRevoke: CliCommand = {
  path: ['keys', 'revoke'],
  summary: 'revoke an API key (every api replica refuses it within API_KEY_CACHE_TTL_MS)',
  usage: 'maskflow keys revoke <id> [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, {}, 1);
    const id = positionals[0]!;
    const row = await withKeys(ctx, (keys) => keys.revoke(id));
    if (!row) {
      ctx.err(`no API key ${id}`);
      return EXIT.failure;
    }
    ctx.out(values.json ? JSON.stringify(presentApiKey(row)) : `revoked key ${row.id} (tenant ${row.tenantId}) at ${row.revokedAt!.toISOString()}`);
    return EXIT.ok;
  },
};
