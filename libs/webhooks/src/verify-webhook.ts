/**
 * For consumers written in TypeScript: checks a maskflow webhook (any Standard Webhooks sender, in fact).
 *
 *   import { verifyWebhook } from 'maskflow/libs/webhooks/src/verify-webhook.js';
 *   const { id, timestamp } = verifyWebhook(process.env.MASKFLOW_WEBHOOK_SECRET, req.headers, rawBody);
 *
 * Pass the raw body exactly as received (not re-serialised JSON). During a secret rotation pass both secrets.
 * Throws a WebhookVerificationError subclass: missing headers, a timestamp outside the tolerance (replays),
 * or no valid `v1` signature. Deduplicate on the returned `id` (the same for every retry of an event).
 * Depends on node:crypto only.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export class WebhookVerificationError extends Error {
  constructor(
    readonly code: 'missing_header' | 'invalid_timestamp' | 'timestamp_too_old' | 'timestamp_too_new' | 'invalid_signature' | 'invalid_secret',
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
export class WebhookMissingHeaderError extends WebhookVerificationError {}
export class WebhookTimestampError extends WebhookVerificationError {}
export class WebhookSignatureError extends WebhookVerificationError {}

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyOptions {
  /** How far `webhook-timestamp` may be from now, either way (default 300 s). */
  toleranceSeconds?: number;
  /** "Now" in milliseconds (tests). */
  now?: number;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : record[key];
  return Array.isArray(v) ? v[0] : v;
}

function secretKey(secret: string): Buffer {
  const raw = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = Buffer.from(raw, 'base64');
  if (raw.length === 0 || key.length === 0) throw new WebhookVerificationError('invalid_secret', 'the webhook secret is empty or not base64');
  return key;
}

/** Returns the message id and timestamp when one signature matches one of `secrets`; throws otherwise. */
export function verifyWebhook(secrets: string | readonly string[], headers: WebhookHeaders, rawBody: string | Buffer | Uint8Array, opts: VerifyOptions = {}): { id: string; timestamp: number } {
  const keys = (typeof secrets === 'string' ? [secrets] : [...secrets]).map(secretKey);
  if (keys.length === 0) throw new WebhookVerificationError('invalid_secret', 'no webhook secret given');
  const id = header(headers, 'webhook-id');
  const ts = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !ts || !signatures) {
    const missing = [!id && 'webhook-id', !ts && 'webhook-timestamp', !signatures && 'webhook-signature'].filter(Boolean).join(', ');
    throw new WebhookMissingHeaderError('missing_header', `missing header(s): ${missing}`);
  }
  if (!/^\d{1,15}$/.test(ts)) throw new WebhookTimestampError('invalid_timestamp', 'webhook-timestamp is not a number of seconds');
  const timestamp = Number(ts);
  const nowSeconds = Math.floor((opts.now ?? Date.now()) / 1000);
  const tolerance = opts.toleranceSeconds ?? 300;
  if (timestamp < nowSeconds - tolerance) throw new WebhookTimestampError('timestamp_too_old', 'webhook-timestamp is too old');
  if (timestamp > nowSeconds + tolerance) throw new WebhookTimestampError('timestamp_too_new', 'webhook-timestamp is in the future');

  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody);
  const expected = keys.map((key) => createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest());
  for (const candidate of signatures.split(' ')) {
    const comma = candidate.indexOf(',');
    if (comma < 0 || candidate.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(candidate.slice(comma + 1), 'base64');
    if (expected.some((e) => e.length === given.length && timingSafeEqual(e, given))) return { id, timestamp };
  }
  throw new WebhookSignatureError('invalid_signature', 'no matching v1 signature');
}
