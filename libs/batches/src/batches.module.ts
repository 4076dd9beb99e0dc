import { Module } from '@nestjs/common';
import { BatchCompletion } from './batch-completion.service.js';

@Module({ providers: [BatchCompletion], exports: [BatchCompletion] })
export class BatchesCoreModule {}
