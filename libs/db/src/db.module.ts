import { Global, Module } from '@nestjs/common';
import { JobRepository } from './job.repository.js';
import { PrismaService } from './prisma.service.js';

@Global()
@Module({ providers: [PrismaService, JobRepository], exports: [PrismaService, JobRepository] })
export class DbModule {}
