/**
 * Requests made through the ModelsLab-compatible facade: the integer id callers poll with, and the caller's
 * webhook, claimed for delivery once the job has ended (conditional UPDATE ... SKIP LOCKED, so any number
 * of workers can deliver without sending one twice at once).
 */
import { Injectable } from '@nestjs/common';
import { Prisma } from './generated/client.js';
import type { FacadeRequest } from './generated/client.js';
import type { JobWithOutputs } from './job.repository.js';
import { PrismaService } from './prisma.service.js';

export type FacadeRequestWithJob = FacadeRequest & { job: JobWithOutputs };

/** How long a claimed delivery is reserved for its worker before another may take it over. */
const CLAIM_LEASE_SECONDS = 120;

@Injectable()
export class FacadeRequestRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(r: { jobId: string; tenantId: string; webhook: string | null; trackId: number | string | null; base64: boolean }): Promise<FacadeRequest> {
    return this.prisma.facadeRequest.create({
      data: {
        jobId: r.jobId,
        tenantId: r.tenantId,
        webhook: r.webhook,
        trackId: r.trackId === null ? Prisma.DbNull : r.trackId,
        base64: r.base64,
        webhookState: r.webhook ? 'pending' : null,
      },
    });
  }

  /** Only the tenant's own requests: another tenant's id is not found. */
  find(tenantId: string, id: bigint): Promise<FacadeRequestWithJob | null> {
    return this.prisma.facadeRequest.findFirst({
      where: { id, tenantId },
      include: { job: { include: { outputs: { orderBy: { idx: 'asc' } } } } },
    });
  }

  /** Claims webhooks whose job has ended and that are due (new, retry time reached, or a lapsed claim). */
  async claimDueWebhooks(limit: number): Promise<bigint[]> {
    const rows = await this.prisma.$queryRaw<{ id: bigint }[]>`
      UPDATE facade_requests SET webhook_state = 'sending', webhook_attempts = webhook_attempts + 1,
        webhook_next_at = now() + make_interval(secs => ${CLAIM_LEASE_SECONDS})
      WHERE id IN (
        SELECT f.id FROM facade_requests f JOIN jobs j ON j.id = f.job_id
        WHERE f.webhook_state IN ('pending', 'sending') AND (f.webhook_next_at IS NULL OR f.webhook_next_at <= now())
          AND j.state IN ('succeeded', 'failed', 'canceled')
        ORDER BY f.id LIMIT ${limit}
        FOR UPDATE OF f SKIP LOCKED)
      RETURNING id`;
    return rows.map((r) => r.id);
  }

  findWithJob(id: bigint): Promise<FacadeRequestWithJob | null> {
    return this.prisma.facadeRequest.findUnique({ where: { id }, include: { job: { include: { outputs: { orderBy: { idx: 'asc' } } } } } });
  }

  async markWebhookSent(id: bigint): Promise<void> {
    await this.prisma.$executeRaw`UPDATE facade_requests SET webhook_state = 'sent', webhook_next_at = NULL, webhook_error = NULL WHERE id = ${id} AND webhook_state = 'sending'`;
  }

  /** A failed delivery: retried after `retryInMs`, or given up once `maxAttempts` are spent. */
  async markWebhookFailed(id: bigint, error: string, retryInMs: number, maxAttempts: number): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE facade_requests SET
        webhook_state = CASE WHEN webhook_attempts >= ${maxAttempts} THEN 'failed' ELSE 'pending' END,
        webhook_next_at = CASE WHEN webhook_attempts >= ${maxAttempts} THEN NULL ELSE now() + make_interval(secs => ${retryInMs / 1000}) END,
        webhook_error = ${error.slice(0, 500)}
      WHERE id = ${id} AND webhook_state = 'sending'`;
  }
}
