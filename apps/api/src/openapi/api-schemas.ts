/**
 * The API's bodies as zod schemas, for the OpenAPI document. Requests reuse the validation schemas where the
 * code validates with zod (jobs, API keys, the facade); answers are written here and checked at compile time
 * against the TypeScript types the presenters return (`sameShape`), so the spec cannot drift from the code.
 */
import { z } from 'zod';
import {
  ApiErrorCode,
  BATCH_STATES,
  JOB_STATES,
  WEBHOOK_DELIVERY_STATUSES,
  WEBHOOK_EVENT_TYPES,
  createJobSchema,
  facadeSubmitSchema,
  removebgOptionsSchema,
  type BatchCreatedView,
  type BatchResultItem,
  type BatchView,
  type JobView,
  type OutputView,
} from '../../../../libs/contracts/src/index.js';
import { createApiKeySchema } from '../access/create-api-key.schema.js';
import type { ApiKeyView } from '../access/api-key.presenter.js';
import type { WebhookEndpointView, deliveryView } from '../consumer-webhooks/consumer-webhooks.service.js';
import type { DashboardView } from '../dashboard/dashboard.service.js';

/** Compile-time: A and B are assignable both ways (the documented shape is the presented one). */
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function sameShape<A, B>(ok: Mutual<A, B>): void {
  void ok;
}

const isoDate = z.string().meta({ format: 'date-time' });
const nullableDate = isoDate.nullable();
const metadata = z.record(z.string(), z.unknown());

export const RemovebgOptions = removebgOptionsSchema.meta({ description: "The provider's removebg_mask options, by its names and ranges." });
export const CreateJobRequest = createJobSchema.meta({
  description: 'Give the image as exactly one of image_url, image_base64 (JSON), or a multipart file field named image (multipart: options and metadata as JSON strings).',
});

export const Output = z.object({ url: z.string().meta({ description: 'Presigned GET URL (PRESIGN_TTL_SECONDS)' }), sha256: z.string(), bytes: z.int(), content_type: z.string() });
sameShape<z.output<typeof Output>, OutputView>(true);

const jobError = z.object({ code: z.string(), message: z.string() }).nullable();
export const Job = z.object({
  id: z.string(),
  track_id: z.string(),
  state: z.enum(JOB_STATES),
  options: removebgOptionsSchema,
  image_url: z.string().nullable(),
  callback_url: z.string().nullable(),
  metadata: metadata.nullable(),
  attempts: z.int(),
  provider: z.string().nullable(),
  outputs: z.array(Output),
  error: jobError,
  created_at: isoDate,
  updated_at: isoDate,
  completed_at: nullableDate,
});
sameShape<z.output<typeof Job>, JobView>(true);
export const JobList = z.object({ data: z.array(Job), next_cursor: z.string().nullable() });

export const ErrorAnswer = z.object({
  error: z.object({
    code: z.enum(Object.values(ApiErrorCode) as [string, ...string[]]),
    message: z.string(),
    details: z.unknown().optional().meta({ description: 'Field issues [{field, code, message}], or what the code needs (e.g. rate limit numbers)' }),
  }),
});

const batchItem = createJobSchema.omit({ image_base64: true }).extend({ image_url: z.string(), external_id: z.string().min(1).max(200).optional() });
export const CreateBatchRequest = z
  .object({ items: z.array(batchItem).max(10_000), options: removebgOptionsSchema.optional(), callback_url: z.string().optional(), metadata: metadata.optional() })
  .strict()
  .meta({ description: 'JSON batches (at most 10,000 items). Stream larger ones as application/x-ndjson (one item per line) or text/csv (header row).' });

const batchCounts = z.object({ total: z.int(), ...Object.fromEntries(JOB_STATES.map((s) => [s, z.int()])) } as { total: z.ZodInt } & Record<(typeof JOB_STATES)[number], z.ZodInt>);
export const Batch = z.object({
  id: z.string(),
  state: z.enum(BATCH_STATES),
  format: z.enum(['json', 'ndjson', 'csv']),
  counts: batchCounts,
  percent_done: z.number(),
  throughput_per_minute: z.number(),
  eta_seconds: z.number().nullable(),
  rejected_total: z.int(),
  options: removebgOptionsSchema,
  callback_url: z.string().nullable(),
  metadata: metadata.nullable(),
  created_at: isoDate,
  updated_at: isoDate,
  canceled_at: nullableDate,
  completed_at: nullableDate,
});
sameShape<z.output<typeof Batch>, BatchView>(true);
const rejectedRow = z.object({ line: z.int(), field: z.string(), code: z.string(), message: z.string() });
export const BatchCreated = Batch.extend({ rejected: z.array(rejectedRow) });
sameShape<z.output<typeof BatchCreated>, BatchCreatedView>(true);
export const BatchRetried = Batch.extend({ retried: z.int() });
export const BatchList = z.object({ data: z.array(Batch), next_cursor: z.string().nullable() });
export const BatchResultLine = z.object({
  line: z.int(),
  external_id: z.string().nullable(),
  job_id: z.string(),
  state: z.enum(JOB_STATES),
  outputs: z.array(Output),
  error: jobError,
  completed_at: nullableDate,
});
sameShape<z.output<typeof BatchResultLine>, BatchResultItem>(true);

export const CreateWebhookEndpointRequest = z
  .object({ url: z.string().max(2048), events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1), description: z.string().max(500).nullable().optional() })
  .strict();
export const WebhookEndpoint = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.string()),
  disabled: z.boolean(),
  disabled_reason: z.string().nullable(),
  previous_secret_expires_at: nullableDate,
  created_at: isoDate,
  updated_at: isoDate,
  secret: z.string().optional().meta({ description: 'whsec_ signing secret: only in the answers of create and rotate-secret' }),
});
sameShape<z.output<typeof WebhookEndpoint>, WebhookEndpointView>(true);
export const WebhookEndpointList = z.object({ data: z.array(WebhookEndpoint) });
export const WebhookSecret = z.object({ secret: z.string(), previous_secret_expires_at: nullableDate, created_at: isoDate, rotated_at: nullableDate });

export const WebhookDelivery = z.object({
  id: z.string(),
  webhook_id: z.string(),
  event_type: z.string(),
  job_id: z.string().nullable(),
  target: z.enum(['callback_url', 'endpoint']),
  endpoint_id: z.string().nullable(),
  url: z.string(),
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attempts: z.int(),
  next_attempt_at: nullableDate,
  last_status_code: z.int().nullable(),
  last_error: z.string().nullable(),
  delivered_at: nullableDate,
  created_at: isoDate,
  updated_at: isoDate,
  attempt_log: z.array(
    z.object({
      attempt: z.int(),
      status_code: z.int().nullable(),
      duration_ms: z.int(),
      error: z.string().nullable(),
      response_snippet: z.string().nullable(),
      webhook_timestamp: z.int(),
      at: isoDate,
    }),
  ),
});
sameShape<z.output<typeof WebhookDelivery>, ReturnType<typeof deliveryView>>(true);
export const WebhookDeliveryList = z.object({ data: z.array(WebhookDelivery), next_cursor: z.string().nullable() });

export const CreateApiKeyRequest = createApiKeySchema;
export const ApiKey = z.object({ id: z.string(), name: z.string(), tenant: z.string(), rate_limit: z.int().nullable(), created_at: isoDate, last_used_at: nullableDate, revoked_at: nullableDate });
sameShape<z.output<typeof ApiKey>, ApiKeyView>(true);
export const ApiKeyCreated = ApiKey.extend({ key: z.string().meta({ description: 'mf_live_<id>_<secret>: shown only here' }) });
export const ApiKeyList = z.object({ data: z.array(ApiKey) });

export const FacadeSubmitRequest = facadeSubmitSchema.meta({ description: "ModelsLab's removebg_mask body; key is a maskflow API key. Unknown fields are ignored." });
export const FacadeFetchRequest = z.object({ key: z.string().min(1) });
export const FacadeAnswer = z
  .object({
    status: z.enum(['processing', 'success', 'failed', 'error']),
    id: z.int().optional(),
    eta: z.number().optional(),
    tip: z.string().optional(),
    message: z.string().optional(),
    fetch_result: z.string().optional(),
    output: z.array(z.string()).optional(),
    proxy_links: z.array(z.string()).optional(),
    future_links: z.array(z.string()).optional(),
    generationTime: z.number().optional(),
    track_id: z.union([z.int(), z.string()]).nullable().optional(),
    retry_after: z.number().optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ description: "The provider's answer shapes: processing, success (outputs are maskflow's presigned URLs, or base64), failed, error." });

export const ProviderWebhookAnswer = z.object({ received: z.literal(true), outcome: z.string() });

const check = z.object({ status: z.enum(['up', 'down']), responseTime: z.number().optional(), message: z.string().optional() }).catchall(z.unknown());
export const HealthLive = z.object({ status: z.literal('ok') });
export const HealthReady = z.object({ status: z.literal('ok'), details: z.record(z.string(), check).meta({ description: 'postgres, redis, s3, provider (and provider_fallback)' }) });

export const Dashboard = z.object({
  generated_at: isoDate,
  provider: z.object({ slots_in_use: z.int(), slots_limit: z.int(), tenant_slots_in_use: z.int() }),
  queues: z.array(z.object({ name: z.string(), waiting: z.int(), active: z.int(), delayed: z.int(), failed: z.int(), oldest_waiting_seconds: z.number().nullable() })),
  jobs_last_24h: z.record(z.string(), z.int()),
  batches: z.array(Batch),
  recent_failures: z.array(Job),
  recent_cutouts: z.array(Job),
});
sameShape<z.output<typeof Dashboard>, DashboardView>(true);

/** Request bodies are documented as clients send them (zod input), answers as the server writes them (output). */
export const REQUEST_SCHEMAS = { CreateJobRequest, CreateBatchRequest, CreateWebhookEndpointRequest, CreateApiKeyRequest, FacadeSubmitRequest, FacadeFetchRequest, RemovebgOptions };
export const RESPONSE_SCHEMAS = {
  Job,
  JobList,
  Output,
  ErrorAnswer,
  Batch,
  BatchCreated,
  BatchRetried,
  BatchList,
  BatchResultLine,
  WebhookEndpoint,
  WebhookEndpointList,
  WebhookSecret,
  WebhookDelivery,
  WebhookDeliveryList,
  ApiKey,
  ApiKeyCreated,
  ApiKeyList,
  FacadeAnswer,
  ProviderWebhookAnswer,
  HealthLive,
  HealthReady,
  Dashboard,
};
