/**
 * What the dashboard shows, in one answer: queues and provider slots (service-wide), and the caller's
 * tenant's jobs of the last day, batches with progress, recent failures with their reasons and a gallery
 * of recent cut-outs (presigned URLs). Every tenant-owned row is filtered by the caller's tenant.
 */
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../../libs/config/src/index.js';
import { ALL_JOB_NAMES, type BatchView, type JobView } from '../../../../libs/contracts/src/index.js';
import { BatchPresenter } from '../../../../libs/batches/src/index.js';
import { BatchRepository, JobRepository } from '../../../../libs/db/src/index.js';
import { ProviderSlots, QueueService } from '../../../../libs/queue/src/index.js';
import { JobPresenter } from '../jobs/job.presenter.js';

export interface DashboardView {
  generated_at: string;
  provider: { slots_in_use: number; slots_limit: number; tenant_slots_in_use: number };
  queues: { name: string; waiting: number; active: number; delayed: number; failed: number; oldest_waiting_seconds: number | null }[];
  jobs_last_24h: Record<string, number>;
  batches: BatchView[];
  recent_failures: JobView[];
  recent_cutouts: JobView[];
}

const DAY_MS = 86_400_000;

@Injectable()
export class DashboardService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobRepository,
    private readonly batches: BatchRepository,
    private readonly jobPresenter: JobPresenter,
    private readonly batchPresenter: BatchPresenter,
    private readonly queues: QueueService,
    private readonly slots: ProviderSlots,
  ) {}

  async view(tenantId: string): Promise<DashboardView> {
    const [queues, inUse, tenantInUse, counts, batches, failed, succeeded] = await Promise.all([
      Promise.all(ALL_JOB_NAMES.map((name) => this.queueStats(name))),
      this.slots.inUse(),
      this.slots.inUse(tenantId),
      this.jobs.stateCountsSince(tenantId, new Date(Date.now() - DAY_MS)),
      this.batches.list(tenantId, { limit: 8 }),
      this.jobs.recentlyCompleted(tenantId, 'failed', 10),
      this.jobs.recentlyCompleted(tenantId, 'succeeded', 12),
    ]);
    return {
      generated_at: new Date().toISOString(),
      provider: { slots_in_use: inUse, slots_limit: this.config.provider.maxInFlight, tenant_slots_in_use: tenantInUse },
      queues,
      jobs_last_24h: counts,
      batches: await Promise.all(batches.map((b) => this.batchPresenter.present(b))),
      recent_failures: await Promise.all(failed.map((j) => this.jobPresenter.present(j))),
      recent_cutouts: await Promise.all(succeeded.map((j) => this.jobPresenter.present(j))),
    };
  }

  private async queueStats(name: (typeof ALL_JOB_NAMES)[number]): Promise<DashboardView['queues'][number]> {
    const queue = this.queues.queue(name);
    const [c, oldest] = await Promise.all([queue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed'), queue.getWaiting(0, 0)]);
    const first = oldest[0];
    return {
      name,
      waiting: (c.wait ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      failed: c.failed ?? 0,
      oldest_waiting_seconds: first ? Math.max(0, Math.round((Date.now() - first.timestamp) / 1000)) : null,
    };
  }
}
