import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, type AppConfig } from '../../../libs/config/src/index.js';
import { DbModule } from '../../../libs/db/src/index.js';
import { PipelineModule } from '../../../libs/pipeline/src/index.js';
import { ProviderModule } from '../../../libs/provider/src/index.js';
import { QueueModule } from '../../../libs/queue/src/index.js';
import { StorageModule } from '../../../libs/storage/src/index.js';
import { JobPresenter } from '../../api/src/jobs/job.presenter.js';
import { DeliverWebhookProcessor } from './processors/deliver-webhook.processor.js';
import { FacadeWebhookDispatcher } from './facade/facade-webhook-dispatcher.service.js';
import { JOB_PROCESSORS } from './processors/job-processor.js';
import { StoreOutputsProcessor } from './processors/store-outputs.processor.js';
import { SubmitToProviderProcessor } from './processors/submit-to-provider.processor.js';
import { QueueReconciler } from './queue-reconciler.service.js';
import { WebhookDispatcher } from './webhook-dispatcher.service.js';
import { BatchFeeder } from './batch-feeder.service.js';
import { BatchesCoreModule } from '../../../libs/batches/src/index.js';
import { WorkerHost } from './worker-host.service.js';
import { MetricsModule } from '../../../libs/metrics/src/index.js';
import { MetricsServer } from './metrics-server.service.js';

@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config), DbModule, QueueModule, StorageModule, ProviderModule, PipelineModule, BatchesCoreModule, MetricsModule],
      providers: [
        SubmitToProviderProcessor,
        StoreOutputsProcessor,
        DeliverWebhookProcessor,
        JobPresenter,
        {
          provide: JOB_PROCESSORS,
          inject: [SubmitToProviderProcessor, StoreOutputsProcessor, DeliverWebhookProcessor],
          useFactory: (...processors: unknown[]) => processors,
        },
        WorkerHost,
        QueueReconciler,
        WebhookDispatcher,
        FacadeWebhookDispatcher,
        BatchFeeder,
        MetricsServer,
      ],
    };
  }
}
