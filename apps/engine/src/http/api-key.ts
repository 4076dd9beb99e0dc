/** The provider's auth: `key` in the JSON body. Only checked when ENGINE_API_KEY is set. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { InvalidKeyError } from './engine-errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function checkApiKey(expected: string | undefined, body: unknown): void {
  if (expected === undefined) return;
  const key = typeof body === 'object' && body !== null ? (body as { key?: unknown }).key : undefined;
  if (typeof key !== 'string' || !timingSafeEqual(digest(key), digest(expected))) throw new InvalidKeyError();
}
