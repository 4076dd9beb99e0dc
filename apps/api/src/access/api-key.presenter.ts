import type { ApiKeyRecord } from '../../../../libs/db/src/index.js';

export interface ApiKeyView {
  id: string;
  name: string;
  tenant: string;
  rate_limit: number | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** A key's public fields (never its hash; the key itself is only in the creation answer). */
export function presentApiKey(r: ApiKeyRecord): ApiKeyView {
  return {
    id: r.id,
    name: r.name,
    tenant: r.tenantId,
    rate_limit: r.rateLimit,
    created_at: r.createdAt.toISOString(),
    last_used_at: r.lastUsedAt?.toISOString() ?? null,
    revoked_at: r.revokedAt?.toISOString() ?? null,
  };
}
