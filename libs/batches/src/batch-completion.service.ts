/**
 * The one place a batch becomes complete. `checkCompleted()` runs the conditional UPDATE (completed_at is
 * set only while it is NULL and no item is left in a non-terminal state), so however many workers and
 * API replicas call it at once, one call per run of the batch wins; that call runs `onCompleted()`.
 */
import { Injectable } from '@nestjs/common';
import { createLogger } from '../../config/src/index.js';
import { BatchRepository, ConsumerEvents, type Batch } from '../../db/src/index.js';
import { BatchPresenter } from './batch.presenter.js';

const log = createLogger('batches.completion');

@Injectable()
export class BatchCompletion {
  constructor(
    private readonly batches: BatchRepository,
    private readonly presenter: BatchPresenter,
  ) {}

  /**
   * Completes the batch if its last item is terminal; returns the batch when this call completed it.
   * Exactly once per completion (per `batch.runNo`: retry-failed re-opens a batch in a new run), in the
   * completing transaction, the `batch.completed` consumer event is written (dedupe key
   * `batch.completed:<id>:<run no>`; `data.state` tells `completed` from `canceled`), with the batch's
   * callback_url as a target. Workers deliver it; a slow receiver never holds this up.
   */
  async checkCompleted(batchId: string): Promise<Batch | null> {
    const batch = await this.batches.completeIfDone(batchId, async (tx, b) => {
      const counts = (await this.batches.counts([b.id], tx)).get(b.id)!;
      await ConsumerEvents.emit(tx, {
        tenantId: b.tenantId,
        type: 'batch.completed',
        data: { ...this.presenter.view(b, counts, null) },
        callbackUrl: b.callbackUrl,
        dedupeKey: `batch.completed:${b.id}:${b.runNo}`,
      });
    });
    if (batch) log.info({ batchId: batch.id, state: batch.state, runNo: batch.runNo, items: batch.totalItems }, 'batch completed');
    return batch;
  }
}
