import { JobErrorCode } from '../../contracts/src/index.js';

/** 429, 5xx, timeouts, network failures: worth another try. `retryAfterMs` is the provider's own hint. */
export class RetryableProviderError extends Error {
  override readonly name = 'RetryableProviderError';
  constructor(
    message: string,
    readonly code: string,
    readonly httpStatus?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
  /** A rate limit answer: parked for retry_after without spending one of the job's attempts. */
  get isRateLimit(): boolean {
    return this.retryAfterMs !== undefined;
  }
}

/** 400/401/402/403 and answers we cannot understand: retrying blindly would not help. */
export class PermanentProviderError extends Error {
  override readonly name = 'PermanentProviderError';
  constructor(
    message: string,
    readonly code: string,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

export function classifyHttpError(status: number, message: string, retryAfterSeconds: number | undefined): RetryableProviderError | PermanentProviderError {
  if (status === 429) return new RetryableProviderError(message, 'provider_rate_limited', status, Math.max(0, retryAfterSeconds ?? 30) * 1000);
  if (status === 400 || status === 404 || status === 422) return new PermanentProviderError(message, JobErrorCode.ProviderBadRequest, status);
  if (status === 401) return new PermanentProviderError(message, JobErrorCode.ProviderUnauthorized, status);
  if (status === 402) return new PermanentProviderError(message, JobErrorCode.ProviderPaymentRequired, status);
  if (status === 403) return new PermanentProviderError(message, JobErrorCode.ProviderForbidden, status);
  if (status === 408 || status >= 500) return new RetryableProviderError(message, JobErrorCode.ProviderUnavailable, status);
  return new PermanentProviderError(message, JobErrorCode.ProviderBadRequest, status);
}
