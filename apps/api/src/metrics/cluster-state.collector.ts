/**
 * Gauges of the whole system, read when /metrics is scraped and reused for METRICS_CACHE_MS (one read at a
 * time, however many scrapers): jobs by state (one grouped COUNT over the state index), per BullMQ queue the
 * depth by state and the age of the oldest waiting job, and provider slots in use (live leases in Redis)
 * against the limit. Every api replica reports the same values: aggregate them with max(), not sum().
 */
import { Inject, Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { APP_CONFIG, createLogger, type AppConfig } from '../../../../libs/config/src/index.js';
import { ALL_JOB_NAMES, JOB_STATES, type JobName } from '../../../../libs/contracts/src/index.js';
import { PrismaService } from '../../../../libs/db/src/index.js';
import { PipelineMetrics } from '../../../../libs/metrics/src/index.js';
import { ProviderSlots, QueueService } from '../../../../libs/queue/src/index.js';

const log = createLogger('api.metrics');
const QUEUE_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed'] as const;

interface ClusterState {
  jobs: Record<string, number>;
  queues: { name: JobName; counts: Record<string, number>; oldestWaitingMs: number }[];
  slotsInUse: number;
}

@Injectable()
export class ClusterStateCollector {
  private cached: { at: number; state: Promise<ClusterState | null> } | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly prisma: PrismaService,
    private readonly queues: QueueService,
    private readonly slots: ProviderSlots,
    metrics: PipelineMetrics,
  ) {
    const registers = [metrics.registry];
    const self = this;
    new Gauge({
      name: 'maskflow_jobs',
      help: 'Jobs in Postgres by state',
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const s = await self.snapshot();
        this.reset();
        if (s) for (const state of JOB_STATES) this.set({ state }, s.jobs[state] ?? 0);
      },
    });
    new Gauge({
      name: 'maskflow_queue_jobs',
      help: 'BullMQ jobs per queue and state (waiting, prioritized, delayed, active, failed)',
      labelNames: ['queue', 'state'] as const,
      registers,
      async collect() {
        const s = await self.snapshot();
        this.reset();
        for (const q of s?.queues ?? []) for (const state of QUEUE_STATES) this.set({ queue: q.name, state }, q.counts[state] ?? 0);
      },
    });
    new Gauge({
      name: 'maskflow_queue_oldest_waiting_seconds',
      help: 'Age of the oldest job waiting to be picked up per queue (waiting or prioritized; 0 when none)',
      labelNames: ['queue'] as const,
      registers,
      async collect() {
        const s = await self.snapshot();
        this.reset();
        for (const q of s?.queues ?? []) this.set({ queue: q.name }, q.oldestWaitingMs / 1000);
      },
    });
    new Gauge({
      name: 'maskflow_provider_slots_in_use',
      help: 'Provider slots held now across every worker (live leases in Redis)',
      registers,
      async collect() {
        const s = await self.snapshot();
        this.reset();
        if (s) this.set(s.slotsInUse);
      },
    });
    new Gauge({
      name: 'maskflow_provider_slots_limit',
      help: 'PROVIDER_MAX_IN_FLIGHT: the plan concurrency shared by every worker',
      registers,
      collect() {
        this.set(config.provider.maxInFlight);
      },
    });
    new Gauge({
      name: 'maskflow_cluster_state_up',
      help: '1 when the last read of Postgres and Redis for these gauges succeeded, else 0',
      registers,
      async collect() {
        this.set((await self.snapshot()) ? 1 : 0);
      },
    });
  }

  /** The cached state, or a fresh read when it is older than METRICS_CACHE_MS (null when the read failed). */
  snapshot(): Promise<ClusterState | null> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at >= this.config.ops.metricsCacheMs) {
      this.cached = {
        at: now,
        state: this.read().catch((err: unknown) => {
          log.warn({ err }, 'could not read the cluster state for /metrics');
          return null;
        }),
      };
    }
    return this.cached.state;
  }

  private async read(): Promise<ClusterState> {
    const [rows, queues, slotsInUse] = await Promise.all([
      this.prisma.$queryRaw<{ state: string; n: bigint }[]>`SELECT state::text AS state, count(*) AS n FROM jobs GROUP BY state`,
      Promise.all(ALL_JOB_NAMES.map((name) => this.readQueue(name))),
      this.slots.inUse(),
    ]);
    return { jobs: Object.fromEntries(rows.map((r) => [r.state, Number(r.n)])), queues, slotsInUse };
  }

  private async readQueue(name: JobName): Promise<ClusterState['queues'][number]> {
    const q = this.queues.queue(name);
    const [counts, waiting, prioritized] = await Promise.all([
      q.getJobCounts(...QUEUE_STATES),
      // The oldest of the plain wait list, and the first of the prioritized set (its oldest at the top priority).
      q.getJobs(['wait'], 0, 0, true),
      q.getJobs(['prioritized'], 0, 0, true),
    ]);
    const oldest = Math.min(...[...waiting, ...prioritized].map((j) => j.timestamp));
    return { name, counts, oldestWaitingMs: Number.isFinite(oldest) ? Math.max(0, Date.now() - oldest) : 0 };
  }
}
