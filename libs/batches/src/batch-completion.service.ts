/**
 * The one place a batch becomes complete. `checkCompleted()` runs the conditional UPDATE (completed_at is
 * set only while it is NULL and no item is left in a non-terminal state), so however many workers and
 * API replicas call it at once, one call per run of the batch wins; that call runs `onCompleted()`.
 */
import { Injectable } from '@nestjs/common';
import { createLogger } from '../../config/src/index.js';
import { BatchRepository, type Batch } from '../../db/src/index.js';

const log = createLogger('batches.completion');

@Injectable()
export class BatchCompletion {
  constructor(private readonly batches: BatchRepository) {}

  /** Completes the batch if its last item is terminal; returns the batch when this call completed it. */
  async checkCompleted(batchId: string): Promise<Batch | null> {
    const batch = await this.batches.completeIfDone(batchId);
    if (batch) await this.onCompleted(batch);
    return batch;
  }

  /**
   * Runs exactly once per completion (per `batch.runNo`: retry-failed re-opens a batch in a new run).
   * HOOK: the `batch.completed` consumer webhook is emitted here (event id: `${batch.id}.run${batch.runNo}`;
   * batch.state tells `completed` from `canceled`). Must not throw for a slow receiver: enqueue the delivery.
   */
  async onCompleted(batch: Batch): Promise<void> {
    log.info({ batchId: batch.id, state: batch.state, runNo: batch.runNo, items: batch.totalItems }, 'batch completed');
  }
}
