/**
 * The maskflow HTTP API as the CLI uses it (fetch, no SDK). Transient failures (network errors, 429 with
 * Retry-After, 502/503/504) are retried with backoff for a bounded time (network errors only once the API
 * has answered in this run: an API never reached is reported at once); 401/403 and lasting failures
 * throw ApiCallError (exit code 3); other 4xx answers throw ApiRequestRefused for the caller to judge.
 */
import { Readable } from 'node:stream';
import type { BatchView, JobView } from '../../../../libs/contracts/src/index.js';
import { ApiCallError, ApiRequestRefused, InterruptedError } from './api-errors.js';

export interface ApiClientOptions {
  apiUrl: string;
  apiKey: string;
  signal: AbortSignal;
  /** How long transient failures are retried before giving up (default 60 s). */
  retryForMs?: number;
}

export interface BatchCreated extends BatchView {
  rejected: { line: number; field: string; code: string; message: string }[];
  rejected_total: number;
}

export interface ResultRow {
  line: number;
  external_id: string | null;
  job_id: string;
  state: string;
  outputs: { url: string; sha256: string; bytes: number; content_type: string }[];
  error: { code: string; message: string } | null;
  completed_at: string | null;
}

type Body = { kind: 'json'; value: unknown } | { kind: 'form'; build: () => FormData } | { kind: 'stream'; open: () => Readable; contentType: string };

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new InterruptedError());
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new InterruptedError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export class MaskflowApiClient {
  private readonly retryForMs: number;
  private reached = false;

  constructor(private readonly opts: ApiClientOptions) {
    this.retryForMs = opts.retryForMs ?? 60_000;
  }

  get apiUrl(): string {
    return this.opts.apiUrl;
  }

  /** One API call with retries of transient failures; answers the parsed JSON body. */
  async call<T>(method: string, path: string, body?: Body, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
    const res = await this.send(method, path, body, headers);
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new ApiCallError(`${method} ${path}: the API answered ${res.status} with a body that is not JSON`, res.status, null);
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  /** Sends a request and answers the 2xx response (body unread); retries transient failures. */
  async send(method: string, path: string, body?: Body, headers: Record<string, string> = {}): Promise<Response> {
    const deadline = Date.now() + this.retryForMs;
    let delay = 250;
    for (let attempt = 1; ; attempt++) {
      if (this.opts.signal.aborted) throw new InterruptedError();
      let res: Response;
      try {
        res = await fetch(`${this.opts.apiUrl}${path}`, {
          method,
          signal: this.opts.signal,
          headers: { authorization: `Bearer ${this.opts.apiKey}`, ...(body?.kind === 'json' ? { 'content-type': 'application/json' } : {}), ...(body?.kind === 'stream' ? { 'content-type': body.contentType } : {}), ...headers },
          body: body === undefined ? undefined : body.kind === 'json' ? JSON.stringify(body.value) : body.kind === 'form' ? body.build() : (Readable.toWeb(body.open()) as unknown as BodyInit),
          ...(body?.kind === 'stream' ? { duplex: 'half' } : {}),
        } as RequestInit);
      } catch (err) {
        if (this.opts.signal.aborted) throw new InterruptedError();
        // Never reached in this run: a wrong URL or a stopped API, said at once. Reached before: a blip, retried.
        if (!this.reached || Date.now() + delay > deadline) throw new ApiCallError(`cannot reach the maskflow API at ${this.opts.apiUrl}: ${describeFetchError(err)}`, null, null);
        await sleep(delay, this.opts.signal);
        delay = Math.min(delay * 2, 5000);
        continue;
      }
      this.reached = true;
      if (res.ok) return res;
      const retryAfter = Number(res.headers.get('retry-after'));
      if (TRANSIENT_STATUS.has(res.status) && Date.now() + delay < deadline) {
        await res.body?.cancel().catch(() => undefined);
        await sleep(res.status === 429 && retryAfter > 0 ? Math.min(retryAfter * 1000, 30_000) : delay, this.opts.signal);
        delay = Math.min(delay * 2, 5000);
        continue;
      }
      const text = await res.text().catch(() => '');
      let error: { code?: string; message?: string; details?: unknown } = {};
      try {
        error = (JSON.parse(text) as { error?: typeof error }).error ?? {};
      } catch {
        /* not our error shape */
      }
      const what = `${method} ${path} answered ${res.status}${error.code ? ` ${error.code}` : ''}: ${error.message ?? text.slice(0, 200)}`;
      if (res.status === 401 || res.status === 403) throw new ApiCallError(`the API refused the key (${what}); set --api-key or MASKFLOW_API_KEY`, res.status, error.code ?? null);
      if (res.status >= 400 && res.status < 500) throw new ApiRequestRefused(res.status, error.code ?? 'unknown', error.message ?? what, error.details);
      throw new ApiCallError(what, res.status, error.code ?? null);
    }
  }

  getBatch(id: string): Promise<BatchView> {
    return this.call<BatchView>('GET', `/v1/batches/${encodeURIComponent(id)}`).then((r) => r.body);
  }

  getJob(id: string): Promise<JobView> {
    return this.call<JobView>('GET', `/v1/jobs/${encodeURIComponent(id)}`).then((r) => r.body);
  }

  /** The batch's results as a byte stream (`ndjson` or `csv`), from after `afterLine`. */
  async resultsStream(id: string, format: 'ndjson' | 'csv', afterLine = 0): Promise<ReadableStream<Uint8Array>> {
    const res = await this.send('GET', `/v1/batches/${encodeURIComponent(id)}/results${afterLine > 0 ? `?after=${afterLine}` : ''}`, undefined, {
      accept: format === 'csv' ? 'text/csv' : 'application/x-ndjson',
    });
    return res.body as ReadableStream<Uint8Array>;
  }

  /** The batch's results, one parsed NDJSON row at a time. */
  async *results(id: string, afterLine = 0): AsyncGenerator<ResultRow> {
    const stream = await this.resultsStream(id, 'ndjson', afterLine);
    const decoder = new TextDecoder();
    let partial = '';
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
      partial += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl).trim();
        partial = partial.slice(nl + 1);
        if (line) yield JSON.parse(line) as ResultRow;
      }
    }
    partial += decoder.decode();
    if (partial.trim()) yield JSON.parse(partial) as ResultRow;
  }
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
