import { Global, Module } from '@nestjs/common';
import { JobRepository } from './job.repository.js';
import { PrismaService } from './prisma.service.js';
import { WebhookRepository } from './webhook.repository.js';

@Global()
@Module({ providers: [PrismaService, JobRepository, WebhookRepository], exports: [PrismaService, JobRepository, WebhookRepository] })
export class DbModule {}
