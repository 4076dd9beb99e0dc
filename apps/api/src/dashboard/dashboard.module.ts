import { Module } from '@nestjs/common';
import { BatchesCoreModule } from '../../../../libs/batches/src/index.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { DashboardController } from './dashboard.controller.js';
import { DashboardService } from './dashboard.service.js';

@Module({
  imports: [JobsModule, BatchesCoreModule],
  controllers: [DashboardController],
  providers: [DashboardService],
})
export class DashboardModule {}
