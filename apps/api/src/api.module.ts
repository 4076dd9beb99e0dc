import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, type AppConfig } from '../../../libs/config/src/index.js';
import { DbModule } from '../../../libs/db/src/index.js';
import { QueueModule } from '../../../libs/queue/src/index.js';
import { ConsumerWebhooksModule } from './consumer-webhooks/consumer-webhooks.module.js';
import { AccessModule } from './access/access.module.js';
import { FacadeModule } from './facade/facade.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';
import { BatchesModule } from './batches/batches.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from '../../../libs/metrics/src/index.js';
import { ApiMetricsModule } from './metrics/api-metrics.module.js';
import { DashboardModule } from './dashboard/dashboard.module.js';

@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [ConfigModule.forRoot(config), DbModule, QueueModule, AccessModule, JobsModule, FacadeModule, WebhooksModule, ConsumerWebhooksModule, BatchesModule, DashboardModule, HealthModule, MetricsModule, ApiMetricsModule],
    };
  }
}
