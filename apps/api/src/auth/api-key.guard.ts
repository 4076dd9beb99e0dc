import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiErrorCode } from '../../../../libs/contracts/src/index.js';
import { ApiKeyResolver, DEFAULT_TENANT, type Principal } from '../access/api-key-resolver.service.js';
import { RateLimiter, rateLimitHeaders } from '../access/rate-limiter.service.js';
import { ApiError } from '../errors/api-error.js';

export { DEFAULT_TENANT };

export interface AuthedRequest extends Request {
  tenantId: string;
  principal: Principal;
}

/**
 * `Authorization: Bearer <key>`: resolves the key to its tenant (req.tenantId, which every tenant-owned
 * query filters by) and counts the request against the key's rate limit, answering RateLimit-* headers
 * on every answer and 429 `rate_limited` with Retry-After once the limit is spent.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly resolver: ApiKeyResolver,
    private readonly limiter: RateLimiter,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const res = ctx.switchToHttp().getResponse<Response>();
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new ApiError(401, ApiErrorCode.Unauthorized, 'send an API key as "Authorization: Bearer <key>"');
    const principal = await this.resolver.resolve(match[1]!);
    if (!principal) throw new ApiError(401, ApiErrorCode.Unauthorized, 'the API key is not valid');
    const limit = await this.limiter.hit(principal.keyId, principal.rateLimit);
    if (limit) {
      res.set(rateLimitHeaders(limit));
      if (!limit.allowed) {
        throw new ApiError(429, ApiErrorCode.RateLimited, `rate limit of ${limit.limit} requests per ${limit.windowSeconds} s reached; retry in ${limit.resetSeconds} s`, {
          limit: limit.limit,
          window_seconds: limit.windowSeconds,
          retry_after_seconds: limit.resetSeconds,
        });
      }
    }
    req.tenantId = principal.tenantId;
    req.principal = principal;
    return true;
  }
}
