import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { APP_CONFIG, type AppConfig } from '../../../../libs/config/src/index.js';
import { ApiErrorCode } from '../../../../libs/contracts/src/index.js';
import { ApiError } from '../errors/api-error.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** /v1/admin: `Authorization: Bearer <ADMIN_API_KEY>`; off (403) when ADMIN_API_KEY is not set. */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  private readonly admin: Buffer | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.admin = config.access.adminApiKey ? digest(config.access.adminApiKey) : undefined;
  }

  canActivate(ctx: ExecutionContext): boolean {
    if (!this.admin) throw new ApiError(403, ApiErrorCode.Forbidden, 'the admin API is off: set ADMIN_API_KEY to use it');
    const header = ctx.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1]!), this.admin)) {
      throw new ApiError(401, ApiErrorCode.Unauthorized, 'send the admin key as "Authorization: Bearer <ADMIN_API_KEY>"');
    }
    return true;
  }
}
