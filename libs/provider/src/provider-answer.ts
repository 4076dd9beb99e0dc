/**
 * Turns the provider's JSON (submit answers, fetch answers, webhook payloads) into a ProviderResult.
 * The three shapes are told apart by `status`; an HTTP 200 can still carry `status: "error"`.
 */
import { JobErrorCode } from '../../contracts/src/index.js';
import type { ProviderResult } from '../../db/src/job.repository.js';
import { PermanentProviderError, RetryableProviderError, classifyHttpError } from './provider-errors.js';

type Json = Record<string, unknown>;

function requestIdOf(body: Json): string | null {
  const id = body.id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  if (typeof id === 'string' && id.length > 0 && id.length <= 200) return id;
  return null;
}

function messageOf(body: Json): string {
  const m = body.message ?? body.messege ?? body.error;
  if (typeof m === 'string' && m.length > 0) return m.slice(0, 1000);
  if (m && typeof m === 'object') return JSON.stringify(m).slice(0, 1000);
  return 'the provider gave no message';
}

function retryAfterOf(body: Json): number | undefined {
  const r = body.retry_after;
  if (typeof r === 'number' && Number.isFinite(r)) return r;
  if (typeof r === 'string' && /^\d+(\.\d+)?$/.test(r)) return Number(r);
  return undefined;
}

function outputsOf(body: Json): string[] | null {
  const out = body.output;
  if (!Array.isArray(out) || out.length === 0 || !out.every((o) => typeof o === 'string' && o.length > 0)) return null;
  return out as string[];
}

/**
 * A submit or fetch answer. Errors become RetryableProviderError / PermanentProviderError;
 * `status: "failed"` and a fetch's `status: "error"` are a failed *result* of a known request.
 */
export function parseProviderAnswer(httpStatus: number, body: unknown, context: 'submit' | 'fetch'): ProviderResult {
  const json: Json = body && typeof body === 'object' && !Array.isArray(body) ? (body as Json) : {};
  const status = typeof json.status === 'string' ? json.status : undefined;
  if (httpStatus < 200 || httpStatus >= 300) {
    throw classifyHttpError(httpStatus, status === undefined && !('message' in json) ? `HTTP ${httpStatus}` : messageOf(json), retryAfterOf(json));
  }
  switch (status) {
    case 'success': {
      const outputs = outputsOf(json);
      if (!outputs) throw new PermanentProviderError('the provider answered success without outputs', JobErrorCode.ProviderInvalidAnswer, httpStatus);
      return { kind: 'success', requestId: requestIdOf(json), outputs };
    }
    case 'processing': {
      const eta = typeof json.eta === 'number' && Number.isFinite(json.eta) && json.eta >= 0 ? json.eta : null;
      const requestId = requestIdOf(json);
      if (requestId === null) throw new PermanentProviderError('the provider answered processing without an id', JobErrorCode.ProviderInvalidAnswer, httpStatus);
      return { kind: 'processing', requestId, etaSeconds: eta };
    }
    case 'failed':
      return { kind: 'failed', requestId: requestIdOf(json), message: messageOf(json) };
    case 'error': {
      const retryAfter = retryAfterOf(json);
      if (retryAfter !== undefined) throw classifyHttpError(429, messageOf(json), retryAfter);
      if (context === 'fetch') return { kind: 'failed', requestId: requestIdOf(json), message: messageOf(json) };
      throw new PermanentProviderError(messageOf(json), JobErrorCode.ProviderBadRequest, httpStatus);
    }
    default:
      throw new PermanentProviderError(`the provider answered an unknown shape (status ${JSON.stringify(status ?? null)})`, JobErrorCode.ProviderInvalidAnswer, httpStatus);
  }
}

/** A webhook payload; null when it matches no known shape (recorded, otherwise ignored). */
export function parseWebhookPayload(body: unknown): { result: ProviderResult | null; trackId: string | null } {
  const json: Json = body && typeof body === 'object' && !Array.isArray(body) ? (body as Json) : {};
  const t = json.track_id;
  const trackId = typeof t === 'number' || (typeof t === 'string' && /^\d{1,19}$/.test(t)) ? String(t) : null;
  try {
    return { result: parseProviderAnswer(200, json, 'fetch'), trackId };
  } catch (err) {
    if (err instanceof PermanentProviderError || err instanceof RetryableProviderError) return { result: null, trackId };
    throw err;
  }
}
