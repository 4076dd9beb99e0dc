import { Global, Module } from '@nestjs/common';
import { ApiKeyRepository } from './api-key.repository.js';
import { FacadeRequestRepository } from './facade-request.repository.js';
import { JobRepository } from './job.repository.js';
import { PrismaService } from './prisma.service.js';

@Global()
@Module({ providers: [PrismaService, JobRepository, ApiKeyRepository, FacadeRequestRepository], exports: [PrismaService, JobRepository, ApiKeyRepository, FacadeRequestRepository] })
export class DbModule {}
