/**
 * Sends one provider-shaped webhook to a facade caller, unsigned as ModelsLab sends them. A small function
 * on purpose: it can move onto the consumer-webhook delivery queue as it is.
 */
export interface WebhookDelivery {
  ok: boolean;
  status: number | null;
  error?: string;
}

export async function sendFacadeWebhook(url: string, payload: unknown, timeoutMs: number): Promise<WebhookDelivery> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'maskflow-modelslab-facade' },
      body: JSON.stringify(payload),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel().catch(() => undefined);
    return res.status >= 200 && res.status < 300 ? { ok: true, status: res.status } : { ok: false, status: res.status, error: `HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, status: null, error: (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message };
  }
}
