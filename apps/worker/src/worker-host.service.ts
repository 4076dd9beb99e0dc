/**
 * Runs one BullMQ Worker per job name. At start-up it checks that every JobName has exactly one processor,
 * sets the provider queue's global concurrency (the plan's in-flight limit, shared by all worker processes),
 * and on shutdown stops taking jobs, hands waiting jobs back, and lets running steps finish.
 */
import { Inject, Injectable, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { APP_CONFIG, createLogger, withLogContext, type AppConfig } from '../../../libs/config/src/index.js';
import { ALL_JOB_NAMES, JobName } from '../../../libs/contracts/src/index.js';
import { QueueService, createRedis, providerPrefetch } from '../../../libs/queue/src/index.js';
import { JOB_PROCESSORS, type JobProcessor } from './processors/job-processor.js';

const log = createLogger('worker');

export function checkProcessors(processors: readonly JobProcessor[]): void {
  for (const name of ALL_JOB_NAMES) {
    const count = processors.filter((p) => p.jobName === name).length;
    if (count !== 1) throw new Error(`job name "${name}" has ${count} processors; exactly one is required`);
  }
  for (const p of processors) {
    if (!ALL_JOB_NAMES.includes(p.jobName)) throw new Error(`processor for unknown job name "${String(p.jobName)}"`);
  }
}

/** What every log line of a step carries: the maskflow job and its track id, or the webhook delivery. */
function logBindingsOf(queue: string, data: unknown): Record<string, string | undefined> {
  const d = (data ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  return { queue, jobId: str(d.jobId), trackId: str(d.trackId), deliveryId: str(d.deliveryId) };
}

@Injectable()
export class WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly workers: Worker[] = [];
  private connection: Redis | undefined;
  /** Jobs inside a processor right now (ours, not BullMQ's view, which does not wait for every kind). */
  private active = 0;
  private stopping = false;
  private idle: (() => void) | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(JOB_PROCESSORS) private readonly processors: JobProcessor[],
    private readonly queues: QueueService,
  ) {
    checkProcessors(processors);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.queues.queue(JobName.SubmitToProvider).setGlobalConcurrency(this.config.provider.maxInFlight + providerPrefetch(this.config.provider.maxInFlight));
    this.connection = createRedis(this.config.redis.url, 'worker', 'workers');
    for (const processor of this.processors) {
      const run = (job: Job, token: string | undefined) => this.track(() => withLogContext(logBindingsOf(processor.jobName, job.data), () => processor.process(job as never, token)));
      const worker = new Worker(processor.jobName, (job, token) => (this.stopping ? this.handBack(job, token) : run(job, token)), {
        connection: this.connection,
        prefix: this.config.redis.prefix,
        concurrency: processor.concurrency(),
        lockDuration: this.config.workerLockMs,
        stalledInterval: this.config.workerLockMs,
        maxStalledCount: 5,
      });
      worker.on('error', (err) => log.error({ err, queue: processor.jobName }, 'worker error'));
      worker.on('failed', (job, err) => {
        if (job && job.finishedOn) log.warn({ jobId: job.data?.jobId, trackId: job.data?.trackId, queue: processor.jobName, reason: err.message }, 'step failed for good');
      });
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    log.info({ queues: this.processors.map((p) => `${p.jobName}x${p.concurrency()}`), providerSlots: this.config.provider.maxInFlight }, 'worker started');
  }

  /**
   * A job BullMQ hands out while we stop (a fetch already under way when the worker paused): given back at
   * once, untouched, instead of started and cut off by the shutdown.
   */
  private async handBack(job: Job, token: string | undefined): Promise<never> {
    await job.moveToDelayed(Date.now() + 100, token);
    throw new DelayedError();
  }

  private async track<T>(run: () => Promise<T>): Promise<T> {
    this.active++;
    try {
      return await run();
    } finally {
      if (--this.active === 0) this.idle?.();
    }
  }

  /**
   * Stop taking jobs; tell processors to hand back what waits at the provider; let running steps finish
   * (up to SHUTDOWN_GRACE_MS); then close. Whatever is still running after the grace period is released
   * by BullMQ's stalled-job check to another worker.
   */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.stopping = true;
    log.info({ signal, active: this.active }, 'worker stopping: no new jobs; handing back jobs waiting at the provider');
    await Promise.all(this.workers.map((w) => w.pause(true)));
    for (const p of this.processors) p.beginShutdown?.();
    const drained = this.active === 0 ? Promise.resolve() : new Promise<void>((r) => (this.idle = r));
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), this.config.shutdownGraceMs).unref());
    const timedOut = (await Promise.race([drained, timer])) === 'timeout';
    if (timedOut) log.warn({ active: this.active }, 'grace period over; the remaining jobs go to another worker once their lock expires');
    await Promise.all(this.workers.map((w) => w.close(timedOut)));
    await this.connection?.quit().catch(() => undefined);
    log.info('worker stopped');
  }
}
