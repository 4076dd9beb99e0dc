/**
 * Consumer webhooks: the events maskflow sends to its clients, and the body every delivery carries.
 * Deliveries are signed the Standard Webhooks way (https://www.standardwebhooks.com).
 */
import type { JobView } from './job-response.js';

export const WEBHOOK_EVENT_TYPES = ['job.succeeded', 'job.failed', 'job.canceled', 'batch.completed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The job event for a terminal job state. */
export const JOB_EVENT_FOR_STATE = { succeeded: 'job.succeeded', failed: 'job.failed', canceled: 'job.canceled' } as const satisfies Record<string, WebhookEventType>;

/** The JSON body of every delivery: `data` is the job as GET /v1/jobs/:id presents it (or the batch). */
export interface WebhookBody<T = JobView | Record<string, unknown>> {
  type: WebhookEventType;
  /** When the event happened (ISO 8601), the same for every attempt. */
  timestamp: string;
  data: T;
}

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'canceled'] as const;
export type WebhookDeliveryStatusName = (typeof WEBHOOK_DELIVERY_STATUSES)[number];
