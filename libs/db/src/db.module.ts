import { Global, Module } from '@nestjs/common';
import { ApiKeyRepository } from './api-key.repository.js';
import { FacadeRequestRepository } from './facade-request.repository.js';
import { BatchRepository } from './batch.repository.js';
import { JobRepository } from './job.repository.js';
import { PrismaService } from './prisma.service.js';
import { WebhookRepository } from './webhook.repository.js';

@Global()
@Module({
  providers: [PrismaService, JobRepository, WebhookRepository, ApiKeyRepository, FacadeRequestRepository, BatchRepository],
  exports: [PrismaService, JobRepository, WebhookRepository, ApiKeyRepository, FacadeRequestRepository, BatchRepository],
})
export class DbModule {}
