/**
 * Typed producers: a payload can only be enqueued under its own job name. One queue per job name, all under
 * the hash-tagged prefix (e.g. `{maskflow}`) so every key of a queue lives in one Redis Cluster slot.
 */
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../../config/src/index.js';
import { ALL_JOB_NAMES, JobName, type JobPayloads } from '../../contracts/src/index.js';
import { createRedis } from './redis-connection.js';

/** Deterministic BullMQ ids: re-adding the same work (reconciler, duplicated webhook) is a no-op. */
export function bullJobId<N extends JobName>(name: N, payload: JobPayloads[N], runNo: number): string {
  switch (name) {
    case JobName.SubmitToProvider:
      return `${(payload as JobPayloads[JobName.SubmitToProvider]).jobId}.run${runNo}`;
    case JobName.StoreOutputs:
      return `${(payload as JobPayloads[JobName.StoreOutputs]).jobId}.attempt${(payload as JobPayloads[JobName.StoreOutputs]).attemptId}`;
    case JobName.DeliverWebhook: {
      const p = payload as JobPayloads[JobName.DeliverWebhook];
      return `whd.${p.deliveryId}.a${p.attemptNo}`;
    }
    default:
      throw new Error(`no id scheme for job name ${String(name)}`);
  }
}

@Injectable()
export class QueueService implements OnApplicationShutdown {
  readonly connection: Redis;
  private readonly queues = new Map<JobName, Queue>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.connection = createRedis(config.redis.url, 'producer', 'queues');
    for (const name of ALL_JOB_NAMES) {
      const queue = new Queue(name, { connection: this.connection, prefix: config.redis.prefix });
      // Without a listener BullMQ prints every connection error; the connection itself logs an outage once.
      queue.on('error', () => undefined);
      this.queues.set(name, queue);
    }
  }

  get prefix(): string {
    return this.config.redis.prefix;
  }

  queue(name: JobName): Queue {
    const q = this.queues.get(name);
    if (!q) throw new Error(`unknown queue ${name}`);
    return q;
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N], opts: { runNo?: number; delayMs?: number; priority?: number } = {}): Promise<string> {
    const jobId = bullJobId(name, payload, opts.runNo ?? 0);
    await this.queue(name).add(name, payload, this.jobOptions(name, jobId, opts));
    return jobId;
  }

  /** Many jobs of one name in one round trip (BullMQ addBulk); same ids and options as enqueue(). */
  async enqueueBulk<N extends JobName>(name: N, items: { payload: JobPayloads[N]; runNo?: number; priority?: number }[]): Promise<void> {
    if (items.length === 0) return;
    await this.queue(name).addBulk(
      items.map((it) => ({ name, data: it.payload, opts: this.jobOptions(name, bullJobId(name, it.payload, it.runNo ?? 0), it) })),
    );
  }

  private jobOptions(name: JobName, jobId: string, opts: { delayMs?: number; priority?: number }): JobsOptions {
    return {
      jobId,
      delay: opts.delayMs,
      priority: opts.priority,
      attempts: name === JobName.SubmitToProvider ? this.config.provider.maxAttempts : this.config.store.maxAttempts,
      backoff: { type: 'exponential', delay: this.config.provider.backoffMs },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
      // Webhook deliveries keep their state in Postgres; their ids must be reusable by the dispatcher at once.
      ...(name === JobName.DeliverWebhook ? { attempts: 1, removeOnComplete: true, removeOnFail: true } : {}),
    };
  }

  /** Removes a waiting or delayed job (cancel). An active job is left to notice the cancel itself. */
  async removeIfWaiting(name: JobName, jobId: string): Promise<void> {
    const job = await this.queue(name).getJob(jobId);
    if (!job) return;
    const state = await job.getState();
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') {
      await job.remove().catch(() => undefined);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.connection.quit().catch(() => undefined);
  }
}
