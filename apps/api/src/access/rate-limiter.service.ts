/**
 * Per-key request limit, shared by every api replica: a fixed window counted in Redis by one Lua script
 * (INCR + expiry), so concurrent requests on any replica see one counter.
 */
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, createLogger, type AppConfig } from '../../../../libs/config/src/index.js';
import { QueueService } from '../../../../libs/queue/src/index.js';

const WINDOW_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`;

export interface RateLimitState {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
  windowSeconds: number;
}

const log = createLogger('api.ratelimit');

@Injectable()
export class RateLimiter {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly queues: QueueService,
  ) {}

  /** Counts one request of `keyId` against `limit` (0 = unlimited: null). Fails open if Redis is away. */
  async hit(keyId: string, limit: number): Promise<RateLimitState | null> {
    if (limit <= 0) return null;
    const windowSeconds = this.config.access.rateLimit.windowSeconds;
    try {
      const [count, ttlMs] = (await this.queues.connection.eval(WINDOW_SCRIPT, 1, `${this.config.redis.prefix}:ratelimit:${keyId}`, windowSeconds * 1000)) as [number, number];
      return { allowed: count <= limit, limit, remaining: Math.max(0, limit - count), resetSeconds: Math.max(1, Math.ceil(ttlMs / 1000)), windowSeconds };
    } catch (err) {
      log.warn({ err, keyId }, 'rate limit check failed; letting the request through');
      return null;
    }
  }
}

/** The IETF draft headers (RateLimit-Limit/Remaining/Reset, RateLimit-Policy) and Retry-After when refused. */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    'RateLimit-Limit': String(state.limit),
    'RateLimit-Remaining': String(state.remaining),
    'RateLimit-Reset': String(state.resetSeconds),
    'RateLimit-Policy': `${state.limit};w=${state.windowSeconds}`,
    ...(state.allowed ? {} : { 'Retry-After': String(state.resetSeconds) }),
  };
}
