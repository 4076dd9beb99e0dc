import { Module } from '@nestjs/common';
import { ConsumerWebhooksService } from './consumer-webhooks.service.js';
import { WebhookDeliveriesController } from './webhook-deliveries.controller.js';
import { WebhookEndpointsController } from './webhook-endpoints.controller.js';
import { WebhookSecretController } from './webhook-secret.controller.js';

/** Consumer webhooks (events we send); the provider's webhooks to us live in ../webhooks. */
@Module({
  controllers: [WebhookEndpointsController, WebhookDeliveriesController, WebhookSecretController],
  providers: [ConsumerWebhooksService],
})
export class ConsumerWebhooksModule {}
