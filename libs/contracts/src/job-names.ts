/**
 * The one vocabulary of background work. Each job name has exactly one queue, one payload type and one
 * processor (the worker checks this at start-up). Payloads carry ids only: Postgres holds the data.
 */
export enum JobName {
  SubmitToProvider = 'submit-to-provider',
  StoreOutputs = 'store-outputs',
  DeliverWebhook = 'deliver-webhook',
}

export interface SubmitToProviderPayload {
  jobId: string;
  trackId: string;
}

export interface StoreOutputsPayload {
  jobId: string;
  trackId: string;
  attemptId: string;
}

/** One HTTP attempt of a consumer webhook delivery (`attemptNo` makes the BullMQ id unique per attempt). */
export interface DeliverWebhookPayload {
  deliveryId: string;
  attemptNo: number;
}

export interface JobPayloads {
  [JobName.SubmitToProvider]: SubmitToProviderPayload;
  [JobName.StoreOutputs]: StoreOutputsPayload;
  [JobName.DeliverWebhook]: DeliverWebhookPayload;
}

export const ALL_JOB_NAMES: readonly JobName[] = Object.values(JobName);
