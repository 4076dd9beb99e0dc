import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/src/index.js';
import { PipelineMetrics } from '../../metrics/src/index.js';
import { JobErrorCode } from '../../contracts/src/index.js';
import { ModelslabClient } from './modelslab.client.js';
import { PermanentProviderError, RetryableProviderError } from './provider-errors.js';

/**
 * The configured provider and, with PROVIDER_FALLBACK=engine, the self-hosted engine that takes over a job
 * after a provider-side failure at the primary (402 out of credits, 5xx, timeouts).
 */
@Injectable()
export class ProviderClients {
  readonly primary: ModelslabClient;
  readonly fallback: ModelslabClient | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig, metrics: PipelineMetrics) {
    const p = config.provider;
    const count = (provider: string) => (operation: 'submit' | 'fetch', answer: string) => metrics.providerAnswers.inc({ provider, operation, class: answer });
    this.primary = new ModelslabClient(p.kind, p.baseUrl, p.apiKey, p.timeoutMs, count(p.kind));
    const fallbackName = p.fallback ? `${p.fallback.kind}-fallback` : '';
    this.fallback = p.fallback ? new ModelslabClient(fallbackName, p.fallback.baseUrl, p.fallback.apiKey, p.timeoutMs, count(fallbackName)) : undefined;
  }

  /** The client an attempt was sent through. */
  forAttempt(provider: string): ModelslabClient {
    if (this.fallback && provider === this.fallback.name) return this.fallback;
    return this.primary;
  }

  /** Whether a failure at the primary should send the job to the fallback instead of retrying or failing. */
  shouldFallBack(provider: string, err: unknown): boolean {
    if (!this.fallback || provider !== this.primary.name) return false;
    if (err instanceof RetryableProviderError) return !err.isRateLimit;
    return err instanceof PermanentProviderError && err.code === JobErrorCode.ProviderPaymentRequired;
  }
}
