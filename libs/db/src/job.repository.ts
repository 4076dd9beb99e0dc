/**
 * All job state changes. Every transition is a conditional UPDATE (`WHERE id = $1 AND state = ANY(...)`),
 * so duplicated webhooks, retried BullMQ jobs and a poll racing a webhook all end in one correct state.
 */
import { Injectable } from '@nestjs/common';
import type { JobStateName } from '../../contracts/src/index.js';
import { JobErrorCode } from '../../contracts/src/index.js';
import { ConsumerEvents } from './consumer-events.js';
import { PrismaService } from './prisma.service.js';
import { Prisma } from './generated/client.js';
import type { Job, JobAttempt, JobOutput } from './generated/client.js';

/** A job with its outputs and its latest attempt's provider (for the public view). */
export type JobWithOutputs = Job & { outputs: JobOutput[]; attempts?: { provider: string }[] };

const latestAttempt = { orderBy: { attemptNo: 'desc' as const }, take: 1, select: { provider: true } };

export interface NewJob {
  id: string;
  tenantId: string;
  trackId: string;
  idempotencyKey?: string;
  requestHash?: string;
  imageUrl?: string;
  inputKey?: string;
  options: Record<string, unknown>;
  callbackUrl?: string;
  metadata?: Record<string, unknown>;
}

/** What a provider said about one attempt, whatever channel it came through (submit answer, poll, webhook). */
export type ProviderResult =
  | { kind: 'processing'; requestId: string | null; etaSeconds: number | null }
  | { kind: 'success'; requestId: string | null; outputs: string[] }
  | { kind: 'failed'; requestId: string | null; message: string };

export type ResultOutcome = 'applied' | 'duplicate' | 'stale' | 'unknown_attempt';

export interface AppliedResult {
  outcome: ResultOutcome;
  /** Set when this result moved the job to `storing`: the caller enqueues the store step. */
  storeJob?: { jobId: string; trackId: string; attemptId: bigint };
  jobId?: string;
  /** The job's tenant, set when this result resolved the job's current attempt (its provider slot can go). */
  tenantId?: string;
  attemptResolved: boolean;
}

interface ListFilter {
  state?: JobStateName;
  trackId?: string;
  limit: number;
  cursor?: { createdAt: Date; id: string };
}

@Injectable()
export class JobRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Inserts a job; with an idempotency key already used by this tenant, returns the existing job instead. */
  async create(job: NewJob): Promise<{ job: JobWithOutputs; created: boolean }> {
    try {
      const created = await this.prisma.job.create({
        data: {
          id: job.id,
          tenantId: job.tenantId,
          trackId: job.trackId,
          idempotencyKey: job.idempotencyKey ?? null,
          requestHash: job.requestHash ?? null,
          imageUrl: job.imageUrl ?? null,
          inputKey: job.inputKey ?? null,
          options: job.options as Prisma.InputJsonValue,
          callbackUrl: job.callbackUrl ?? null,
          metadata: (job.metadata ?? Prisma.DbNull) as Prisma.InputJsonValue,
        },
      });
      // A new job has no outputs: no `include` (it would make the insert a four-statement transaction).
      return { job: { ...created, outputs: [] }, created: true };
    } catch (err) {
      if (job.idempotencyKey && err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        const existing = await this.prisma.job.findUnique({
          where: { tenantId_idempotencyKey: { tenantId: job.tenantId, idempotencyKey: job.idempotencyKey } },
          include: { outputs: true },
        });
        if (existing) return { job: existing, created: false };
      }
      throw err;
    }
  }

  findByIdempotencyKey(tenantId: string, idempotencyKey: string): Promise<JobWithOutputs | null> {
    return this.prisma.job.findUnique({ where: { tenantId_idempotencyKey: { tenantId, idempotencyKey } }, include: { outputs: true } });
  }

  find(tenantId: string, id: string): Promise<JobWithOutputs | null> {
    return this.prisma.job.findFirst({ where: { id, tenantId }, include: { outputs: { orderBy: { idx: 'asc' } }, attempts: latestAttempt } });
  }

  /** The tenant's jobs created since `since`, counted per state (the dashboard's tiles). */
  async stateCountsSince(tenantId: string, since: Date): Promise<Partial<Record<JobStateName, number>>> {
    const rows = await this.prisma.$queryRaw<{ state: JobStateName; n: number }[]>`
      SELECT state::text AS state, count(*)::int AS n FROM jobs
      WHERE tenant_id = ${tenantId} AND created_at >= ${since} GROUP BY state`;
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  /** The tenant's most recently finished jobs in one terminal state, newest first (the dashboard's lists). */
  recentlyCompleted(tenantId: string, state: 'succeeded' | 'failed' | 'canceled', limit: number): Promise<JobWithOutputs[]> {
    return this.prisma.job.findMany({
      where: { tenantId, state, completedAt: { not: null } },
      orderBy: [{ completedAt: 'desc' }],
      take: limit,
      include: { outputs: { orderBy: { idx: 'asc' } }, attempts: latestAttempt },
    });
  }

  findById(id: string): Promise<Job | null> {
    return this.prisma.job.findUnique({ where: { id } });
  }

  findAttempt(id: bigint): Promise<JobAttempt | null> {
    return this.prisma.jobAttempt.findUnique({ where: { id } });
  }

  list(tenantId: string, f: ListFilter): Promise<JobWithOutputs[]> {
    return this.prisma.job.findMany({
      where: {
        tenantId,
        ...(f.state ? { state: f.state } : {}),
        ...(f.trackId ? { trackId: f.trackId } : {}),
        ...(f.cursor
          ? { OR: [{ createdAt: { lt: f.cursor.createdAt } }, { createdAt: f.cursor.createdAt, id: { lt: f.cursor.id } }] }
          : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: f.limit,
      include: { outputs: { orderBy: { idx: 'asc' } }, attempts: latestAttempt },
    });
  }

  /** Any non-terminal job -> canceled (with its `job.canceled` webhook event). Returns the job when this call canceled it. */
  async cancel(tenantId: string, id: string): Promise<Job | null> {
    return this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<Job[]>`
        UPDATE jobs SET state = 'canceled', completed_at = now(), updated_at = now(),
          error_code = NULL, error_message = NULL
        WHERE id = ${id}::uuid AND tenant_id = ${tenantId}
          AND state IN ('queued', 'submitting', 'processing', 'storing')
        RETURNING id, run_no AS "runNo", track_id AS "trackId"`;
      if (rows[0]) await ConsumerEvents.emitForJob(tx, id, 'job.canceled');
      return rows[0] ?? null;
    });
  }

  /** failed | canceled -> queued, in a new run. Returns the new run number when this call re-queued it. */
  async retry(tenantId: string, id: string): Promise<{ runNo: number; trackId: string } | null> {
    const rows = await this.prisma.$queryRaw<{ runNo: number; trackId: string }[]>`
      UPDATE jobs SET state = 'queued', run_no = run_no + 1, completed_at = NULL, updated_at = now(),
        error_code = NULL, error_message = NULL
      WHERE id = ${id}::uuid AND tenant_id = ${tenantId} AND state IN ('failed', 'canceled')
      RETURNING run_no AS "runNo", track_id AS "trackId"`;
    return rows[0] ?? null;
  }

  /**
   * Opens a new provider attempt: queued|submitting -> submitting, a fresh attempt row (its id is the
   * provider's integer track_id) with its webhook token; any unresolved earlier attempt is abandoned.
   * Returns null when the job is no longer waiting to be submitted (canceled, already at the provider...).
   */
  async startAttempt(jobId: string, provider: string, webhookToken: string): Promise<JobAttempt | null> {
    // One statement (one round trip on the provider-slot hand-off path): the job moves to submitting with its
    // new attempt as current (the attempt id is drawn first so both rows agree), any attempt still open from a
    // crashed worker is abandoned, and the attempt row is written - all or nothing.
    const rows = await this.prisma.$queryRaw<JobAttempt[]>`
      WITH aid AS (SELECT nextval(pg_get_serial_sequence('job_attempts', 'id')) AS id),
      moved AS (
        UPDATE jobs SET state = 'submitting', attempt_count = attempt_count + 1, current_attempt_id = (SELECT id FROM aid), updated_at = now()
        WHERE id = ${jobId}::uuid AND state IN ('queued', 'submitting')
        RETURNING id, attempt_count, current_attempt_id),
      abandoned AS (
        UPDATE job_attempts SET state = 'abandoned', resolved_at = now()
        WHERE job_id = ${jobId}::uuid AND state IN ('submitting', 'processing') AND EXISTS (SELECT 1 FROM moved))
      INSERT INTO job_attempts (id, job_id, attempt_no, provider, webhook_token)
      SELECT current_attempt_id, id, attempt_count, ${provider}, ${webhookToken} FROM moved
      RETURNING id, job_id AS "jobId", attempt_no AS "attemptNo", provider, provider_request_id AS "providerRequestId",
        webhook_token AS "webhookToken", state::text AS state, outputs, error_code AS "errorCode", error_message AS "errorMessage",
        eta_at AS "etaAt", created_at AS "createdAt", resolved_at AS "resolvedAt"`;
    return rows[0] ?? null;
  }

  /**
   * Reconciles one provider answer (submit answer, poll or webhook) into Postgres and records the raw payload
   * in the append-only provider_events table. Idempotent, in any order: an attempt only moves forward
   * (submitting -> processing -> succeeded|failed), and the job only follows its *current* attempt.
   */
  async applyProviderResult(attemptId: bigint | null, result: ProviderResult | null, source: string, payload: unknown): Promise<AppliedResult> {
    if (attemptId !== null && result?.kind === 'success') {
      const applied = await this.applySuccess(attemptId, result, source, payload);
      if (applied) return applied;
    }
    if (attemptId !== null && result?.kind === 'processing') {
      const applied = await this.applyProcessing(attemptId, result, source, payload);
      if (applied) return applied;
    }
    return this.prisma.$transaction(async (tx) => {
      const record = (outcome: string, jobId: string | null) =>
        tx.providerEvent.create({
          data: {
            source,
            attemptId,
            jobId,
            providerRequestId: result?.requestId ?? null,
            outcome,
            payload: (payload ?? null) as Prisma.InputJsonValue,
          },
        });
      const attempt = attemptId === null ? null : await tx.jobAttempt.findUnique({ where: { id: attemptId } });
      if (!attempt || !result) {
        await record(attempt ? 'unrecognised' : 'unknown_attempt', attempt?.jobId ?? null);
        return { outcome: 'unknown_attempt', attemptResolved: false };
      }
      const jobId = attempt.jobId;
      if (result.kind === 'processing') {
        const eta = result.etaSeconds !== null ? new Date(Date.now() + result.etaSeconds * 1000) : null;
        const n = await tx.$executeRaw`
          UPDATE job_attempts SET state = 'processing', eta_at = ${eta},
            provider_request_id = COALESCE(provider_request_id, ${result.requestId})
          WHERE id = ${attemptId} AND state = 'submitting'`;
        if (n > 0) {
          await tx.$executeRaw`
            UPDATE jobs SET state = 'processing', updated_at = now()
            WHERE id = ${jobId}::uuid AND current_attempt_id = ${attemptId} AND state = 'submitting'`;
        }
        await record(n > 0 ? 'applied' : 'duplicate', jobId);
        return { outcome: n > 0 ? 'applied' : 'duplicate', jobId, attemptResolved: false };
      }
      const succeeded = result.kind === 'success';
      const n = await tx.$executeRaw`
        UPDATE job_attempts SET state = ${succeeded ? 'succeeded' : 'failed'}::"AttemptState",
          outputs = ${succeeded ? JSON.stringify(result.outputs) : null}::jsonb,
          error_code = ${succeeded ? null : JobErrorCode.ProviderFailed},
          error_message = ${succeeded ? null : result.message},
          provider_request_id = COALESCE(provider_request_id, ${result.requestId}),
          resolved_at = now()
        WHERE id = ${attemptId} AND state IN ('submitting', 'processing')`;
      if (n === 0) {
        await record('duplicate', jobId);
        return { outcome: 'duplicate', jobId, attemptResolved: true };
      }
      const moved = succeeded
        ? await tx.$queryRaw<{ trackId: string; tenantId: string }[]>`
            UPDATE jobs SET state = 'storing', updated_at = now()
            WHERE id = ${jobId}::uuid AND current_attempt_id = ${attemptId} AND state IN ('submitting', 'processing')
            RETURNING track_id AS "trackId", tenant_id AS "tenantId"`
        : await tx.$queryRaw<{ trackId: string; tenantId: string }[]>`
            UPDATE jobs SET state = 'failed', updated_at = now(), completed_at = now(),
              error_code = ${JobErrorCode.ProviderFailed}, error_message = ${result.message}
            WHERE id = ${jobId}::uuid AND current_attempt_id = ${attemptId} AND state IN ('submitting', 'processing')
            RETURNING track_id AS "trackId", tenant_id AS "tenantId"`;
      if (!succeeded && moved.length > 0) await ConsumerEvents.emitForJob(tx, jobId, 'job.failed');
      const outcome: ResultOutcome = moved.length > 0 ? 'applied' : 'stale';
      await record(outcome, jobId);
      return {
        outcome,
        jobId,
        ...(moved[0] ? { tenantId: moved[0].tenantId } : {}),
        attemptResolved: true,
        ...(succeeded && moved[0] ? { storeJob: { jobId, trackId: moved[0].trackId, attemptId: attempt.id } } : {}),
      };
    });
  }

  /**
   * The processing path of applyProviderResult in one statement (every submit answer takes it): the attempt
   * moves submitting -> processing with its eta and request id, the job follows if it is the current attempt,
   * and the raw payload is recorded. Null when the attempt is unknown (the general path records that).
   */
  private async applyProcessing(attemptId: bigint, result: Extract<ProviderResult, { kind: 'processing' }>, source: string, payload: unknown): Promise<AppliedResult | null> {
    const eta = result.etaSeconds !== null ? new Date(Date.now() + result.etaSeconds * 1000) : null;
    const rows = await this.prisma.$queryRaw<{ jobId: string; outcome: string }[]>`
      WITH cur AS (SELECT job_id FROM job_attempts WHERE id = ${attemptId}),
      att AS (
        UPDATE job_attempts SET state = 'processing', eta_at = ${eta}::timestamptz,
          provider_request_id = COALESCE(provider_request_id, ${result.requestId}::text)
        WHERE id = ${attemptId} AND state = 'submitting'
        RETURNING id, job_id),
      moved AS (
        UPDATE jobs SET state = 'processing', updated_at = now()
        FROM att WHERE jobs.id = att.job_id AND jobs.current_attempt_id = att.id AND jobs.state = 'submitting'
        RETURNING jobs.id),
      ev AS (
        INSERT INTO provider_events (source, attempt_id, job_id, provider_request_id, outcome, payload)
        SELECT ${source}::text, ${attemptId}::bigint, cur.job_id, ${result.requestId}::text,
          CASE WHEN EXISTS (SELECT 1 FROM att) THEN 'applied' ELSE 'duplicate' END, ${JSON.stringify(payload ?? null)}::jsonb
        FROM cur
        RETURNING outcome)
      SELECT cur.job_id AS "jobId", ev.outcome FROM cur CROSS JOIN ev`;
    const row = rows[0];
    return row ? { outcome: row.outcome as ResultOutcome, jobId: row.jobId, attemptResolved: false } : null;
  }

  /**
   * The success path of applyProviderResult in one statement (one round trip on every job's critical path):
   * the attempt moves to succeeded if still open, the job follows it to `storing` if it is the current attempt,
   * and the raw payload is recorded with the outcome. Null when the attempt is unknown (the general path
   * records that). Concurrent answers for one attempt serialise on its row: the second sees it resolved.
   */
  private async applySuccess(attemptId: bigint, result: Extract<ProviderResult, { kind: 'success' }>, source: string, payload: unknown): Promise<AppliedResult | null> {
    const rows = await this.prisma.$queryRaw<{ jobId: string; trackId: string | null; tenantId: string | null; outcome: string }[]>`
      WITH cur AS (SELECT job_id FROM job_attempts WHERE id = ${attemptId}),
      att AS (
        UPDATE job_attempts SET state = 'succeeded', outputs = ${JSON.stringify(result.outputs)}::jsonb, error_code = NULL, error_message = NULL,
          provider_request_id = COALESCE(provider_request_id, ${result.requestId}::text), resolved_at = now()
        WHERE id = ${attemptId} AND state IN ('submitting', 'processing')
        RETURNING id, job_id),
      moved AS (
        UPDATE jobs SET state = 'storing', updated_at = now()
        FROM att WHERE jobs.id = att.job_id AND jobs.current_attempt_id = att.id AND jobs.state IN ('submitting', 'processing')
        RETURNING jobs.track_id, jobs.tenant_id),
      ev AS (
        INSERT INTO provider_events (source, attempt_id, job_id, provider_request_id, outcome, payload)
        SELECT ${source}::text, ${attemptId}::bigint, cur.job_id, ${result.requestId}::text,
          CASE WHEN NOT EXISTS (SELECT 1 FROM att) THEN 'duplicate' WHEN EXISTS (SELECT 1 FROM moved) THEN 'applied' ELSE 'stale' END,
          ${JSON.stringify(payload ?? null)}::jsonb
        FROM cur
        RETURNING outcome)
      SELECT cur.job_id AS "jobId", moved.track_id AS "trackId", moved.tenant_id AS "tenantId", ev.outcome
      FROM cur CROSS JOIN ev LEFT JOIN moved ON true`;
    const row = rows[0];
    if (!row) return null;
    const outcome = row.outcome as ResultOutcome;
    return {
      outcome,
      jobId: row.jobId,
      attemptResolved: true,
      ...(row.tenantId !== null ? { tenantId: row.tenantId } : {}),
      ...(row.trackId !== null ? { storeJob: { jobId: row.jobId, trackId: row.trackId, attemptId } } : {}),
    };
  }

  /**
   * The current attempt ended without a result worth keeping (rate limited, provider error, timeout):
   * the attempt fails and the job goes back to `queued` to be submitted again.
   */
  async requeueAfterFailedAttempt(jobId: string, attemptId: bigint, code: string, message: string): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`
        UPDATE job_attempts SET state = 'failed', error_code = ${code}, error_message = ${message}, resolved_at = now()
        WHERE id = ${attemptId} AND state IN ('submitting', 'processing')`;
      const n = await tx.$executeRaw`
        UPDATE jobs SET state = 'queued', updated_at = now()
        WHERE id = ${jobId}::uuid AND current_attempt_id = ${attemptId} AND state IN ('submitting', 'processing')`;
      return n > 0;
    });
  }

  /** Fails the job if it is still in one of `from`; also fails its unresolved current attempt. */
  async fail(jobId: string, from: readonly JobStateName[], code: string, message: string): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const n = await tx.$executeRaw`
        UPDATE jobs SET state = 'failed', error_code = ${code}, error_message = ${message},
          completed_at = now(), updated_at = now()
        WHERE id = ${jobId}::uuid AND state::text = ANY(${[...from]})`;
      if (n > 0) {
        await tx.$executeRaw`
          UPDATE job_attempts SET state = 'failed', error_code = ${code}, error_message = ${message}, resolved_at = now()
          WHERE job_id = ${jobId}::uuid AND state IN ('submitting', 'processing')`;
        await ConsumerEvents.emitForJob(tx, jobId, 'job.failed');
      }
      return n > 0;
    });
  }

  /** Records one stored output (idempotent: a retried store step overwrites the same row). */
  async saveOutput(o: { jobId: string; idx: number; s3Key: string; sha256: string; bytes: number; contentType: string }): Promise<void> {
    await this.prisma.jobOutput.upsert({
      where: { jobId_idx: { jobId: o.jobId, idx: o.idx } },
      create: { ...o, bytes: BigInt(o.bytes) },
      update: { s3Key: o.s3Key, sha256: o.sha256, bytes: BigInt(o.bytes), contentType: o.contentType },
    });
  }

  /** storing -> succeeded (with its `job.succeeded` webhook event), only for the attempt whose outputs were stored. */
  async markSucceeded(jobId: string, attemptId: bigint): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const n = await tx.$executeRaw`
        UPDATE jobs SET state = 'succeeded', completed_at = now(), updated_at = now()
        WHERE id = ${jobId}::uuid AND state = 'storing' AND current_attempt_id = ${attemptId}`;
      if (n > 0) await ConsumerEvents.emitForJob(tx, jobId, 'job.succeeded');
      return n > 0;
    });
  }

  async hasAttemptWith(jobId: string, provider: string): Promise<boolean> {
    return (await this.prisma.jobAttempt.count({ where: { jobId, provider } })) > 0;
  }

  /** Whether the job's latest attempt went to `provider` and failed for a provider-side reason (not a 429). */
  async lastAttemptFailedAt(jobId: string, provider: string): Promise<boolean> {
    const last = await this.prisma.jobAttempt.findFirst({ where: { jobId }, orderBy: { attemptNo: 'desc' } });
    return !!last && last.provider === provider && last.state === 'failed' && last.errorCode !== 'provider_rate_limited';
  }

  /**
   * Jobs that Postgres says should be in a queue, for the reconciler. Batch items the feeder has not
   * released yet (batch_id set, released_at null) are held in Postgres on purpose and are not included.
   */
  findActive(states: readonly JobStateName[], olderThan: Date, limit: number): Promise<Job[]> {
    return this.prisma.job.findMany({
      where: { state: { in: [...states] }, updatedAt: { lt: olderThan }, NOT: { batchId: { not: null }, releasedAt: null } },
      orderBy: { updatedAt: 'asc' },
      take: limit,
    });
  }
}
