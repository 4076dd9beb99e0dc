/**
 * Our signer and verifier against the published Standard Webhooks test vector (the reference library's
 * tests, libraries/javascript/src/webhook.test.ts in github.com/standard-webhooks/standard-webhooks) and
 * against the `standardwebhooks` npm package as an independent implementation, both ways.
 */
import { Webhook } from 'standardwebhooks';
import {
  WebhookMissingHeaderError,
  WebhookSignatureError,
  WebhookTimestampError,
  WebhookVerificationError,
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  webhookSignature,
} from './index.js';

// The spec repository's vector: secret, message id, timestamp, payload and the expected signature.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const at = (seconds: number) => seconds * 1000;
const headersOf = (signature: string, id = VECTOR.id, ts = VECTOR.timestamp) => ({ 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature });

describe('the published test vector', () => {
  it('signs exactly as the spec says, with or without the whsec_ prefix', () => {
    expect(webhookSignature(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.payload)).toBe(VECTOR.signature);
    expect(webhookSignature(VECTOR.secret.slice(6), VECTOR.id, VECTOR.timestamp, VECTOR.payload)).toBe(VECTOR.signature);
    expect(signWebhook([VECTOR.secret], VECTOR.id, VECTOR.timestamp, VECTOR.payload)['webhook-signature']).toBe(VECTOR.signature);
  });

  it('verifies the vector within the tolerance and returns its id and timestamp', () => {
    expect(verifyWebhook(VECTOR.secret, headersOf(VECTOR.signature), VECTOR.payload, { now: at(VECTOR.timestamp + 10) })).toEqual({ id: VECTOR.id, timestamp: VECTOR.timestamp });
    expect(verifyWebhook(VECTOR.secret, new Headers(headersOf(VECTOR.signature)), Buffer.from(VECTOR.payload), { now: at(VECTOR.timestamp) })).toEqual({ id: VECTOR.id, timestamp: VECTOR.timestamp });
  });

  it('accepts a list of signatures when one of them matches (rotation, other versions)', () => {
    const sigs = ['v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=', 'v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=', VECTOR.signature].join(' ');
    expect(verifyWebhook(VECTOR.secret, headersOf(sigs), VECTOR.payload, { now: at(VECTOR.timestamp) }).id).toBe(VECTOR.id);
  });

  it('refuses a bad, partial, empty or v2-only signature, a changed body and a wrong secret', () => {
    const now = { now: at(VECTOR.timestamp) };
    for (const bad of ['v1,dawfeoifkpqwoekfpqoekf', VECTOR.signature.slice(0, 8), 'v1,', 'v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=', 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=']) {
      expect(() => verifyWebhook(VECTOR.secret, headersOf(bad), VECTOR.payload, now)).toThrow(WebhookSignatureError);
    }
    expect(() => verifyWebhook(VECTOR.secret, headersOf(VECTOR.signature), '{"test": 2432232315}', now)).toThrow(WebhookSignatureError);
    expect(() => verifyWebhook(generateWebhookSecret(), headersOf(VECTOR.signature), VECTOR.payload, now)).toThrow(WebhookSignatureError);
    // The id and timestamp are signed too.
    expect(() => verifyWebhook(VECTOR.secret, headersOf(VECTOR.signature, 'msg_other'), VECTOR.payload, now)).toThrow(WebhookSignatureError);
    expect(() => verifyWebhook(VECTOR.secret, headersOf(VECTOR.signature, VECTOR.id, VECTOR.timestamp + 1), VECTOR.payload, now)).toThrow(WebhookSignatureError);
  });

  it('refuses missing headers and bad, old or future timestamps, with typed errors', () => {
    const now = { now: at(VECTOR.timestamp) };
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const h: Record<string, string> = headersOf(VECTOR.signature);
      delete h[name];
      const err = (() => {
        try {
          verifyWebhook(VECTOR.secret, h, VECTOR.payload, now);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(WebhookMissingHeaderError);
      expect((err as WebhookVerificationError).code).toBe('missing_header');
      expect((err as Error).message).toContain(name);
    }
    expect(() => verifyWebhook(VECTOR.secret, headersOf(VECTOR.signature, VECTOR.id, 'hello' as never), VECTOR.payload, now)).toThrow(WebhookTimestampError);
    expect(() => verifyWebhook(VECTOR.secret, headersOf(VECTOR.signature), VECTOR.payload, { now: at(VECTOR.timestamp + 301) })).toThrow(expect.objectContaining({ code: 'timestamp_too_old' }));
    expect(() => verifyWebhook(VECTOR.secret, headersOf(VECTOR.signature), VECTOR.payload, { now: at(VECTOR.timestamp - 301) })).toThrow(expect.objectContaining({ code: 'timestamp_too_new' }));
    expect(verifyWebhook(VECTOR.secret, headersOf(VECTOR.signature), VECTOR.payload, { now: at(VECTOR.timestamp + 1000), toleranceSeconds: 1000 }).id).toBe(VECTOR.id);
    expect(() => verifyWebhook('', headersOf(VECTOR.signature), VECTOR.payload, now)).toThrow(expect.objectContaining({ code: 'invalid_secret' }));
  });
});

describe('against the independent standardwebhooks package', () => {
  const body = JSON.stringify({ type: 'job.succeeded', timestamp: '2026-11-25T10:00:00.000Z', data: { id: 'j', outputs: [{ url: 'https://s3/x?X-Amz-Signature=abc' }], note: 'ünïcödé ✓' } });

  it('what we sign, it verifies; what it signs, we verify', () => {
    for (let i = 0; i < 20; i++) {
      const secret = generateWebhookSecret();
      const id = `msg_${i}`;
      const ts = Math.floor(Date.now() / 1000) - i;
      const ours = signWebhook([secret], id, ts, body);
      expect(() => new Webhook(secret).verify(body, ours)).not.toThrow();
      const theirs = new Webhook(secret).sign(id, new Date(ts * 1000), body);
      expect(theirs).toBe(ours['webhook-signature']);
      expect(verifyWebhook(secret, { ...ours, 'webhook-signature': theirs }, body).id).toBe(id);
    }
  });

  it('a rotation header (two signatures) verifies with either secret alone', () => {
    const [oldSecret, newSecret] = [generateWebhookSecret(), generateWebhookSecret()];
    const ts = Math.floor(Date.now() / 1000);
    const h = signWebhook([newSecret, oldSecret], 'msg_rot', ts, body);
    expect(h['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(oldSecret).verify(body, h)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(body, h)).not.toThrow();
    expect(() => new Webhook(generateWebhookSecret()).verify(body, h)).toThrow();
    expect(verifyWebhook([oldSecret], h, body).id).toBe('msg_rot');
  });

  it('generated secrets are whsec_ + base64 of 32 bytes', () => {
    const s = generateWebhookSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(s.slice(6), 'base64')).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(s);
  });
});
