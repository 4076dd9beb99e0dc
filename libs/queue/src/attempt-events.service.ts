/**
 * "This attempt has its result" notifications over Redis pub/sub, from the webhook receiver (API) to the
 * worker that holds the provider slot for that attempt. A lost message only delays the worker until its
 * next scheduled check of Postgres, which remains the source of truth.
 */
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../../config/src/index.js';
import { createRedis } from './redis-connection.js';
import { QueueService } from './queue.service.js';

@Injectable()
export class AttemptEvents implements OnApplicationShutdown {
  private subscriber: Redis | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly channel: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly queues: QueueService,
  ) {
    this.channel = `${config.redis.prefix}:attempt-resolved`;
  }

  async publishResolved(attemptId: bigint): Promise<void> {
    await this.queues.connection.publish(this.channel, attemptId.toString());
  }

  /** Resolves when the attempt is announced as resolved, or after `ms`, whichever comes first. */
  async waitFor(attemptId: bigint, ms: number): Promise<void> {
    await this.ensureSubscribed();
    const key = attemptId.toString();
    await new Promise<void>((resolve) => {
      const set = this.waiters.get(key) ?? new Set();
      this.waiters.set(key, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      set.add(done);
    });
  }

  /** Wakes every waiter now (shutdown). */
  wakeAll(): void {
    for (const set of this.waiters.values()) for (const done of [...set]) done();
  }

  private async ensureSubscribed(): Promise<void> {
    if (this.subscriber) return;
    const sub = createRedis(this.config.redis.url, 'subscriber', 'attempt-events');
    this.subscriber = sub;
    sub.on('message', (_channel: string, message: string) => {
      const set = this.waiters.get(message);
      if (set) for (const done of [...set]) done();
    });
    await sub.subscribe(this.channel);
  }

  async onApplicationShutdown(): Promise<void> {
    this.wakeAll();
    await this.subscriber?.quit().catch(() => undefined);
  }
}
