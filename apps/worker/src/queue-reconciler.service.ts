/**
 * Postgres is the source of truth; Redis only holds work to do. Periodically (and at start-up) this finds
 * jobs that Postgres says need work but that no queue holds (Redis flushed, enqueue failed after the insert,
 * a crash) and enqueues them again. Deterministic BullMQ ids make it safe to run from every worker at once.
 */
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, createLogger, type AppConfig } from '../../../libs/config/src/index.js';
import { BATCH_ITEM_PRIORITY, JobName } from '../../../libs/contracts/src/index.js';
import { JobRepository } from '../../../libs/db/src/index.js';
import { QueueService, bullJobId, providerPrefetch } from '../../../libs/queue/src/index.js';

const log = createLogger('worker.reconciler');
const LIVE_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

@Injectable()
export class QueueReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobRepository,
    private readonly queues: QueueService,
  ) {}

  onApplicationBootstrap(): void {
    const { intervalMs, quietMs } = this.config.reconcile;
    const run = () => void this.runOnce(quietMs).catch((err: unknown) => log.error({ err }, 'reconcile failed'));
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
    run();
  }

  /** Re-enqueues work for jobs untouched for `quietMs`; returns how many were re-enqueued. */
  runOnce(quietMs: number): Promise<number> {
    this.running ??= this.reconcile(quietMs).finally(() => (this.running = undefined));
    return this.running;
  }

  private async reconcile(quietMs: number): Promise<number> {
    // Redis may have restarted empty: the provider queue's global concurrency is part of what it lost.
    await this.queues.queue(JobName.SubmitToProvider).setGlobalConcurrency(this.config.provider.maxInFlight + providerPrefetch(this.config.provider.maxInFlight));
    const now = Date.now();
    // A job is `submitting` while its submit is on the way (up to PROVIDER_TIMEOUT_MS): re-enqueueing it sooner
    // would send it to the provider a second time while the first request may still land.
    const submitQuietMs = Math.max(quietMs, this.config.provider.timeoutMs + 5000);
    const stale = [
      ...(await this.jobs.findActive(['queued', 'processing', 'storing'], new Date(now - quietMs), 1000)),
      ...(await this.jobs.findActive(['submitting'], new Date(now - submitQuietMs), 1000)),
    ];
    let requeued = 0;
    for (const job of stale) {
      const name = job.state === 'storing' ? JobName.StoreOutputs : JobName.SubmitToProvider;
      if (name === JobName.StoreOutputs && job.currentAttempt === null) continue;
      const payload =
        name === JobName.StoreOutputs
          ? { jobId: job.id, trackId: job.trackId, attemptId: job.currentAttempt!.toString() }
          : { jobId: job.id, trackId: job.trackId };
      const id = bullJobId(name, payload as never, job.runNo);
      const existing = await this.queues.queue(name).getJob(id);
      if (existing && LIVE_STATES.has(await existing.getState())) continue;
      if (existing) await existing.remove().catch(() => undefined);
      // Batch items keep their lower priority, so a rebuilt queue still serves single jobs first.
      const priority = name === JobName.SubmitToProvider && job.batchId ? BATCH_ITEM_PRIORITY : undefined;
      await this.queues.enqueue(name, payload as never, { runNo: job.runNo, priority });
      requeued++;
      log.warn({ jobId: job.id, trackId: job.trackId, state: job.state, queue: name }, 'job had no queued work; re-enqueued');
    }
    return requeued;
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
