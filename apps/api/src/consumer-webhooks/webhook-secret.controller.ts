import { Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiKeyGuard, type AuthedRequest } from '../auth/api-key.guard.js';
import { ConsumerWebhooksService } from './consumer-webhooks.service.js';

/**
 * The secret that signs deliveries to per-job (and per-batch) `callback_url`s: one per tenant, created on
 * first use (this call, or the first callback delivery), rotated with a grace period like endpoint secrets.
 */
@Controller('v1/webhook-secret')
@UseGuards(ApiKeyGuard)
export class WebhookSecretController {
  constructor(private readonly webhooks: ConsumerWebhooksService) {}

  @Get()
  get(@Req() req: AuthedRequest) {
    return this.webhooks.callbackSecret(req.tenantId);
  }

  @Post('rotate')
  @HttpCode(200)
  rotate(@Req() req: AuthedRequest) {
    return this.webhooks.rotateCallbackSecret(req.tenantId);
  }
}
