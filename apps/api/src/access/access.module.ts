import { Global, Module } from '@nestjs/common';
import { AdminApiKeysController } from './admin-api-keys.controller.js';
import { AdminKeyGuard } from './admin-key.guard.js';
import { ApiKeyResolver } from './api-key-resolver.service.js';
import { RateLimiter } from './rate-limiter.service.js';

/** Who may call: API keys (env and managed), their tenants and rate limits, and the admin API for keys. */
@Global()
@Module({
  controllers: [AdminApiKeysController],
  providers: [ApiKeyResolver, RateLimiter, AdminKeyGuard],
  exports: [ApiKeyResolver, RateLimiter],
})
export class AccessModule {}
