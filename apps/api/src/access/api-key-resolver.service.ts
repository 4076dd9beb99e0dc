/**
 * Who is calling: an API key -> its tenant, key id and rate limit. Keys from API_KEYS belong to the tenant
 * "default"; managed keys (`mf_live_<id>_<secret>`) are read from Postgres by id and compared by hash in
 * constant time. What a replica read is trusted for API_KEY_CACHE_TTL_MS only, so a revocation made through
 * any replica (or the CLI) takes effect everywhere within that time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, createLogger, type AppConfig } from '../../../../libs/config/src/index.js';
import { ApiKeyRepository, apiKeyMatches, managedKeyId } from '../../../../libs/db/src/index.js';

/** Until managed keys exist, every key in API_KEYS belongs to the tenant "default". */
export const DEFAULT_TENANT = 'default';

export interface Principal {
  tenantId: string;
  /** Stable, non-secret id of the key (rate-limit bucket, logs). */
  keyId: string;
  /** Requests per window; 0 = unlimited. */
  rateLimit: number;
}

interface CachedKey {
  tenantId: string;
  keyHash: string;
  revoked: boolean;
  rateLimit: number | null;
}

const MAX_CACHED = 10_000;
const log = createLogger('api.auth');
const digest = (s: string) => createHash('sha256').update(s).digest();

@Injectable()
export class ApiKeyResolver {
  private readonly envKeys: { digest: Buffer; keyId: string }[];
  private readonly cache = new Map<string, { value: CachedKey | null; expiresAt: number }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: ApiKeyRepository,
  ) {
    this.envKeys = config.apiKeys.map((k) => ({ digest: digest(k), keyId: `env-${digest(k).toString('hex').slice(0, 12)}` }));
  }

  async resolve(key: string): Promise<Principal | null> {
    const id = managedKeyId(key);
    if (id === null) return this.resolveEnvKey(key);
    const row = await this.lookup(id);
    if (!row || row.revoked || !apiKeyMatches(key, row.keyHash)) return null;
    return { tenantId: row.tenantId, keyId: id, rateLimit: row.rateLimit ?? this.config.access.rateLimit.requests };
  }

  private resolveEnvKey(key: string): Principal | null {
    const given = digest(key);
    // Compare against every key so the time taken does not depend on which one matched.
    let match: string | null = null;
    for (const k of this.envKeys) if (timingSafeEqual(given, k.digest)) match ??= k.keyId;
    return match === null ? null : { tenantId: DEFAULT_TENANT, keyId: match, rateLimit: this.config.access.rateLimit.requests };
  }

  private async lookup(id: string): Promise<CachedKey | null> {
    const now = Date.now();
    const hit = this.cache.get(id);
    if (hit && hit.expiresAt > now) return hit.value;
    const row = await this.keys.findForAuth(id);
    const value = row ? { tenantId: row.tenantId, keyHash: row.keyHash, revoked: row.revokedAt !== null, rateLimit: row.rateLimit } : null;
    if (this.config.access.keyCacheTtlMs > 0) {
      this.cache.delete(id);
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(id, { value, expiresAt: now + this.config.access.keyCacheTtlMs });
    }
    if (value && !value.revoked) {
      this.keys.touch(id).catch((err: unknown) => log.warn({ err, keyId: id }, 'could not record last_used_at'));
    }
    return value;
  }
}
