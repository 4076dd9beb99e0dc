import { Module } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import { APP_CONFIG, type AppConfig } from '../../../../libs/config/src/index.js';
import { StorageModule } from '../../../../libs/storage/src/index.js';
import { JobPresenter } from './job.presenter.js';
import { JobsController } from './jobs.controller.js';
import { JobsService } from './jobs.service.js';

@Module({
  imports: [
    StorageModule,
    MulterModule.registerAsync({
      inject: [APP_CONFIG],
      // In memory: the file is bounded by MAX_IMAGE_BYTES and goes straight to S3.
      useFactory: (config: AppConfig) => ({ limits: { fileSize: config.limits.maxImageBytes, files: 1, fields: 16, fieldSize: 64 * 1024 } }),
    }),
  ],
  controllers: [JobsController],
  providers: [JobsService, JobPresenter],
  exports: [JobsService, JobPresenter],
})
export class JobsModule {}
