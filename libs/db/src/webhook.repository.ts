/**
 * Consumer webhooks in Postgres: endpoints and secrets, and the delivery state machine
 * (pending -> succeeded | failed | canceled; a redelivery makes it pending again). Every change is a
 * conditional UPDATE: an attempt is claimed by bumping attempt_count from the number its queue entry expects,
 * so a duplicated or stale queue entry never sends twice.
 */
import { Injectable } from '@nestjs/common';
import type { WebhookDeliveryStatusName } from '../../contracts/src/index.js';
import { PrismaService } from './prisma.service.js';
import type { WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint, WebhookEvent, TenantWebhookSecret } from './generated/client.js';

export type { WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint, WebhookEvent, TenantWebhookSecret };
export type DeliveryWithDetails = WebhookDelivery & { event: Pick<WebhookEvent, 'type'>; attempts: WebhookDeliveryAttempt[] };
export type ClaimedDelivery = WebhookDelivery & { event: WebhookEvent; endpoint: WebhookEndpoint | null };

export interface DeliveryFilter {
  jobId?: string;
  endpointId?: string;
  status?: WebhookDeliveryStatusName;
  limit: number;
  cursor?: { createdAt: Date; id: string };
}

/** How one attempt ended, as the delivery processor decided. */
export type AttemptOutcome =
  | { kind: 'delivered' }
  | { kind: 'retry'; nextAttemptAt: Date }
  | { kind: 'exhausted' }
  /** 410 Gone: the delivery stops; an endpoint is disabled and its other pending deliveries canceled. */
  | { kind: 'gone' }
  /** The URL points (or resolves) at an address the outbound policy refuses: failed, never retried. */
  | { kind: 'blocked' };

export interface AttemptRecord {
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseSnippet: string | null;
  webhookTimestamp: number;
}

/** Attempts listed with each delivery (the latest ones). */
const ATTEMPTS_SHOWN = 25;

@Injectable()
export class WebhookRepository {
  constructor(private readonly prisma: PrismaService) {}

  // ---- endpoints -------------------------------------------------------------------------------------

  createEndpoint(e: { id: string; tenantId: string; url: string; description: string | null; events: string[]; secret: string }): Promise<WebhookEndpoint> {
    return this.prisma.webhookEndpoint.create({ data: e });
  }

  listEndpoints(tenantId: string): Promise<WebhookEndpoint[]> {
    return this.prisma.webhookEndpoint.findMany({ where: { tenantId, deletedAt: null }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
  }

  findEndpoint(tenantId: string, id: string): Promise<WebhookEndpoint | null> {
    return this.prisma.webhookEndpoint.findFirst({ where: { id, tenantId, deletedAt: null } });
  }

  /** Soft delete (its deliveries stay listable); its pending deliveries are canceled. */
  async deleteEndpoint(tenantId: string, id: string): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const n = await tx.$executeRaw`
        UPDATE webhook_endpoints SET deleted_at = now(), updated_at = now()
        WHERE id = ${id}::uuid AND tenant_id = ${tenantId} AND deleted_at IS NULL`;
      if (n > 0) {
        await tx.$executeRaw`
          UPDATE webhook_deliveries SET status = 'canceled', last_error = 'endpoint deleted', next_attempt_at = NULL, updated_at = now()
          WHERE endpoint_id = ${id}::uuid AND status = 'pending'`;
      }
      return n > 0;
    });
  }

  /** New secret; the current one stays valid (deliveries are signed with both) for `graceSeconds`. */
  async rotateEndpointSecret(tenantId: string, id: string, secret: string, graceSeconds: number): Promise<WebhookEndpoint | null> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = now() + make_interval(secs => ${graceSeconds}),
        secret = ${secret}, updated_at = now()
      WHERE id = ${id}::uuid AND tenant_id = ${tenantId} AND deleted_at IS NULL
      RETURNING id`;
    return rows[0] ? this.findEndpoint(tenantId, id) : null;
  }

  /** Re-enables an endpoint disabled by a 410 (new events only; use redeliver for the old ones). */
  async enableEndpoint(tenantId: string, id: string): Promise<WebhookEndpoint | null> {
    const n = await this.prisma.$executeRaw`
      UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, updated_at = now()
      WHERE id = ${id}::uuid AND tenant_id = ${tenantId} AND deleted_at IS NULL`;
    return n > 0 ? this.findEndpoint(tenantId, id) : null;
  }

  // ---- the tenant's callback secret --------------------------------------------------------------------

  /** The secret that signs callback_url deliveries; `initial` becomes it if the tenant has none yet. */
  async tenantSecret(tenantId: string, initial: string): Promise<TenantWebhookSecret> {
    await this.prisma.$executeRaw`
      INSERT INTO tenant_webhook_secrets (tenant_id, secret) VALUES (${tenantId}, ${initial}) ON CONFLICT (tenant_id) DO NOTHING`;
    return this.prisma.tenantWebhookSecret.findUniqueOrThrow({ where: { tenantId } });
  }

  async rotateTenantSecret(tenantId: string, secret: string, graceSeconds: number, initial: string): Promise<TenantWebhookSecret> {
    await this.tenantSecret(tenantId, initial);
    await this.prisma.$executeRaw`
      UPDATE tenant_webhook_secrets SET previous_secret = secret, previous_secret_expires_at = now() + make_interval(secs => ${graceSeconds}),
        secret = ${secret}, rotated_at = now()
      WHERE tenant_id = ${tenantId}`;
    return this.prisma.tenantWebhookSecret.findUniqueOrThrow({ where: { tenantId } });
  }

  // ---- deliveries: the API's view ----------------------------------------------------------------------

  listDeliveries(tenantId: string, f: DeliveryFilter): Promise<DeliveryWithDetails[]> {
    return this.prisma.webhookDelivery.findMany({
      where: {
        tenantId,
        ...(f.jobId ? { jobId: f.jobId } : {}),
        ...(f.endpointId ? { endpointId: f.endpointId } : {}),
        ...(f.status ? { status: f.status } : {}),
        ...(f.cursor
          ? { OR: [{ createdAt: { lt: f.cursor.createdAt } }, { createdAt: f.cursor.createdAt, id: { lt: f.cursor.id } }] }
          : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: f.limit,
      include: { event: { select: { type: true } }, attempts: { orderBy: { attemptNo: 'desc' }, take: ATTEMPTS_SHOWN } },
    });
  }

  findDelivery(tenantId: string, id: string): Promise<DeliveryWithDetails | null> {
    return this.prisma.webhookDelivery.findFirst({
      where: { id, tenantId },
      include: { event: { select: { type: true } }, attempts: { orderBy: { attemptNo: 'desc' }, take: ATTEMPTS_SHOWN } },
    });
  }

  /**
   * Sends the same event (same webhook-id) again, now, with a fresh retry schedule. Refused (null) while an
   * attempt is in flight or when the endpoint is disabled or deleted. Returns the attempt number to enqueue.
   */
  async redeliver(tenantId: string, id: string): Promise<{ attemptNo: number } | null> {
    const rows = await this.prisma.$queryRaw<{ attemptCount: number }[]>`
      UPDATE webhook_deliveries d SET status = 'pending', attempt_base = attempt_count, next_attempt_at = now(),
        locked_until = NULL, updated_at = now()
      WHERE d.id = ${id}::uuid AND d.tenant_id = ${tenantId}
        AND (d.locked_until IS NULL OR d.locked_until < now())
        AND (d.endpoint_id IS NULL OR EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id
             AND e.disabled_at IS NULL AND e.deleted_at IS NULL))
      RETURNING attempt_count AS "attemptCount"`;
    return rows[0] ? { attemptNo: rows[0].attemptCount + 1 } : null;
  }

  // ---- deliveries: the worker's side -------------------------------------------------------------------

  /** Pending deliveries that are due and not being attempted: what the dispatcher (re-)enqueues. */
  findDue(limit: number): Promise<{ id: string; attemptCount: number }[]> {
    return this.prisma.$queryRaw`
      SELECT id, attempt_count AS "attemptCount" FROM webhook_deliveries
      WHERE status = 'pending' AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
      ORDER BY next_attempt_at LIMIT ${limit}`;
  }

  /**
   * Claims attempt `attemptNo` for `leaseMs`: only if the delivery is pending, due, not leased, and has made
   * exactly attemptNo - 1 attempts. Null when another worker or an earlier queue entry got there first.
   */
  async claim(id: string, attemptNo: number, leaseMs: number): Promise<ClaimedDelivery | null> {
    const n = await this.prisma.$executeRaw`
      UPDATE webhook_deliveries SET attempt_count = attempt_count + 1,
        locked_until = now() + make_interval(secs => ${leaseMs / 1000}), updated_at = now()
      WHERE id = ${id}::uuid AND status = 'pending' AND attempt_count = ${attemptNo - 1}
        AND next_attempt_at <= now() + interval '2 seconds' AND (locked_until IS NULL OR locked_until < now())`;
    if (n === 0) return null;
    return this.prisma.webhookDelivery.findUnique({ where: { id }, include: { event: true, endpoint: true } });
  }

  /** Records attempt `attemptNo` and moves the delivery on (if it is still this attempt's). */
  async recordAttempt(d: { id: string; endpointId: string | null }, attemptNo: number, a: AttemptRecord, outcome: AttemptOutcome): Promise<void> {
    const error = a.error ?? (a.statusCode !== null && (a.statusCode < 200 || a.statusCode > 299) ? `HTTP ${a.statusCode}` : null);
    await this.prisma.$transaction(async (tx) => {
      await tx.webhookDeliveryAttempt.create({
        data: { deliveryId: d.id, attemptNo, statusCode: a.statusCode, durationMs: a.durationMs, error, responseSnippet: a.responseSnippet, webhookTimestamp: a.webhookTimestamp },
      });
      const status = outcome.kind === 'delivered' ? 'succeeded' : outcome.kind === 'retry' ? 'pending' : 'failed';
      const next = outcome.kind === 'retry' ? outcome.nextAttemptAt : null;
      const lastError =
        outcome.kind === 'gone' ? `${error}: the receiver is gone; no more attempts`
        : outcome.kind === 'exhausted' ? `${error}; retries exhausted`
        : outcome.kind === 'blocked' ? `${error}; not retried`
        : error;
      await tx.$executeRaw`
        UPDATE webhook_deliveries SET status = ${status}::"WebhookDeliveryStatus", next_attempt_at = ${next}, locked_until = NULL,
          last_status_code = ${a.statusCode}, last_error = ${lastError},
          delivered_at = ${outcome.kind === 'delivered' ? new Date() : null}, updated_at = now()
        WHERE id = ${d.id}::uuid AND status = 'pending' AND attempt_count = ${attemptNo}`;
      if (outcome.kind === 'gone' && d.endpointId) {
        const disabled = await tx.$executeRaw`
          UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = 'the endpoint answered 410 Gone', updated_at = now()
          WHERE id = ${d.endpointId}::uuid AND disabled_at IS NULL`;
        if (disabled > 0) {
          await tx.$executeRaw`
            UPDATE webhook_deliveries SET status = 'canceled', last_error = 'endpoint disabled (410 Gone)', next_attempt_at = NULL, updated_at = now()
            WHERE endpoint_id = ${d.endpointId}::uuid AND status = 'pending' AND id <> ${d.id}::uuid`;
        }
      }
    });
  }

  /** The delivery stops without an attempt (its endpoint was disabled or deleted meanwhile). */
  async cancelClaimed(id: string, attemptNo: number, reason: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE webhook_deliveries SET status = 'canceled', last_error = ${reason}, attempt_count = attempt_count - 1,
        next_attempt_at = NULL, locked_until = NULL, updated_at = now()
      WHERE id = ${id}::uuid AND status = 'pending' AND attempt_count = ${attemptNo}`;
  }
}
