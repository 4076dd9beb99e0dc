import { Module } from '@nestjs/common';
import { ModelslabClient } from './modelslab.client.js';

@Module({ providers: [ModelslabClient], exports: [ModelslabClient] })
export class ProviderModule {}
