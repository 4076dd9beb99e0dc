/** Validation of `POST /v1/webhook-endpoints`: `{url, events[], description?}`. */
import { ApiErrorCode } from './error-codes.js';
import { checkHttpUrl, type FieldIssue, type Validated } from './job-request.schema.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './webhook-events.js';

export interface CreateWebhookEndpointInput {
  url: string;
  events: WebhookEventType[];
  description: string | null;
}

const FIELDS = new Set(['url', 'events', 'description']);
const MAX_URL = 2048;
const MAX_DESCRIPTION = 500;

export function parseCreateWebhookEndpoint(body: unknown): Validated<CreateWebhookEndpointInput> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, issues: [{ field: '(body)', code: ApiErrorCode.InvalidType, message: 'the body must be a JSON object' }] };
  }
  const b = body as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  for (const key of Object.keys(b)) {
    if (!FIELDS.has(key)) issues.push({ field: key, code: ApiErrorCode.UnknownField, message: `${key} is not a known field (allowed: ${[...FIELDS].join(', ')})` });
  }
  if (typeof b.url !== 'string') {
    issues.push({ field: 'url', code: b.url === undefined ? ApiErrorCode.ValidationFailed : ApiErrorCode.InvalidType, message: 'url must be an http(s) URL string' });
  } else if (b.url.length > MAX_URL) {
    issues.push({ field: 'url', code: ApiErrorCode.ValidationFailed, message: `url must be at most ${MAX_URL} characters long` });
  } else {
    const bad = checkHttpUrl('url', b.url);
    if (bad) issues.push(bad);
  }
  if (!Array.isArray(b.events) || b.events.length === 0 || !b.events.every((e) => typeof e === 'string')) {
    issues.push({ field: 'events', code: Array.isArray(b.events) || b.events === undefined ? ApiErrorCode.ValidationFailed : ApiErrorCode.InvalidType, message: `events must be a non-empty list of event types (${WEBHOOK_EVENT_TYPES.join(', ')})` });
  } else {
    b.events.forEach((e, i) => {
      if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(e as string)) {
        issues.push({ field: `events.${i}`, code: ApiErrorCode.UnknownEventType, message: `events.${i}: "${String(e)}" is not an event type (${WEBHOOK_EVENT_TYPES.join(', ')})` });
      }
    });
  }
  if (b.description !== undefined && b.description !== null && (typeof b.description !== 'string' || b.description.length > MAX_DESCRIPTION)) {
    issues.push({ field: 'description', code: typeof b.description === 'string' ? ApiErrorCode.ValidationFailed : ApiErrorCode.InvalidType, message: `description must be a string of at most ${MAX_DESCRIPTION} characters` });
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: { url: b.url as string, events: [...new Set(b.events as WebhookEventType[])], description: (b.description as string | undefined) ?? null } };
}
