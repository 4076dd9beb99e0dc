/**
 * Job lifecycle: queued -> submitting -> processing -> storing -> succeeded, with failed and canceled as the
 * other terminal states. `submitting` and `processing` are at the provider; `storing` copies outputs to S3.
 */
export const JOB_STATES = ['queued', 'submitting', 'processing', 'storing', 'succeeded', 'failed', 'canceled'] as const;
export type JobStateName = (typeof JOB_STATES)[number];

export const TERMINAL_STATES: readonly JobStateName[] = ['succeeded', 'failed', 'canceled'];
export const ACTIVE_STATES: readonly JobStateName[] = ['queued', 'submitting', 'processing', 'storing'];
/** States from which POST /v1/jobs/:id/retry is allowed. */
export const RETRYABLE_STATES: readonly JobStateName[] = ['failed', 'canceled'];

export function isTerminal(state: JobStateName): boolean {
  return TERMINAL_STATES.includes(state);
}
