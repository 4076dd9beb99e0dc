import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, createLogger, type AppConfig } from '../../../../libs/config/src/index.js';
import {
  ApiErrorCode,
  JOB_STATES,
  JobName,
  type CreateJobInput,
  type JobStateName,
  type JobView,
} from '../../../../libs/contracts/src/index.js';
import { JobRepository } from '../../../../libs/db/src/index.js';
import { QueueService, bullJobId } from '../../../../libs/queue/src/index.js';
import { ObjectStorage } from '../../../../libs/storage/src/index.js';
import { ApiError } from '../errors/api-error.js';
import { concurrencyLimit } from '../../../../libs/common/src/index.js';
import { JobPresenter } from './job.presenter.js';

const log = createLogger('api.jobs');

function canonicalHash(input: CreateJobInput): string {
  const image = input.image.kind === 'url' ? { url: input.image.url } : { sha256: createHash('sha256').update(input.image.bytes).digest('hex') };
  const sortKeys = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sortKeys(x)]))
      : Array.isArray(v)
        ? v.map(sortKeys)
        : v;
  const canonical = JSON.stringify(sortKeys({ image, options: input.options, track_id: input.trackId ?? null, callback_url: input.callbackUrl ?? null, metadata: input.metadata ?? null }));
  return createHash('sha256').update(canonical).digest('hex');
}

interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.createdAt.toISOString(), c.id])).toString('base64url');
}

function decodeCursor(raw: string): Cursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(at);
    if (Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/.test(id)) throw new Error('bad cursor');
    return { createdAt, id };
  } catch {
    throw new ApiError(400, ApiErrorCode.InvalidCursor, 'cursor is not a cursor returned by this API');
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Job acceptances worked on at once per api process (about the database pool's size). */
const INTAKE_CONCURRENCY = 16;

@Injectable()
export class JobsService {
  /**
   * Acceptances in progress at once in this process, the rest wait in arrival order. Without a bound, a
   * burst of requests advances in lockstep (each waiting its turn for the database pool), so the first job
   * is enqueued only when nearly all are (measured: 200 at once, first enqueued after ~0.5 s instead of
   * ~0.1 s), and the provider's webhooks on this process queue for the pool behind the whole burst.
   */
  private readonly intake = concurrencyLimit(INTAKE_CONCURRENCY);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobRepository,
    private readonly queues: QueueService,
    private readonly storage: ObjectStorage,
    private readonly presenter: JobPresenter,
  ) {}

  /**
   * Accepts a job: the row is written in Postgres first, then the id is enqueued. A replay with the same
   * Idempotency-Key and the same request answers the original job; a different request is refused.
   */
  async create(tenantId: string, input: CreateJobInput, idempotencyKey: string | undefined): Promise<{ view: JobView; replayed: boolean }> {
    return this.intake.run(() => this.accept(tenantId, input, idempotencyKey));
  }

  private async accept(tenantId: string, input: CreateJobInput, idempotencyKey: string | undefined): Promise<{ view: JobView; replayed: boolean }> {
    const requestHash = canonicalHash(input);
    if (idempotencyKey) {
      const existing = await this.jobs.findByIdempotencyKey(tenantId, idempotencyKey);
      if (existing) return { view: await this.replay(existing.requestHash, requestHash, existing), replayed: true };
    }
    const id = randomUUID();
    let inputKey: string | undefined;
    if (input.image.kind === 'bytes') {
      inputKey = `inputs/${id}`;
      await this.storage.putBuffer(inputKey, input.image.bytes, 'application/octet-stream');
    }
    const { job, created } = await this.jobs.create({
      id,
      tenantId,
      trackId: input.trackId ?? id,
      idempotencyKey,
      requestHash,
      imageUrl: input.image.kind === 'url' ? input.image.url : undefined,
      inputKey,
      options: input.options,
      callbackUrl: input.callbackUrl,
      metadata: input.metadata,
    });
    if (!created) return { view: await this.replay(job.requestHash, requestHash, job), replayed: true };
    try {
      await this.queues.enqueue(JobName.SubmitToProvider, { jobId: job.id, trackId: job.trackId }, { runNo: job.runNo });
    } catch (err) {
      // Postgres holds the job; the worker's reconciler enqueues queued jobs that no queue holds.
      log.error({ err, jobId: job.id, trackId: job.trackId }, 'enqueue failed; the reconciler will pick the job up');
    }
    log.info({ jobId: job.id, trackId: job.trackId }, 'job accepted');
    return { view: await this.presenter.present(job), replayed: false };
  }

  private async replay(storedHash: string | null, requestHash: string, job: Parameters<JobPresenter['present']>[0]): Promise<JobView> {
    if (storedHash !== requestHash) {
      throw new ApiError(422, ApiErrorCode.IdempotencyKeyReused, 'this Idempotency-Key was already used with a different request', { job_id: job.id });
    }
    return this.presenter.present(job);
  }

  async get(tenantId: string, id: string): Promise<JobView> {
    if (!UUID_RE.test(id)) throw new ApiError(404, ApiErrorCode.NotFound, `no job ${id}`);
    const job = await this.jobs.find(tenantId, id);
    if (!job) throw new ApiError(404, ApiErrorCode.NotFound, `no job ${id}`);
    return this.presenter.present(job);
  }

  async list(tenantId: string, q: { state?: string; track_id?: string; limit?: string; cursor?: string }): Promise<{ data: JobView[]; next_cursor: string | null }> {
    if (q.state !== undefined && !JOB_STATES.includes(q.state as JobStateName)) {
      throw new ApiError(422, ApiErrorCode.ValidationFailed, `state must be one of ${JOB_STATES.join(', ')}`, [{ field: 'state' }]);
    }
    const limit = q.limit === undefined ? 50 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
      throw new ApiError(422, ApiErrorCode.ValidationFailed, 'limit must be an integer from 1 to 200', [{ field: 'limit' }]);
    }
    const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
    const rows = await this.jobs.list(tenantId, { state: q.state as JobStateName | undefined, trackId: q.track_id, limit: limit + 1, cursor });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: await Promise.all(page.map((j) => this.presenter.present(j))),
      next_cursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
    };
  }

  async cancel(tenantId: string, id: string): Promise<JobView> {
    const before = await this.get(tenantId, id);
    const canceled = await this.jobs.cancel(tenantId, id);
    if (!canceled) {
      throw new ApiError(409, ApiErrorCode.InvalidState, `job ${id} is ${before.state}; only queued or running jobs can be canceled`);
    }
    const payload = { jobId: id, trackId: canceled.trackId };
    await this.queues.removeIfWaiting(JobName.SubmitToProvider, bullJobId(JobName.SubmitToProvider, payload, canceled.runNo)).catch((err: unknown) => {
      log.warn({ err, jobId: id }, 'could not remove the queued work; the worker will skip the canceled job');
    });
    log.info({ jobId: id, trackId: canceled.trackId }, 'job canceled');
    return this.get(tenantId, id);
  }

  async retry(tenantId: string, id: string): Promise<JobView> {
    const before = await this.get(tenantId, id);
    const retried = await this.jobs.retry(tenantId, id);
    if (!retried) throw new ApiError(409, ApiErrorCode.InvalidState, `job ${id} is ${before.state}; only failed or canceled jobs can be retried`);
    try {
      await this.queues.enqueue(JobName.SubmitToProvider, { jobId: id, trackId: retried.trackId }, { runNo: retried.runNo });
    } catch (err) {
      log.error({ err, jobId: id }, 'enqueue failed; the reconciler will pick the job up');
    }
    return this.get(tenantId, id);
  }
}
