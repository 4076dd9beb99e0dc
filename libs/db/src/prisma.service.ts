import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { APP_CONFIG, createLogger, type AppConfig } from '../../config/src/index.js';
import { PrismaClient } from './generated/client.js';

/** The one Prisma client of a process (driver adapter: node-postgres). Closed last on shutdown. */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  private readonly pool: pg.Pool;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10 });
    // A dropped idle connection (Postgres restart, failover) is replaced on next use; it must not crash us.
    pool.on('error', (err) => createLogger('db', config.logLevel).warn({ err: err.message }, 'idle database connection lost'));
    super({ adapter: new PrismaPg(pool) });
    this.pool = pool;
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
    await this.pool.end().catch(() => undefined);
  }
}
