import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { parseCreateWebhookEndpoint } from '../../../../libs/contracts/src/index.js';
import { ApiKeyGuard, type AuthedRequest } from '../auth/api-key.guard.js';
import { ApiError } from '../errors/api-error.js';
import { OutboundUrlChecker } from '../outbound/outbound-url-checker.service.js';
import { ConsumerWebhooksService } from './consumer-webhooks.service.js';

/** Endpoints that receive the tenant's events, filtered by type. The `whsec_` secret is answered once. */
@Controller('v1/webhook-endpoints')
@UseGuards(ApiKeyGuard)
export class WebhookEndpointsController {
  constructor(
    private readonly webhooks: ConsumerWebhooksService,
    private readonly outbound: OutboundUrlChecker,
  ) {}

  @Post()
  @HttpCode(201)
  async create(@Req() req: AuthedRequest, @Body() body: unknown) {
    const parsed = parseCreateWebhookEndpoint(body);
    if (!parsed.ok) throw ApiError.fromIssues(parsed.issues);
    await this.outbound.assertAllowed({ url: parsed.value.url });
    return this.webhooks.createEndpoint(req.tenantId, parsed.value);
  }

  @Get()
  list(@Req() req: AuthedRequest) {
    return this.webhooks.listEndpoints(req.tenantId);
  }

  @Get(':id')
  get(@Req() req: AuthedRequest, @Param('id') id: string) {
    return this.webhooks.getEndpoint(req.tenantId, id);
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Req() req: AuthedRequest, @Param('id') id: string): Promise<void> {
    await this.webhooks.deleteEndpoint(req.tenantId, id);
  }

  /** A new secret; the old one keeps signing too (both signatures are sent) for WEBHOOK_SECRET_GRACE_SECONDS. */
  @Post(':id/rotate-secret')
  @HttpCode(200)
  rotate(@Req() req: AuthedRequest, @Param('id') id: string) {
    return this.webhooks.rotateEndpointSecret(req.tenantId, id);
  }

  /** Re-enables an endpoint disabled after a 410 Gone. */
  @Post(':id/enable')
  @HttpCode(200)
  enable(@Req() req: AuthedRequest, @Param('id') id: string) {
    return this.webhooks.enableEndpoint(req.tenantId, id);
  }
}
