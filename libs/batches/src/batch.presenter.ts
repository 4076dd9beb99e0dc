import { Injectable } from '@nestjs/common';
import type { BatchCounts, BatchFormat, BatchStateName, BatchView, RemovebgOptions } from '../../contracts/src/index.js';
import { JOB_STATES, TERMINAL_STATES } from '../../contracts/src/index.js';
import { BatchRepository, type Batch, type StateCounts } from '../../db/src/index.js';

const THROUGHPUT_WINDOW_S = 60;

/** Batch rows -> public JSON: counts per state, percent done, throughput over the last minute, ETA. */
@Injectable()
export class BatchPresenter {
  constructor(private readonly batches: BatchRepository) {}

  async present(batch: Batch, withRate = true): Promise<BatchView> {
    const counts = (await this.batches.counts([batch.id])).get(batch.id)!;
    const perMinute = withRate && batch.completedAt === null ? await this.batches.finishedSince(batch.id, THROUGHPUT_WINDOW_S) : 0;
    return this.view(batch, counts, perMinute);
  }

  async presentMany(batches: Batch[]): Promise<BatchView[]> {
    const counts = await this.batches.counts(batches.map((b) => b.id));
    return batches.map((b) => this.view(b, counts.get(b.id)!, null));
  }

  /** The view of a batch from counts the caller already has (e.g. read in the completing transaction). */
  view(batch: Batch, byState: StateCounts, perMinute: number | null): BatchView {
    const total = JOB_STATES.reduce((n, s) => n + byState[s], 0);
    const done = TERMINAL_STATES.reduce((n, s) => n + byState[s], 0);
    const remaining = total - done;
    const counts: BatchCounts = { total, ...byState };
    return {
      id: batch.id,
      state: batch.state as BatchStateName,
      format: batch.format as BatchFormat,
      counts,
      percent_done: total === 0 ? 100 : Math.floor((done / total) * 1000) / 10,
      throughput_per_minute: perMinute ?? 0,
      eta_seconds: remaining === 0 ? 0 : perMinute ? Math.ceil(remaining / (perMinute / THROUGHPUT_WINDOW_S)) : null,
      rejected_total: batch.rejectedTotal,
      options: batch.options as RemovebgOptions,
      callback_url: batch.callbackUrl,
      metadata: (batch.metadata as Record<string, unknown> | null) ?? null,
      created_at: batch.createdAt.toISOString(),
      updated_at: batch.updatedAt.toISOString(),
      canceled_at: batch.canceledAt?.toISOString() ?? null,
      completed_at: batch.completedAt?.toISOString() ?? null,
    };
  }
}
