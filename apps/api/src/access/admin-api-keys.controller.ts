import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { ApiErrorCode } from '../../../../libs/contracts/src/index.js';
import { ApiKeyRepository } from '../../../../libs/db/src/index.js';
import { ApiError } from '../errors/api-error.js';
import { AdminKeyGuard } from './admin-key.guard.js';
import { presentApiKey, type ApiKeyView } from './api-key.presenter.js';
import { createApiKeySchema } from './create-api-key.schema.js';

const KEY_ID_RE = /^[a-z2-7]{12}$/;

/** Managed API keys for operators. The key is in the creation answer only; it is stored as a hash. */
@Controller('v1/admin/api-keys')
@UseGuards(AdminKeyGuard)
export class AdminApiKeysController {
  constructor(private readonly keys: ApiKeyRepository) {}

  @Post()
  @HttpCode(201)
  async create(@Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<ApiKeyView & { key: string }> {
    const parsed = createApiKeySchema.safeParse(body ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({
        field: i.code === 'unrecognized_keys' ? i.keys.join(',') : i.path.join('.') || '(body)',
        code: i.code === 'unrecognized_keys' ? ApiErrorCode.UnknownField : i.code === 'invalid_type' ? ApiErrorCode.InvalidType : ApiErrorCode.ValidationFailed,
        message: `${i.path.join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(', ') : 'body')}: ${i.message}`,
      }));
      throw ApiError.fromIssues(issues);
    }
    const { record, key } = await this.keys.create({ tenantId: parsed.data.tenant, name: parsed.data.name, rateLimit: parsed.data.rate_limit });
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Location', `/v1/admin/api-keys/${record.id}`);
    return { ...presentApiKey(record), key };
  }

  @Get()
  async list(@Query('tenant') tenant?: string, @Query('include_revoked') includeRevoked?: string): Promise<{ data: ApiKeyView[] }> {
    const rows = await this.keys.list({ tenantId: tenant, includeRevoked: includeRevoked !== 'false' });
    return { data: rows.map(presentApiKey) };
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<ApiKeyView> {
    const row = KEY_ID_RE.test(id) ? await this.keys.get(id) : null;
    if (!row) throw new ApiError(404, ApiErrorCode.NotFound, `no API key ${id}`);
    return presentApiKey(row);
  }

  /** Revokes the key; every replica refuses it within API_KEY_CACHE_TTL_MS. */
  @Delete(':id')
  @HttpCode(200)
  async revoke(@Param('id') id: string): Promise<ApiKeyView> {
    const row = KEY_ID_RE.test(id) ? await this.keys.revoke(id) : null;
    if (!row) throw new ApiError(404, ApiErrorCode.NotFound, `no API key ${id}`);
    return presentApiKey(row);
  }
}
