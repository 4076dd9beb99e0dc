import { Module } from '@nestjs/common';
import { BatchCompletion } from './batch-completion.service.js';
import { BatchPresenter } from './batch.presenter.js';

@Module({ providers: [BatchCompletion, BatchPresenter], exports: [BatchCompletion, BatchPresenter] })
export class BatchesCoreModule {}
