import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { APP_CONFIG, type AppConfig } from '../../../../libs/config/src/index.js';
import { ApiErrorCode } from '../../../../libs/contracts/src/index.js';
import { ApiError } from '../errors/api-error.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** A constant-time check of a presented secret against ADMIN_API_KEY; undefined when the admin key is not set. */
export function adminKeyMatcher(adminKey: string | undefined): ((presented: string) => boolean) | undefined {
  if (!adminKey) return undefined;
  const expected = digest(adminKey);
  return (presented) => timingSafeEqual(digest(presented), expected);
}

/** /v1/admin: `Authorization: Bearer <ADMIN_API_KEY>`; off (403) when ADMIN_API_KEY is not set. */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  private readonly matches: ((presented: string) => boolean) | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.matches = adminKeyMatcher(config.access.adminApiKey);
  }

  canActivate(ctx: ExecutionContext): boolean {
    if (!this.matches) throw new ApiError(403, ApiErrorCode.Forbidden, 'the admin API is off: set ADMIN_API_KEY to use it');
    const header = ctx.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match || !this.matches(match[1]!)) {
      throw new ApiError(401, ApiErrorCode.Unauthorized, 'send the admin key as "Authorization: Bearer <ADMIN_API_KEY>"');
    }
    return true;
  }
}
