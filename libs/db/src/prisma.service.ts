import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { APP_CONFIG, createLogger, type AppConfig } from '../../config/src/index.js';
import { PrismaClient } from './generated/client.js';

/**
 * The one Prisma client of a process (driver adapter: node-postgres). Closed in the last shutdown phase
 * (Nest runs onModuleDestroy first), after the workers have drained their jobs.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  /** The node-postgres pool under Prisma, for what Prisma cannot do (COPY for batch ingest). */
  readonly pool: pg.Pool;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10 });
    // A dropped idle connection (Postgres restart, failover) is replaced on next use; it must not crash us.
    const log = createLogger('db', config.logLevel);
    pool.on('error', (err) => log.warn({ err: err.message }, 'idle database connection lost'));
    // A connection dropped while checked out (between a transaction's statements) emits 'error' on the client,
    // which the pool does not listen to then: without this, pg_terminate_backend or a failover kills the process.
    // The statement in flight fails on its own; the pool replaces the connection.
    pool.on('connect', (client) => client.on('error', (err) => log.warn({ err: err.message }, 'database connection lost while in use')));
    super({ adapter: new PrismaPg(pool) });
    this.pool = pool;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
    await this.pool.end().catch(() => undefined);
  }
}
