/**
 * Moves batch items from Postgres into the submit queue in bounded windows, so Redis never holds a whole
 * large batch and a big batch cannot crowd out anything else:
 *  - each running batch has at most BATCH_WINDOW items released and unfinished at a time;
 *  - every tick visits every open batch (oldest first), so concurrent batches advance side by side;
 *  - batch items are enqueued with a BullMQ priority (BATCH_ITEM_PRIORITY), and BullMQ hands out jobs
 *    without a priority (single jobs) first: a single job waits only for a provider slot to free up.
 * Each tick also checks open batches for completion. Safe with many worker processes: release takes a
 * per-batch advisory lock in Postgres, completion is a conditional UPDATE, BullMQ ids are deterministic.
 */
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, createLogger, type AppConfig } from '../../../libs/config/src/index.js';
import { BATCH_ITEM_PRIORITY, JobName } from '../../../libs/contracts/src/index.js';
import { BatchRepository } from '../../../libs/db/src/index.js';
import { BatchCompletion } from '../../../libs/batches/src/index.js';
import { QueueService } from '../../../libs/queue/src/index.js';

const log = createLogger('worker.batch-feeder');
const MAX_OPEN_BATCHES_PER_TICK = 500;

@Injectable()
export class BatchFeeder implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly batches: BatchRepository,
    private readonly completion: BatchCompletion,
    private readonly queues: QueueService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.config.batches.feedIntervalMs);
    this.timer.unref();
    void this.tick();
  }

  /** One pass over the open batches (never two at once in this process). */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.feedAll()
      .catch((err: unknown) => log.error({ err }, 'batch feed failed'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async feedAll(): Promise<void> {
    const open = await this.batches.openBatches(MAX_OPEN_BATCHES_PER_TICK);
    for (const b of open) {
      if (this.stopped) return;
      if (b.state === 'running') {
        const items = await this.batches.release(b.id, this.config.batches.window);
        if (items.length > 0) {
          // Postgres marked them released first: if this enqueue fails, the reconciler re-enqueues them.
          await this.queues.enqueueBulk(
            JobName.SubmitToProvider,
            items.map((it) => ({ payload: { jobId: it.id, trackId: it.trackId }, runNo: it.runNo, priority: BATCH_ITEM_PRIORITY })),
          );
          log.debug({ batchId: b.id, released: items.length }, 'batch items released');
          continue;
        }
      }
      await this.completion.checkCompleted(b.id);
    }
  }

  /** Before queues and Prisma close: finish the pass under way, start no other. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
