import type { Job } from 'bullmq';
import type { JobName, JobPayloads } from '../../../../libs/contracts/src/index.js';

/** One processor per job name; the worker host refuses to start unless every name has exactly one. */
export interface JobProcessor<N extends JobName = JobName> {
  readonly jobName: N;
  /** BullMQ worker concurrency for this process. */
  concurrency(): number;
  process(job: Job<JobPayloads[N]>, token: string | undefined): Promise<unknown>;
  /** Called when the process starts shutting down: stop waiting, hand work back. */
  beginShutdown?(): void;
}

export const JOB_PROCESSORS = Symbol('JOB_PROCESSORS');
