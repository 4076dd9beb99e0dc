/**
 * The one outbound HTTP call of consumer webhooks: a POST through the SSRF guard (libs/net: only addresses
 * the outbound policy allows, checked after DNS and pinned), with a hard timeout, redirects not followed,
 * and at most `SNIPPET_BYTES` of the answer read.
 */
import { guardedFetch, OutboundBlockedError, type OutboundPolicy } from '../../net/src/index.js';

export const RESPONSE_SNIPPET_BYTES = 1024;

export interface SendResult {
  /** The receiver's HTTP status, or null when there was no answer (timeout, refused, DNS...). */
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseSnippet: string | null;
  /** The URL points (or resolves) at an address the outbound policy refuses: retrying will not help. */
  blocked?: boolean;
}

export async function sendWebhook(url: string, headers: Record<string, string>, body: string, timeoutMs: number, policy: OutboundPolicy): Promise<SendResult> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await guardedFetch(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'maskflow-webhooks/1', ...headers }, body, signal },
      policy,
    );
    let snippet = '';
    try {
      snippet = await readSnippet(res);
    } catch {
      /* the status is what counts; a body cut by the timeout is not an error of the delivery */
    }
    return { statusCode: res.status, durationMs: elapsed(), error: res.status >= 300 && res.status < 400 ? `redirect to ${res.headers.get('location') ?? '?'} not followed` : null, responseSnippet: snippet || null };
  } catch (err) {
    if (err instanceof OutboundBlockedError) {
      return { statusCode: null, durationMs: elapsed(), error: `${err.code}: ${err.message}`, responseSnippet: null, blocked: true };
    }
    const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
    const reason = e.name === 'TimeoutError' || signal.aborted ? `timed out after ${timeoutMs} ms` : (e.code ?? e.cause?.code ?? e.cause?.message ?? e.message);
    return { statusCode: null, durationMs: elapsed(), error: reason, responseSnippet: null };
  }
}

async function readSnippet(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_SNIPPET_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_SNIPPET_BYTES).toString('utf8');
}
