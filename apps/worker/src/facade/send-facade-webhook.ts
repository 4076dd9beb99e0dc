/**
 * Sends one provider-shaped webhook to a facade caller, unsigned as ModelsLab sends them, through the SSRF
 * guard (libs/net). A small function on purpose: it can move onto the consumer-webhook delivery queue as it is.
 */
import { guardedFetch, OutboundBlockedError, type OutboundPolicy } from '../../../../libs/net/src/index.js';

export interface WebhookDelivery {
  ok: boolean;
  status: number | null;
  error?: string;
  /** Refused by the outbound policy: not worth retrying. */
  blocked?: boolean;
}

export async function sendFacadeWebhook(url: string, payload: unknown, timeoutMs: number, policy: OutboundPolicy): Promise<WebhookDelivery> {
  try {
    const res = await guardedFetch(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'maskflow-modelslab-facade' }, body: JSON.stringify(payload), signal: AbortSignal.timeout(timeoutMs) },
      policy,
    );
    await res.body?.cancel().catch(() => undefined);
    return res.status >= 200 && res.status < 300 ? { ok: true, status: res.status } : { ok: false, status: res.status, error: `HTTP ${res.status}` };
  } catch (err) {
    if (err instanceof OutboundBlockedError) return { ok: false, status: null, error: `${err.code}: ${err.message}`, blocked: true };
    return { ok: false, status: null, error: (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message };
  }
}
