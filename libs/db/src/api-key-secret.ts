/**
 * Managed API keys look like `mf_live_<id>_<secret>`: the id (12 lowercase base32 characters) finds the row,
 * the 256-bit secret makes the key unguessable, and only the sha256 of the whole key is stored.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const MANAGED_KEY_PREFIX = 'mf_live_';
const KEY_RE = /^mf_live_([a-z2-7]{12})_([A-Za-z0-9_-]{43})$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A fresh key and what is stored of it. */
export function generateApiKey(): { id: string; key: string; keyHash: string } {
  const id = [...randomBytes(12)].map((b) => BASE32[b & 31]).join('');
  const key = `${MANAGED_KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
  return { id, key, keyHash: hashApiKey(key) };
}

/** The id of a well-formed managed key, or null (then it is not a managed key at all). */
export function managedKeyId(key: string): string | null {
  return KEY_RE.exec(key)?.[1] ?? null;
}

/** Constant-time comparison of a presented key with a stored hash. */
export function apiKeyMatches(key: string, storedHash: string): boolean {
  const given = createHash('sha256').update(key).digest();
  const stored = Buffer.from(storedHash, 'hex');
  return stored.length === given.length && timingSafeEqual(given, stored);
}

export const TENANT_ID_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
