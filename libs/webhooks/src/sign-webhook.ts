/**
 * Standard Webhooks signing: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` keyed with the decoded
 * `whsec_` secret. Several secrets (during a rotation) give several space-separated signatures.
 */
import { createHmac } from 'node:crypto';
import { webhookSecretKey } from './webhook-secret.js';

export function webhookSignature(secret: string, id: string, timestampSeconds: number, body: string | Buffer): string {
  const hmac = createHmac('sha256', webhookSecretKey(secret));
  hmac.update(`${id}.${timestampSeconds}.`);
  hmac.update(body);
  return `v1,${hmac.digest('base64')}`;
}

/** The three headers of one delivery attempt. */
export function signWebhook(secrets: readonly string[], id: string, timestampSeconds: number, body: string): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  if (secrets.length === 0) throw new TypeError('at least one secret is needed to sign a webhook');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets.map((s) => webhookSignature(s, id, timestampSeconds, body)).join(' '),
  };
}
