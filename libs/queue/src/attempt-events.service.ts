/**
 * Notifications over Redis pub/sub: "this attempt has its result", from the webhook receiver (API) to the
 * worker that holds the provider slot for that attempt, and "a provider slot was freed", to the jobs waiting
 * for one. A lost message only delays a waiter until its next scheduled check (Postgres and the slot table
 * remain the source of truth).
 */
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../../config/src/index.js';
import { slotFreedChannel } from './provider-slots.service.js';
import { createRedis } from './redis-connection.js';
import { QueueService } from './queue.service.js';

@Injectable()
export class AttemptEvents implements OnApplicationShutdown {
  private subscriber: Redis | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly channel: string;
  private readonly slotChannel: string;
  /** Jobs waiting for a provider slot, oldest first: each freed slot wakes one per process. */
  private readonly slotWaiters: (() => void)[] = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly queues: QueueService,
  ) {
    this.channel = `${config.redis.prefix}:attempt-resolved`;
    this.slotChannel = slotFreedChannel(config.redis.prefix);
  }

  /**
   * Arms a wait for the next freed provider slot *before* the caller tries to take one (so a slot freed in
   * between is not missed); `wait(ms)` resolves on that announcement, after `ms`, or at shutdown.
   */
  async armSlotWait(): Promise<{ wait(ms: number): Promise<void>; cancel(): void }> {
    await this.ensureSubscribed();
    let woken = false;
    let resolveWait: (() => void) | undefined;
    const wake = () => {
      woken = true;
      resolveWait?.();
    };
    this.slotWaiters.push(wake);
    const cancel = () => {
      const i = this.slotWaiters.indexOf(wake);
      if (i >= 0) this.slotWaiters.splice(i, 1);
    };
    return {
      cancel,
      wait: (ms) =>
        new Promise<void>((resolve) => {
          if (woken) return resolve();
          const timer = setTimeout(() => {
            cancel();
            resolve();
          }, Math.max(0, ms));
          resolveWait = () => {
            clearTimeout(timer);
            resolve();
          };
        }),
    };
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
    for (const wake of this.slotWaiters.splice(0)) wake();
  }

  private async ensureSubscribed(): Promise<void> {
    if (this.subscriber) return;
    const sub = createRedis(this.config.redis.url, 'subscriber', 'attempt-events');
    this.subscriber = sub;
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.slotChannel) {
        this.slotWaiters.shift()?.();
        return;
      }
      const set = this.waiters.get(message);
      if (set) for (const done of [...set]) done();
    });
    await sub.subscribe(this.channel, this.slotChannel);
  }

  async onApplicationShutdown(): Promise<void> {
    this.wakeAll();
    await this.subscriber?.quit().catch(() => undefined);
  }
}
