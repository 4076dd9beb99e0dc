/**
 * The single path by which a provider result enters the system, whether it came from the submit answer,
 * a poll or a webhook: reconcile it in Postgres, then (after commit) free the job's provider slot (the
 * provider is done with it: the next job waiting for a slot goes out at once), enqueue the store step and
 * wake the worker holding the attempt.
 */
import { Injectable } from '@nestjs/common';
import { JobName } from '../../contracts/src/index.js';
import { JobRepository, type AppliedResult, type ProviderResult } from '../../db/src/index.js';
import { AttemptEvents, ProviderSlots, QueueService } from '../../queue/src/index.js';

@Injectable()
export class ResultReconciler {
  constructor(
    private readonly jobs: JobRepository,
    private readonly queues: QueueService,
    private readonly events: AttemptEvents,
    private readonly slots: ProviderSlots,
  ) {}

  async apply(attemptId: bigint | null, result: ProviderResult | null, source: 'submit' | 'poll' | 'webhook', payload: unknown): Promise<AppliedResult> {
    const applied = await this.jobs.applyProviderResult(attemptId, result, source, payload);
    // All after the commit, side by side (the slot hand-off is on every job's critical path). Only a result
    // that resolved the job's *current* attempt frees the slot: a stale one belongs to an older attempt.
    await Promise.all([
      applied.outcome === 'applied' && applied.attemptResolved && applied.tenantId !== undefined && this.slots.releaseAndPromote(applied.tenantId, applied.jobId!),
      applied.storeJob &&
        this.queues.enqueue(JobName.StoreOutputs, { jobId: applied.storeJob.jobId, trackId: applied.storeJob.trackId, attemptId: applied.storeJob.attemptId.toString() }),
      attemptId !== null && applied.attemptResolved && source === 'webhook' && this.events.publishResolved(attemptId),
    ]);
    return applied;
  }
}
