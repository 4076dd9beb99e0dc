/**
 * Enqueues consumer webhook deliveries that Postgres says are due: new ones (the event row was written in
 * the job's terminal transaction, so nothing was enqueued then) and any whose queued retry was lost (Redis
 * flushed, a crash between commit and enqueue, a worker that died mid-attempt once its lease ran out).
 * Deterministic BullMQ ids (`whd.<delivery>.a<attempt>`) make it safe to run in every worker at once.
 */
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, createLogger, type AppConfig } from '../../../libs/config/src/index.js';
import { JobName } from '../../../libs/contracts/src/index.js';
import { WebhookRepository } from '../../../libs/db/src/index.js';
import { QueueService } from '../../../libs/queue/src/index.js';

const log = createLogger('worker.webhook-dispatcher');
const BATCH = 500;

@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly webhooks: WebhookRepository,
    private readonly queues: QueueService,
  ) {}

  onApplicationBootstrap(): void {
    const run = () => void this.runOnce().catch((err: unknown) => log.error({ err }, 'webhook dispatch failed'));
    this.timer = setInterval(run, this.config.webhooks.dispatchIntervalMs);
    this.timer.unref();
    run();
  }

  /** Enqueues every due delivery (a no-op for those already queued); returns how many it looked at. */
  runOnce(): Promise<number> {
    this.running ??= this.dispatch().finally(() => (this.running = undefined));
    return this.running;
  }

  private async dispatch(): Promise<number> {
    const due = await this.webhooks.findDue(BATCH);
    for (const d of due) await this.queues.enqueue(JobName.DeliverWebhook, { deliveryId: d.id, attemptNo: d.attemptCount + 1 });
    return due.length;
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }
}
