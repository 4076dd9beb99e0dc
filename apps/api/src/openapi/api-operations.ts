/**
 * What the OpenAPI document says about each route, keyed by "METHOD /path" as Nest serves it. The document
 * builder fails when a route has no entry here or an entry matches no route, so the two cannot drift apart.
 * Bodies and answers name schemas of api-schemas.ts (components/schemas).
 */
type SchemaName = string;
type Content = SchemaName | { [mediaType: string]: SchemaName | Record<string, unknown> };

export interface OperationDoc {
  tag: 'jobs' | 'batches' | 'webhooks' | 'facade' | 'admin' | 'health' | 'provider';
  summary: string;
  description?: string;
  auth: 'bearer' | 'admin' | 'body-key' | 'none';
  query?: { name: string; description: string; schema?: Record<string, unknown> }[];
  headers?: { name: string; description: string }[];
  body?: Content;
  responses: Record<number, { description: string; content?: Content }>;
}

const multipartJob = {
  type: 'object',
  required: ['image'],
  properties: {
    image: { type: 'string', contentMediaType: 'application/octet-stream', description: 'the image file' },
    options: { type: 'string', contentMediaType: 'application/json', description: 'RemovebgOptions as JSON' },
    metadata: { type: 'string', contentMediaType: 'application/json', description: 'an object as JSON' },
    track_id: { type: 'string' },
    callback_url: { type: 'string' },
  },
};
const idem = { name: 'Idempotency-Key', description: '1 to 255 visible ASCII characters; the same key answers the original (Idempotent-Replayed: true)' };
const page = [
  { name: 'limit', description: '1 to 200 (default 50)', schema: { type: 'integer', minimum: 1, maximum: 200 } },
  { name: 'cursor', description: 'next_cursor of the previous page' },
];
const e401 = { 401: { description: 'unauthorized', content: 'ErrorAnswer' } };
const e404 = { 404: { description: 'not_found (also for another tenant\'s id)', content: 'ErrorAnswer' } };
const e409 = { 409: { description: 'invalid_state', content: 'ErrorAnswer' } };
const e422 = { 422: { description: 'a field issue, by code (details lists every issue)', content: 'ErrorAnswer' } };
const e429 = { 429: { description: 'rate_limited (Retry-After)', content: 'ErrorAnswer' } };
const facadeErr = { description: "The provider's error shape {status: 'error', message}", content: 'FacadeAnswer' };

export const API_OPERATIONS: Record<string, OperationDoc> = {
  'POST /v1/jobs': {
    tag: 'jobs',
    summary: 'Create a job (202 at once)',
    auth: 'bearer',
    headers: [idem],
    body: { 'application/json': 'CreateJobRequest', 'multipart/form-data': multipartJob },
    responses: { 202: { description: 'the job, queued (Location: /v1/jobs/{id})', content: 'Job' }, 400: { description: 'invalid_json, invalid_type, unknown_field', content: 'ErrorAnswer' }, ...e401, 413: { description: 'payload_too_large', content: 'ErrorAnswer' }, 415: { description: 'unsupported_media_type', content: 'ErrorAnswer' }, ...e422, ...e429 },
  },
  'GET /v1/jobs': {
    tag: 'jobs',
    summary: 'List jobs, newest first',
    auth: 'bearer',
    query: [{ name: 'state', description: 'queued, submitting, processing, storing, succeeded, failed, canceled' }, { name: 'track_id', description: 'exact track id' }, ...page],
    responses: { 200: { description: 'a page of jobs', content: 'JobList' }, ...e401, ...e422 },
  },
  'GET /v1/jobs/{id}': { tag: 'jobs', summary: 'A job, with presigned output URLs', auth: 'bearer', responses: { 200: { description: 'the job', content: 'Job' }, ...e401, ...e404 } },
  'POST /v1/jobs/{id}/cancel': { tag: 'jobs', summary: 'Cancel a non-terminal job', auth: 'bearer', responses: { 200: { description: 'the canceled job', content: 'Job' }, ...e401, ...e404, ...e409 } },
  'POST /v1/jobs/{id}/retry': { tag: 'jobs', summary: 'Run a failed or canceled job again', auth: 'bearer', responses: { 202: { description: 'the job, queued', content: 'Job' }, ...e401, ...e404, ...e409 } },

  'POST /v1/batches': {
    tag: 'batches',
    summary: 'Create a batch (JSON, NDJSON or CSV; all or nothing)',
    auth: 'bearer',
    headers: [idem],
    query: [
      { name: 'strict', description: 'true: one bad row answers 422 batch_rejected and nothing is written' },
      { name: 'options', description: 'batch default options (JSON)' },
      { name: 'callback_url', description: 'batch callback URL' },
      { name: 'metadata', description: 'batch metadata (JSON)' },
    ],
    body: { 'application/json': 'CreateBatchRequest', 'application/x-ndjson': { type: 'string', description: 'one item per line; an optional first line {"batch": {options, callback_url, metadata}}' }, 'text/csv': { type: 'string', description: 'header row: image_url, external_id, track_id, callback_url, metadata and option columns' } },
    responses: { 202: { description: 'the batch and its rejected rows', content: 'BatchCreated' }, 400: { description: 'invalid_csv, unknown_field, invalid_type', content: 'ErrorAnswer' }, ...e401, 413: { description: 'batch_too_large', content: 'ErrorAnswer' }, 415: { description: 'unsupported_media_type', content: 'ErrorAnswer' }, 422: { description: 'batch_empty, batch_rejected', content: 'ErrorAnswer' } },
  },
  'GET /v1/batches': { tag: 'batches', summary: 'List batches, newest first', auth: 'bearer', query: [{ name: 'state', description: 'running, completed, canceled' }, ...page], responses: { 200: { description: 'a page of batches', content: 'BatchList' }, ...e401 } },
  'GET /v1/batches/{id}': { tag: 'batches', summary: 'A batch with counts, progress and ETA', auth: 'bearer', responses: { 200: { description: 'the batch', content: 'Batch' }, ...e401, ...e404 } },
  'GET /v1/batches/{id}/results': {
    tag: 'batches',
    summary: 'Every item in line order, streamed',
    auth: 'bearer',
    query: [{ name: 'state', description: 'only items in this state' }, { name: 'after', description: 'resume after this line' }],
    responses: { 200: { description: 'NDJSON (one BatchResultLine per line, default) or CSV by Accept', content: { 'application/x-ndjson': 'BatchResultLine', 'text/csv': { type: 'string', description: 'line,external_id,job_id,state,output_urls,output_sha256,error_code,error_message,completed_at' } } }, ...e401, ...e404, 406: { description: 'not_acceptable', content: 'ErrorAnswer' } },
  },
  'POST /v1/batches/{id}/cancel': { tag: 'batches', summary: 'Cancel a running batch and its unfinished items', auth: 'bearer', responses: { 200: { description: 'the batch', content: 'Batch' }, ...e401, ...e404, ...e409 } },
  'POST /v1/batches/{id}/retry-failed': { tag: 'batches', summary: 'Run the failed items again', auth: 'bearer', responses: { 202: { description: 'the batch with retried: n', content: 'BatchRetried' }, ...e401, ...e404, ...e409 } },

  'POST /v1/webhook-endpoints': { tag: 'webhooks', summary: 'Subscribe an endpoint to event types', auth: 'bearer', body: 'CreateWebhookEndpointRequest', responses: { 201: { description: 'the endpoint with its whsec_ secret (shown only here and at rotation)', content: 'WebhookEndpoint' }, 400: { description: 'unknown_field, invalid_type', content: 'ErrorAnswer' }, ...e401, ...e422 } },
  'GET /v1/webhook-endpoints': { tag: 'webhooks', summary: "The tenant's endpoints", auth: 'bearer', responses: { 200: { description: 'endpoints (without secrets)', content: 'WebhookEndpointList' }, ...e401 } },
  'GET /v1/webhook-endpoints/{id}': { tag: 'webhooks', summary: 'An endpoint', auth: 'bearer', responses: { 200: { description: 'the endpoint', content: 'WebhookEndpoint' }, ...e401, ...e404 } },
  'DELETE /v1/webhook-endpoints/{id}': { tag: 'webhooks', summary: 'Delete an endpoint (its pending deliveries are canceled)', auth: 'bearer', responses: { 204: { description: 'deleted' }, ...e401, ...e404 } },
  'POST /v1/webhook-endpoints/{id}/rotate-secret': { tag: 'webhooks', summary: 'A new secret; the old one keeps signing for WEBHOOK_SECRET_GRACE_SECONDS', auth: 'bearer', responses: { 200: { description: 'the endpoint with its new secret', content: 'WebhookEndpoint' }, ...e401, ...e404 } },
  'POST /v1/webhook-endpoints/{id}/enable': { tag: 'webhooks', summary: 'Re-enable an endpoint disabled by a 410', auth: 'bearer', responses: { 200: { description: 'the endpoint', content: 'WebhookEndpoint' }, ...e401, ...e404 } },
  'GET /v1/webhook-secret': { tag: 'webhooks', summary: 'The secret that signs callback_url deliveries', auth: 'bearer', responses: { 200: { description: 'the secret', content: 'WebhookSecret' }, ...e401 } },
  'POST /v1/webhook-secret/rotate': { tag: 'webhooks', summary: 'Rotate the callback secret (with the same grace)', auth: 'bearer', responses: { 200: { description: 'the new secret', content: 'WebhookSecret' }, ...e401 } },
  'GET /v1/webhook-deliveries': {
    tag: 'webhooks',
    summary: 'Deliveries with every attempt, newest first',
    auth: 'bearer',
    query: [{ name: 'job_id', description: 'deliveries of one job' }, { name: 'endpoint_id', description: 'deliveries to one endpoint' }, { name: 'status', description: 'pending, succeeded, failed, canceled' }, ...page],
    responses: { 200: { description: 'a page of deliveries', content: 'WebhookDeliveryList' }, ...e401, ...e422 },
  },
  'GET /v1/webhook-deliveries/{id}': { tag: 'webhooks', summary: 'A delivery', auth: 'bearer', responses: { 200: { description: 'the delivery', content: 'WebhookDelivery' }, ...e401, ...e404 } },
  'POST /v1/webhook-deliveries/{id}/redeliver': { tag: 'webhooks', summary: 'Send the same event again now (same webhook-id)', auth: 'bearer', responses: { 202: { description: 'the delivery', content: 'WebhookDelivery' }, ...e401, ...e404, ...e409 } },

  'POST /api/v6/image_editing/removebg_mask': { tag: 'facade', summary: 'ModelsLab-compatible removebg_mask (key in the body)', auth: 'body-key', body: 'FacadeSubmitRequest', responses: { 200: { description: 'processing (fetch_result, eta)', content: 'FacadeAnswer' }, 400: facadeErr, 401: facadeErr, 429: facadeErr } },
  'POST /api/v6/image_editing/fetch/{id}': { tag: 'facade', summary: 'ModelsLab-compatible fetch', auth: 'body-key', body: 'FacadeFetchRequest', responses: { 200: { description: 'processing, success or failed', content: 'FacadeAnswer' }, 401: facadeErr, 404: facadeErr, 429: facadeErr } },

  'POST /v1/admin/api-keys': { tag: 'admin', summary: 'Create a managed API key', auth: 'admin', body: 'CreateApiKeyRequest', responses: { 201: { description: 'the key record and the key (only here)', content: 'ApiKeyCreated' }, 400: { description: 'unknown_field, invalid_type', content: 'ErrorAnswer' }, ...e401, ...e422 } },
  'GET /v1/admin/api-keys': { tag: 'admin', summary: 'List managed keys', auth: 'admin', query: [{ name: 'tenant', description: "one tenant's keys" }, { name: 'include_revoked', description: 'false to hide revoked keys' }], responses: { 200: { description: 'keys (never the key or its hash)', content: 'ApiKeyList' }, ...e401 } },
  'GET /v1/admin/api-keys/{id}': { tag: 'admin', summary: 'A managed key', auth: 'admin', responses: { 200: { description: 'the key record', content: 'ApiKey' }, ...e401, ...e404 } },
  'DELETE /v1/admin/api-keys/{id}': { tag: 'admin', summary: 'Revoke a key (every replica within API_KEY_CACHE_TTL_MS)', auth: 'admin', responses: { 200: { description: 'the revoked key record', content: 'ApiKey' }, ...e401, ...e404 } },

  'POST /webhooks/modelslab/{attemptId}/{token}': { tag: 'provider', summary: "The provider's callback (not for clients)", auth: 'none', body: { 'application/json': { type: 'string', description: "the provider's payload" } }, responses: { 200: { description: 'received', content: 'ProviderWebhookAnswer' }, 401: { description: 'wrong token', content: 'ErrorAnswer' }, 404: { description: 'unknown attempt', content: 'ErrorAnswer' } } },

  'GET /dashboard': { tag: 'health', summary: 'The operator dashboard (one HTML page; asks for an API key)', auth: 'none', responses: { 200: { description: 'the page', content: { 'text/html': { type: 'string' } } } } },
  'GET /v1/dashboard': { tag: 'jobs', summary: "What the dashboard shows: provider slots, queues, the tenant's last 24 h, batches, recent failures and cut-outs", auth: 'bearer', responses: { 200: { description: 'the dashboard data', content: 'Dashboard' }, ...e401 } },
  'GET /health/live': { tag: 'health', summary: 'Liveness: the process answers', auth: 'none', responses: { 200: { description: 'alive', content: 'HealthLive' } } },
  'GET /health/ready': { tag: 'health', summary: 'Readiness: Postgres, Redis, S3 and the provider answer', auth: 'none', responses: { 200: { description: 'every dependency is up', content: 'HealthReady' }, 503: { description: 'not_ready: the message names what is down; details has every check', content: 'ErrorAnswer' } } },
  'GET /metrics': { tag: 'health', summary: 'Prometheus metrics (text format)', auth: 'none', responses: { 200: { description: 'text/plain; version=0.0.4', content: { 'text/plain': { type: 'string' } } } } },
};
