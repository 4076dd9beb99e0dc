/** Tenants and managed API keys: creation (the key is returned once), listing, revocation, lookup by id. */
import { Injectable } from '@nestjs/common';
import { generateApiKey } from './api-key-secret.js';
import type { ApiKey } from './generated/client.js';
import { PrismaService } from './prisma.service.js';

export type ApiKeyRecord = Omit<ApiKey, 'keyHash'>;

const PUBLIC_FIELDS = { id: true, tenantId: true, name: true, rateLimit: true, createdAt: true, lastUsedAt: true, revokedAt: true } as const;

@Injectable()
export class ApiKeyRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Creates the key (and its tenant if new). The returned `key` is the only time the secret exists. */
  async create(input: { tenantId: string; name: string; rateLimit?: number | null }): Promise<{ record: ApiKeyRecord; key: string }> {
    const { id, key, keyHash } = generateApiKey();
    const record = await this.prisma.$transaction(async (tx) => {
      await tx.tenant.upsert({ where: { id: input.tenantId }, create: { id: input.tenantId }, update: {} });
      return tx.apiKey.create({
        data: { id, tenantId: input.tenantId, name: input.name, keyHash, rateLimit: input.rateLimit ?? null },
        select: PUBLIC_FIELDS,
      });
    });
    return { record, key };
  }

  list(filter: { tenantId?: string; includeRevoked?: boolean } = {}): Promise<ApiKeyRecord[]> {
    return this.prisma.apiKey.findMany({
      where: { ...(filter.tenantId ? { tenantId: filter.tenantId } : {}), ...(filter.includeRevoked === false ? { revokedAt: null } : {}) },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: PUBLIC_FIELDS,
    });
  }

  get(id: string): Promise<ApiKeyRecord | null> {
    return this.prisma.apiKey.findUnique({ where: { id }, select: PUBLIC_FIELDS });
  }

  /** With the hash, for authentication only. */
  findForAuth(id: string): Promise<ApiKey | null> {
    return this.prisma.apiKey.findUnique({ where: { id } });
  }

  /** Revokes once (a second call keeps the first revocation time). Null when there is no such key. */
  async revoke(id: string): Promise<ApiKeyRecord | null> {
    await this.prisma.$executeRaw`UPDATE api_keys SET revoked_at = now() WHERE id = ${id} AND revoked_at IS NULL`;
    return this.get(id);
  }

  /** Records use, at most once a minute per key (a conditional UPDATE, so replicas do not pile up writes). */
  async touch(id: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE api_keys SET last_used_at = now()
      WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')`;
  }
}
