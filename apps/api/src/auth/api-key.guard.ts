import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { APP_CONFIG, type AppConfig } from '../../../../libs/config/src/index.js';
import { ApiErrorCode } from '../../../../libs/contracts/src/index.js';
import { ApiError } from '../errors/api-error.js';

export interface AuthedRequest extends Request {
  tenantId: string;
}

/** Until managed keys exist, every key in API_KEYS belongs to the tenant "default". */
export const DEFAULT_TENANT = 'default';

const digest = (s: string) => createHash('sha256').update(s).digest();

@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: Buffer[];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.keys = config.apiKeys.map(digest);
  }

  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new ApiError(401, ApiErrorCode.Unauthorized, 'send an API key as "Authorization: Bearer <key>"');
    const given = digest(match[1]!);
    // Compare against every key so the time taken does not depend on which one matched.
    let ok = false;
    for (const key of this.keys) ok = timingSafeEqual(given, key) || ok;
    if (!ok) throw new ApiError(401, ApiErrorCode.Unauthorized, 'the API key is not valid');
    req.tenantId = DEFAULT_TENANT;
    return true;
  }
}
