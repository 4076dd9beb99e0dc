/**
 * Consumer webhooks, the API side: endpoints (secret shown once, at creation and rotation), the tenant's
 * callback secret, and the delivery log with redelivery. Sending happens in the worker.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, createLogger, type AppConfig } from '../../../../libs/config/src/index.js';
import { ApiErrorCode, JobName, WEBHOOK_DELIVERY_STATUSES, type CreateWebhookEndpointInput, type WebhookDeliveryStatusName } from '../../../../libs/contracts/src/index.js';
import { WebhookRepository, type DeliveryWithDetails, type TenantWebhookSecret, type WebhookEndpoint } from '../../../../libs/db/src/index.js';
import { QueueService } from '../../../../libs/queue/src/index.js';
import { generateWebhookSecret } from '../../../../libs/webhooks/src/index.js';
import { ApiError } from '../errors/api-error.js';

const log = createLogger('api.consumer-webhooks');
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface WebhookEndpointView {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  disabled: boolean;
  disabled_reason: string | null;
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
  /** Only in the answers of create and rotate-secret. */
  secret?: string;
}

function endpointView(e: WebhookEndpoint, withSecret = false): WebhookEndpointView {
  const graceLeft = e.previousSecret && e.previousSecretExpiresAt && e.previousSecretExpiresAt > new Date();
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    events: e.events,
    disabled: e.disabledAt !== null,
    disabled_reason: e.disabledReason,
    previous_secret_expires_at: graceLeft ? e.previousSecretExpiresAt!.toISOString() : null,
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
    ...(withSecret ? { secret: e.secret } : {}),
  };
}

function secretView(s: TenantWebhookSecret) {
  const graceLeft = s.previousSecret && s.previousSecretExpiresAt && s.previousSecretExpiresAt > new Date();
  return { secret: s.secret, previous_secret_expires_at: graceLeft ? s.previousSecretExpiresAt!.toISOString() : null, created_at: s.createdAt.toISOString(), rotated_at: s.rotatedAt?.toISOString() ?? null };
}

export function deliveryView(d: DeliveryWithDetails) {
  return {
    id: d.id,
    webhook_id: d.eventId,
    event_type: d.event.type,
    job_id: d.jobId,
    target: d.target === 'callback' ? ('callback_url' as const) : ('endpoint' as const),
    endpoint_id: d.endpointId,
    url: d.url,
    status: d.status,
    attempts: d.attemptCount,
    next_attempt_at: d.status === 'pending' ? (d.nextAttemptAt?.toISOString() ?? null) : null,
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    delivered_at: d.deliveredAt?.toISOString() ?? null,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
    attempt_log: [...d.attempts]
      .sort((a, b) => a.attemptNo - b.attemptNo)
      .map((a) => ({ attempt: a.attemptNo, status_code: a.statusCode, duration_ms: a.durationMs, error: a.error, response_snippet: a.responseSnippet, webhook_timestamp: a.webhookTimestamp, at: a.createdAt.toISOString() })),
  };
}

interface Cursor {
  createdAt: Date;
  id: string;
}
const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify([c.createdAt.toISOString(), c.id])).toString('base64url');
function decodeCursor(raw: string): Cursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(at);
    if (Number.isNaN(createdAt.getTime()) || !UUID_RE.test(id)) throw new Error('bad cursor');
    return { createdAt, id };
  } catch {
    throw new ApiError(400, ApiErrorCode.InvalidCursor, 'cursor is not a cursor returned by this API');
  }
}

@Injectable()
export class ConsumerWebhooksService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly webhooks: WebhookRepository,
    private readonly queues: QueueService,
  ) {}

  async createEndpoint(tenantId: string, input: CreateWebhookEndpointInput): Promise<WebhookEndpointView> {
    const e = await this.webhooks.createEndpoint({ id: randomUUID(), tenantId, url: input.url, description: input.description, events: input.events, secret: generateWebhookSecret() });
    log.info({ endpointId: e.id, events: e.events }, 'webhook endpoint created');
    return endpointView(e, true);
  }

  async listEndpoints(tenantId: string): Promise<{ data: WebhookEndpointView[] }> {
    return { data: (await this.webhooks.listEndpoints(tenantId)).map((e) => endpointView(e)) };
  }

  async getEndpoint(tenantId: string, id: string): Promise<WebhookEndpointView> {
    return endpointView(await this.endpoint(tenantId, id));
  }

  async deleteEndpoint(tenantId: string, id: string): Promise<void> {
    if (!UUID_RE.test(id) || !(await this.webhooks.deleteEndpoint(tenantId, id))) throw this.noEndpoint(id);
    log.info({ endpointId: id }, 'webhook endpoint deleted');
  }

  async rotateEndpointSecret(tenantId: string, id: string): Promise<WebhookEndpointView> {
    await this.endpoint(tenantId, id);
    const e = await this.webhooks.rotateEndpointSecret(tenantId, id, generateWebhookSecret(), this.config.webhooks.secretGraceSeconds);
    if (!e) throw this.noEndpoint(id);
    log.info({ endpointId: id }, 'webhook endpoint secret rotated');
    return endpointView(e, true);
  }

  async enableEndpoint(tenantId: string, id: string): Promise<WebhookEndpointView> {
    await this.endpoint(tenantId, id);
    const e = await this.webhooks.enableEndpoint(tenantId, id);
    if (!e) throw this.noEndpoint(id);
    return endpointView(e);
  }

  async callbackSecret(tenantId: string) {
    return secretView(await this.webhooks.tenantSecret(tenantId, generateWebhookSecret()));
  }

  async rotateCallbackSecret(tenantId: string) {
    const s = await this.webhooks.rotateTenantSecret(tenantId, generateWebhookSecret(), this.config.webhooks.secretGraceSeconds, generateWebhookSecret());
    log.info('callback secret rotated');
    return secretView(s);
  }

  async listDeliveries(tenantId: string, q: { job_id?: string; endpoint_id?: string; status?: string; limit?: string; cursor?: string }) {
    for (const field of ['job_id', 'endpoint_id'] as const) {
      if (q[field] !== undefined && !UUID_RE.test(q[field])) throw new ApiError(422, ApiErrorCode.ValidationFailed, `${field} must be a UUID`, [{ field }]);
    }
    if (q.status !== undefined && !WEBHOOK_DELIVERY_STATUSES.includes(q.status as WebhookDeliveryStatusName)) {
      throw new ApiError(422, ApiErrorCode.ValidationFailed, `status must be one of ${WEBHOOK_DELIVERY_STATUSES.join(', ')}`, [{ field: 'status' }]);
    }
    const limit = q.limit === undefined ? 50 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
      throw new ApiError(422, ApiErrorCode.ValidationFailed, 'limit must be an integer from 1 to 200', [{ field: 'limit' }]);
    }
    const rows = await this.webhooks.listDeliveries(tenantId, {
      jobId: q.job_id,
      endpointId: q.endpoint_id,
      status: q.status as WebhookDeliveryStatusName | undefined,
      limit: limit + 1,
      cursor: q.cursor ? decodeCursor(q.cursor) : undefined,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { data: page.map(deliveryView), next_cursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null };
  }

  async getDelivery(tenantId: string, id: string) {
    const d = UUID_RE.test(id) ? await this.webhooks.findDelivery(tenantId, id) : null;
    if (!d) throw new ApiError(404, ApiErrorCode.NotFound, `no webhook delivery ${id}`);
    return deliveryView(d);
  }

  /** Sends the same event (same webhook-id) again now, with a fresh retry schedule. */
  async redeliver(tenantId: string, id: string) {
    const before = await this.getDelivery(tenantId, id);
    const claimed = await this.webhooks.redeliver(tenantId, id);
    if (!claimed) {
      const why = before.target === 'endpoint' ? 'its endpoint is disabled or deleted, or an attempt is in flight' : 'an attempt is in flight';
      throw new ApiError(409, ApiErrorCode.InvalidState, `webhook delivery ${id} cannot be redelivered now: ${why}`);
    }
    try {
      await this.queues.enqueue(JobName.DeliverWebhook, { deliveryId: id, attemptNo: claimed.attemptNo });
    } catch (err) {
      log.error({ err, deliveryId: id }, 'enqueue failed; the webhook dispatcher will pick the delivery up');
    }
    log.info({ deliveryId: id }, 'webhook redelivery requested');
    return this.getDelivery(tenantId, id);
  }

  private async endpoint(tenantId: string, id: string): Promise<WebhookEndpoint> {
    const e = UUID_RE.test(id) ? await this.webhooks.findEndpoint(tenantId, id) : null;
    if (!e) throw this.noEndpoint(id);
    return e;
  }

  private noEndpoint(id: string): ApiError {
    return new ApiError(404, ApiErrorCode.NotFound, `no webhook endpoint ${id}`);
  }
}
