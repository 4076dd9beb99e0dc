import { parseProviderAnswer, parseWebhookPayload } from './provider-answer.js';
import { PermanentProviderError, RetryableProviderError } from './provider-errors.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('parseProviderAnswer', () => {
  it('reads the three shapes', () => {
    expect(parseProviderAnswer(200, { status: 'success', id: 12, output: ['https://o/1.png'] }, 'submit')).toEqual({ kind: 'success', requestId: '12', outputs: ['https://o/1.png'] });
    expect(parseProviderAnswer(200, { status: 'processing', id: 13, eta: 7, output: [] }, 'submit')).toEqual({ kind: 'processing', requestId: '13', etaSeconds: 7 });
    const err = thrown(() => parseProviderAnswer(200, { status: 'error', messege: 'bad image' }, 'submit'));
    expect(err).toBeInstanceOf(PermanentProviderError);
    expect((err as Error).message).toBe('bad image');
  });

  it.each([
    [400, PermanentProviderError, 'provider_bad_request'],
    [401, PermanentProviderError, 'provider_unauthorized'],
    [402, PermanentProviderError, 'provider_payment_required'],
    [403, PermanentProviderError, 'provider_forbidden'],
    [500, RetryableProviderError, 'provider_unavailable'],
    [503, RetryableProviderError, 'provider_unavailable'],
  ])('classifies HTTP %i', (status, cls, code) => {
    const err = thrown(() => parseProviderAnswer(status, { status: 'error', message: 'x' }, 'submit'));
    expect(err).toBeInstanceOf(cls);
    expect((err as { code: string }).code).toBe(code);
  });

  it('turns 429 and an HTTP-200 error with retry_after into a rate limit with retryAfterMs', () => {
    const a = thrown(() => parseProviderAnswer(429, { status: 'error', message: 'Rate limit exceeded', retry_after: 3 }, 'submit')) as RetryableProviderError;
    expect(a.isRateLimit).toBe(true);
    expect(a.retryAfterMs).toBe(3000);
    const b = thrown(() => parseProviderAnswer(200, { status: 'error', message: 'slow down', retry_after: '2' }, 'submit')) as RetryableProviderError;
    expect(b.retryAfterMs).toBe(2000);
  });

  it('refuses unknown shapes and success without outputs', () => {
    expect((thrown(() => parseProviderAnswer(200, { status: 'queued' }, 'submit')) as PermanentProviderError).code).toBe('provider_invalid_answer');
    expect((thrown(() => parseProviderAnswer(200, { status: 'success', output: [] }, 'submit')) as PermanentProviderError).code).toBe('provider_invalid_answer');
    expect((thrown(() => parseProviderAnswer(200, 'nonsense', 'submit')) as PermanentProviderError).code).toBe('provider_invalid_answer');
  });

  it('treats a fetch error answer as a failed result', () => {
    expect(parseProviderAnswer(200, { status: 'error', id: 5, message: 'gone' }, 'fetch')).toEqual({ kind: 'failed', requestId: '5', message: 'gone' });
  });
});

describe('parseWebhookPayload', () => {
  it('reads success and failed payloads with their track_id', () => {
    expect(parseWebhookPayload({ status: 'success', id: 1, output: ['u'], track_id: 44 })).toEqual({ result: { kind: 'success', requestId: '1', outputs: ['u'] }, trackId: '44' });
    expect(parseWebhookPayload({ status: 'failed', id: 1, message: 'nope', track_id: '45' })).toEqual({ result: { kind: 'failed', requestId: '1', message: 'nope' }, trackId: '45' });
  });
  it('gives no result for an unknown shape', () => {
    expect(parseWebhookPayload({ hello: 'world' }).result).toBeNull();
  });
});
