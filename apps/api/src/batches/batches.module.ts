import { Module } from '@nestjs/common';
import { BatchesCoreModule } from '../../../../libs/batches/src/index.js';
import { StorageModule } from '../../../../libs/storage/src/index.js';
import { BatchPresenter } from './batch.presenter.js';
import { BatchesController } from './batches.controller.js';
import { BatchesService } from './batches.service.js';

@Module({
  imports: [StorageModule, BatchesCoreModule],
  controllers: [BatchesController],
  providers: [BatchesService, BatchPresenter],
})
export class BatchesModule {}
