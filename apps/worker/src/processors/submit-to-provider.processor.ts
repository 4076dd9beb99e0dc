/**
 * Holds one provider slot per BullMQ job, from submit until the result arrives (webhook or poll): the slot
 * table in Redis (PROVIDER_MAX_IN_FLIGHT, see ProviderSlots) bounds the requests in flight at the provider
 * across every worker process. The queue hands out a few jobs more than that (providerPrefetch()); they wait,
 * ready, for the next freed slot, which whoever records a result frees at once (webhook receiver included).
 */
import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { APP_CONFIG, createLogger, type AppConfig } from '../../../../libs/config/src/index.js';
import { JobErrorCode, JobName, type SubmitToProviderPayload } from '../../../../libs/contracts/src/index.js';
import { JobRepository, type Job as JobRow, type JobAttempt } from '../../../../libs/db/src/index.js';
import { ResultReconciler } from '../../../../libs/pipeline/src/index.js';
import { PermanentProviderError, ProviderClients, RetryableProviderError, type ModelslabClient } from '../../../../libs/provider/src/index.js';
import { PipelineMetrics } from '../../../../libs/metrics/src/index.js';
import { AttemptEvents, ProviderSlots, providerPrefetch } from '../../../../libs/queue/src/index.js';
import { ObjectStorage } from '../../../../libs/storage/src/index.js';
import type { JobProcessor } from './job-processor.js';

const log = createLogger('worker.submit');

const RESOLVED = new Set(['succeeded', 'failed', 'abandoned']);
const AT_PROVIDER = ['queued', 'submitting', 'processing'] as const;

/** Which job error a retryable failure becomes once the retries are spent. */
function exhaustedCode(err: RetryableProviderError): string {
  return err.code === 'provider_result_timeout' ? JobErrorCode.ProviderResultTimeout : JobErrorCode.ProviderUnavailable;
}

class HandBack extends Error {}

/** How long a job parked for its tenant's share waits at most before trying again (a freed slot wakes it sooner). */
const TENANT_PARK_MS = 5000;
/**
 * Jobs beyond PROVIDER_MAX_IN_FLIGHT that the queue hands out (see providerPrefetch()): they wait for a freed slot,
 * checking the slot table at least this often (a missed announcement, a lapsed lease)...
 */
const SLOT_RECHECK_MS = 1000;
/** ...and go back to the queue after this long without one, so a stuck wait never pins a job. */
const SLOT_WAIT_MAX_MS = 60_000;


@Injectable()
export class SubmitToProviderProcessor implements JobProcessor<JobName.SubmitToProvider> {
  readonly jobName = JobName.SubmitToProvider;
  private shuttingDown = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobRepository,
    private readonly providers: ProviderClients,
    private readonly reconciler: ResultReconciler,
    private readonly events: AttemptEvents,
    private readonly storage: ObjectStorage,
    private readonly slots: ProviderSlots,
    private readonly metrics: PipelineMetrics,
  ) {}

  concurrency(): number {
    return this.config.provider.maxInFlight + providerPrefetch(this.config.provider.maxInFlight);
  }

  beginShutdown(): void {
    this.shuttingDown = true;
    this.events.wakeAll();
  }

  async process(job: Job<SubmitToProviderPayload>, token: string | undefined): Promise<string> {
    const { jobId, trackId } = job.data;
    const row = await this.jobs.findById(jobId);
    if (!row) return 'skipped (missing)';
    if (!(AT_PROVIDER as readonly string[]).includes(row.state)) {
      // A worker that died holding this job's slot cannot free it: the job has moved on, so free it here.
      await this.releaseSlot(row.tenantId, row.id);
      return `skipped (${row.state})`;
    }
    // A provider slot within the global limit and the tenant's share. Every slot taken: wait here, ready to
    // go, and take the next one the moment it is freed (one Redis round trip after the result is recorded).
    // The tenant at its share: wait in the delayed set (its next freed slot promotes the job).
    let slot = await this.slots.acquire(row.tenantId, row.id, job.id!);
    const waitStarted = Date.now();
    while (slot === 'global_full' && !this.shuttingDown && Date.now() - waitStarted < SLOT_WAIT_MAX_MS) {
      const armed = await this.events.armSlotWait();
      slot = await this.slots.acquire(row.tenantId, row.id, job.id!);
      if (slot === 'global_full') await armed.wait(SLOT_RECHECK_MS);
      armed.cancel();
      if (slot === 'global_full') slot = await this.slots.acquire(row.tenantId, row.id, job.id!);
    }
    if (slot !== 'acquired') {
      await job.moveToDelayed(Date.now() + (slot === 'tenant_full' ? TENANT_PARK_MS : this.shuttingDown ? 200 : 0), token);
      if (slot === 'tenant_full') await this.slots.park(row.tenantId, job.id!);
      log.debug({ jobId, trackId, tenantId: row.tenantId, slot }, 'no provider slot; parked');
      throw new DelayedError();
    }
    const renew = setInterval(() => {
      this.slots
        .renew(row.tenantId, row.id)
        .then(async (held) => {
          if (held) return;
          // Freed because the result is in (the webhook receiver frees it at once): nothing to take back.
          const now = await this.jobs.findById(row.id);
          if (!now || !(AT_PROVIDER as readonly string[]).includes(now.state)) return;
          // Still in flight at the provider: take the slot back (its lease lapsed, or Redis lost the table).
          log.warn({ jobId, trackId }, 'provider slot lease had lapsed; reclaimed');
          await this.slots.reclaim(row.tenantId, row.id);
        })
        .catch((err: unknown) => log.warn({ err, jobId }, 'could not renew the provider slot lease'));
    }, this.slots.leaseMs / 3);
    let keepSlot = false;
    try {
      return await this.holdingSlot(job, token, row, () => (keepSlot = true));
    } finally {
      clearInterval(renew);
      // A hand-back keeps the lease: the job is still in flight at the provider and the next worker renews it.
      if (!keepSlot) await this.releaseSlot(row.tenantId, row.id);
    }
  }

  /** Frees the slot and wakes the tenant's longest-parked job, if it is still parked. */
  private async releaseSlot(tenantId: string, jobId: string): Promise<void> {
    await this.slots.releaseAndPromote(tenantId, jobId);
  }

  private async holdingSlot(job: Job<SubmitToProviderPayload>, token: string | undefined, row: JobRow, onHandBack: () => void): Promise<string> {
    const { jobId, trackId } = job.data;
    let attempt: JobAttempt | null = row.currentAttempt !== null ? await this.jobs.findAttempt(row.currentAttempt) : null;
    try {
      const resumable = row.state === 'processing' && attempt?.state === 'processing' && attempt.providerRequestId !== null;
      if (!resumable) {
        const client = await this.chooseProvider(row.id);
        attempt = await this.jobs.startAttempt(row.id, client.name, randomBytes(24).toString('base64url'));
        if (!attempt) return 'skipped (no longer queued)';
        // Since the job last entered `queued` (created, released from its batch, or requeued after a failure).
        if (row.state === 'queued') this.metrics.observeStage('queued', row.updatedAt, attempt.createdAt.getTime());
        await this.submit(row, attempt, client);
      }
      await this.awaitResult(attempt!);
      this.metrics.observeStage('provider', attempt!.createdAt);
      return 'resolved';
    } catch (err) {
      if (err instanceof HandBack) {
        onHandBack();
        log.info({ jobId, trackId }, 'handed back to the queue (shutting down); the next worker resumes waiting');
        // Shutting down: the provider keeps working; whoever picks the job up resumes waiting for the result.
        await job.moveToDelayed(Date.now() + 200, token);
        throw new DelayedError();
      }
      if (attempt && this.providers.shouldFallBack(attempt.provider, err)) {
        // Provider-side failure with a fallback configured: the next attempt goes to the engine, at once
        // and without spending one of the job's attempts.
        const e = err as RetryableProviderError | PermanentProviderError;
        await this.jobs.requeueAfterFailedAttempt(jobId, attempt.id, e.code, e.message);
        log.warn({ jobId, trackId, code: e.code, fallback: this.providers.fallback!.name }, `provider failed (${e.message}); falling back`);
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      if (err instanceof RetryableProviderError) {
        if (attempt) await this.jobs.requeueAfterFailedAttempt(jobId, attempt.id, err.code, err.message);
        if (err.isRateLimit) {
          log.warn({ jobId, trackId, retryAfterMs: err.retryAfterMs }, 'provider rate limit; parked without spending an attempt');
          await job.moveToDelayed(Date.now() + (err.retryAfterMs ?? 0), token);
          throw new DelayedError();
        }
        const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        log.warn({ jobId, trackId, code: err.code, httpStatus: err.httpStatus, attemptsMade: job.attemptsMade + 1, final }, err.message);
        if (final) {
          await this.jobs.fail(jobId, AT_PROVIDER, exhaustedCode(err), `${err.message} (gave up after ${job.attemptsMade + 1} attempts)`);
          throw new UnrecoverableError(err.message);
        }
        throw err;
      }
      if (err instanceof PermanentProviderError) {
        log.warn({ jobId, trackId, code: err.code, httpStatus: err.httpStatus }, `provider refused the job: ${err.message}`);
        await this.jobs.fail(jobId, AT_PROVIDER, err.code, err.message);
        throw new UnrecoverableError(err.message);
      }
      throw err;
    }
  }

  /** The primary provider, unless this job already went to the fallback after a provider-side failure. */
  private async chooseProvider(jobId: string): Promise<ModelslabClient> {
    const fallback = this.providers.fallback;
    if (fallback && (await this.jobs.hasAttemptWith(jobId, fallback.name))) return fallback;
    if (fallback && (await this.jobs.lastAttemptFailedAt(jobId, this.providers.primary.name))) return fallback;
    return this.providers.primary;
  }

  /** Sends the attempt; the answer (any of the three shapes) is reconciled like a webhook. */
  private async submit(row: JobRow, attempt: JobAttempt, provider: ModelslabClient): Promise<void> {
    let image: string;
    if (row.imageUrl) {
      image = row.imageUrl;
    } else {
      try {
        image = (await this.storage.getBuffer(row.inputKey!, this.config.limits.maxImageBytes)).toString('base64');
      } catch (err) {
        if ((err as Error).name === 'NoSuchKey') {
          throw new PermanentProviderError('the uploaded input image is no longer in storage', JobErrorCode.InputMissing);
        }
        throw err;
      }
    }
    const webhook = this.config.publicBaseUrl ? `${this.config.publicBaseUrl}/webhooks/modelslab/${attempt.id}/${attempt.webhookToken}` : null;
    log.info({ jobId: row.id, trackId: row.trackId, attemptId: attempt.id.toString(), provider: provider.name, webhook: webhook !== null }, 'submitting to provider');
    const reply = await provider.submit({ image, options: row.options as Record<string, never>, webhook, trackId: attempt.id });
    await this.reconciler.apply(attempt.id, reply.result, 'submit', reply.raw);
  }

  /**
   * Waits until the attempt is resolved: woken by the webhook receiver, and polling the provider from
   * `eta` on with exponential backoff as the fallback. Postgres decides what happened.
   */
  private async awaitResult(initial: JobAttempt): Promise<void> {
    const deadline = initial.createdAt.getTime() + this.config.provider.resultTimeoutMs;
    let interval = 1000;
    let nextPoll: number | undefined;
    let askedAtDeadline = false;
    for (;;) {
      const attempt = await this.jobs.findAttempt(initial.id);
      if (!attempt || RESOLVED.has(attempt.state)) return;
      if (this.shuttingDown) throw new HandBack();
      const now = Date.now();
      if (now >= deadline) {
        // Past the deadline (a late eta, a wait resumed after an outage): ask the provider once before
        // giving the attempt up, rather than resubmit work that may be done.
        if (askedAtDeadline || !attempt.providerRequestId) {
          throw new RetryableProviderError(`no result from the provider within ${this.config.provider.resultTimeoutMs} ms`, 'provider_result_timeout');
        }
        askedAtDeadline = true;
        nextPoll = now;
      }
      nextPoll ??= Math.max(now, attempt.etaAt?.getTime() ?? now + interval);
      if (now >= nextPoll && attempt.providerRequestId) {
        const reply = await this.providers.forAttempt(attempt.provider).fetchResult(attempt.providerRequestId).catch((err: unknown) => {
          if (err instanceof RetryableProviderError && !err.isRateLimit) {
            log.warn({ attemptId: attempt.id.toString(), code: err.code }, `poll failed: ${err.message}`);
            return null;
          }
          throw err;
        });
        if (reply) await this.reconciler.apply(attempt.id, reply.result, 'poll', reply.raw);
        interval = Math.min(interval * 2, this.config.provider.pollMaxIntervalMs);
        nextPoll = Date.now() + interval;
        continue;
      }
      await this.events.waitFor(attempt.id, Math.min(nextPoll, deadline) - now);
    }
  }
}
