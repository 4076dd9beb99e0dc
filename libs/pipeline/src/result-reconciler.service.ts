/**
 * The single path by which a provider result enters the system, whether it came from the submit answer,
 * a poll or a webhook: reconcile it in Postgres, then (after commit) enqueue the store step and wake the
 * worker holding the attempt's provider slot.
 */
import { Injectable } from '@nestjs/common';
import { JobName } from '../../contracts/src/index.js';
import { JobRepository, type AppliedResult, type ProviderResult } from '../../db/src/index.js';
import { AttemptEvents, QueueService } from '../../queue/src/index.js';

@Injectable()
export class ResultReconciler {
  constructor(
    private readonly jobs: JobRepository,
    private readonly queues: QueueService,
    private readonly events: AttemptEvents,
  ) {}

  async apply(attemptId: bigint | null, result: ProviderResult | null, source: 'submit' | 'poll' | 'webhook', payload: unknown): Promise<AppliedResult> {
    const applied = await this.jobs.applyProviderResult(attemptId, result, source, payload);
    // Both after the commit, side by side: the worker holding the slot is woken without waiting for the
    // store step's enqueue (the slot hand-off is on every job's critical path).
    await Promise.all([
      applied.storeJob &&
        this.queues.enqueue(JobName.StoreOutputs, { jobId: applied.storeJob.jobId, trackId: applied.storeJob.trackId, attemptId: applied.storeJob.attemptId.toString() }),
      attemptId !== null && applied.attemptResolved && source === 'webhook' && this.events.publishResolved(attemptId),
    ]);
    return applied;
  }
}
