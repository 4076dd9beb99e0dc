import { Module } from '@nestjs/common';
import { BatchesCoreModule } from '../../../../libs/batches/src/index.js';
import { StorageModule } from '../../../../libs/storage/src/index.js';
import { BatchesController } from './batches.controller.js';
import { BatchesService } from './batches.service.js';

@Module({
  imports: [StorageModule, BatchesCoreModule],
  controllers: [BatchesController],
  providers: [BatchesService],
})
export class BatchesModule {}
