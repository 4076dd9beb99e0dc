/**
 * HTTP client for ModelsLab's removebg_mask and fetch endpoints (and for the self-hosted engine, which
 * speaks the same contract). The API key travels in the body, never in logs.
 */
import { createLogger, redactUrl } from '../../config/src/index.js';
import type { RemovebgOptions } from '../../contracts/src/index.js';
import type { ProviderResult } from '../../db/src/job.repository.js';
import { parseProviderAnswer } from './provider-answer.js';
import { RetryableProviderError } from './provider-errors.js';

export interface SubmitRequest {
  /** A public URL or a base64 string. */
  image: string;
  options: RemovebgOptions;
  webhook: string | null;
  trackId: bigint;
}

export interface ProviderReply {
  result: ProviderResult;
  raw: unknown;
}

const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
const log = createLogger('provider');

/** A request body as it may be logged: no key, no webhook token, the image as a URL without query or a length. */
function loggableBody(body: Record<string, unknown>): Record<string, unknown> {
  const image = typeof body.image === 'string' ? (/^https?:\/\//i.test(body.image) ? redactUrl(body.image) : `<base64, ${body.image.length} chars>`) : undefined;
  return { ...body, key: '[redacted]', ...(image !== undefined ? { image } : {}), ...(typeof body.webhook === 'string' ? { webhook: '[redacted]' } : {}) };
}

/** success | processing | failed | error (HTTP 200 with status error) | 429 | 4xx | 5xx | timeout | unreachable | invalid. */
export type AnswerClass = 'success' | 'processing' | 'failed' | 'error' | '429' | '4xx' | '5xx' | 'timeout' | 'unreachable' | 'invalid';
export type AnswerListener = (operation: 'submit' | 'fetch', answer: AnswerClass) => void;

/** How an HTTP answer counts in the metrics: by status, then by the body's `status` (a 200 can carry a rate limit). */
export function classifyAnswer(httpStatus: number, raw: unknown): AnswerClass {
  const body = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  if (httpStatus === 429 || (body.status === 'error' && body.retry_after !== undefined)) return '429';
  if (httpStatus >= 500) return '5xx';
  if (httpStatus >= 400) return '4xx';
  if (httpStatus < 200 || httpStatus >= 300) return 'invalid';
  const s = body.status;
  return s === 'success' || s === 'processing' || s === 'failed' || s === 'error' ? s : 'invalid';
}

/** One provider endpoint speaking the removebg_mask contract (ModelsLab, or our engine). */
export class ModelslabClient {
  constructor(
    /** Recorded on each attempt: which provider it went to. */
    readonly name: string,
    private readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly timeoutMs: number,
    /** Told how every call was answered (the worker counts them). */
    private readonly onAnswer: AnswerListener = () => undefined,
  ) {}

  submit(req: SubmitRequest): Promise<ProviderReply> {
    return this.post('/api/v6/image_editing/removebg_mask', 'submit', {
      key: this.apiKey,
      image: req.image,
      ...req.options,
      webhook: req.webhook,
      track_id: Number(req.trackId),
    });
  }

  fetchResult(requestId: string): Promise<ProviderReply> {
    return this.post(`/api/v6/image_editing/fetch/${encodeURIComponent(requestId)}`, 'fetch', { key: this.apiKey });
  }

  private async post(path: string, context: 'submit' | 'fetch', body: Record<string, unknown>): Promise<ProviderReply> {
    let res: Response;
    let text: string;
    log.debug({ operation: context, url: `${this.baseUrl}${path}`, body: loggableBody(body) }, 'provider request');
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
      const len = Number(res.headers.get('content-length') ?? 0);
      if (len > MAX_ANSWER_BYTES) throw new RetryableProviderError(`provider answer of ${len} bytes is over the limit`, 'provider_unavailable', res.status);
      // A provider that echoes the key (in an error message, say) must not carry it into our audit table,
      // job errors or logs.
      text = this.apiKey.length >= 4 ? (await res.text()).split(this.apiKey).join('[redacted]') : await res.text();
    } catch (err) {
      if (err instanceof RetryableProviderError) {
        this.onAnswer(context, classifyAnswer(err.httpStatus ?? 0, {}));
        throw err;
      }
      const e = err as Error;
      const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
      this.onAnswer(context, timedOut ? 'timeout' : 'unreachable');
      throw new RetryableProviderError(
        timedOut ? `the provider did not answer within ${this.timeoutMs} ms` : `the provider could not be reached (${e.cause instanceof Error ? e.cause.message : e.message})`,
        timedOut ? 'provider_timeout' : 'provider_unreachable',
      );
    }
    let raw: unknown;
    try {
      raw = text.length > 0 ? JSON.parse(text) : {};
    } catch {
      raw = { unparsed: text.slice(0, 2000) };
    }
    const answer = classifyAnswer(res.status, raw);
    this.onAnswer(context, answer);
    log.debug({ operation: context, httpStatus: res.status, answer, providerRequestId: (raw as { id?: unknown }).id }, 'provider answer');
    return { result: parseProviderAnswer(res.status, raw, context), raw };
  }
}
