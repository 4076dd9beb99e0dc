import { Controller, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiKeyGuard, type AuthedRequest } from '../auth/api-key.guard.js';
import { ConsumerWebhooksService } from './consumer-webhooks.service.js';

/** Every delivery of every event to every target, with its attempts; newest first. */
@Controller('v1/webhook-deliveries')
@UseGuards(ApiKeyGuard)
export class WebhookDeliveriesController {
  constructor(private readonly webhooks: ConsumerWebhooksService) {}

  @Get()
  list(@Req() req: AuthedRequest, @Query() q: Record<string, string>) {
    return this.webhooks.listDeliveries(req.tenantId, q);
  }

  @Get(':id')
  get(@Req() req: AuthedRequest, @Param('id') id: string) {
    return this.webhooks.getDelivery(req.tenantId, id);
  }

  @Post(':id/redeliver')
  @HttpCode(202)
  redeliver(@Req() req: AuthedRequest, @Param('id') id: string) {
    return this.webhooks.redeliver(req.tenantId, id);
  }
}
