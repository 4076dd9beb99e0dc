import { Module } from '@nestjs/common';
import { PipelineModule } from '../../../../libs/pipeline/src/index.js';
import { ModelslabWebhookController } from './modelslab-webhook.controller.js';

@Module({ imports: [PipelineModule], controllers: [ModelslabWebhookController] })
export class WebhooksModule {}
