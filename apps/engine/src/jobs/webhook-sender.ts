/**
 * Calls the request's webhook when its job ends, like the provider: POST JSON, not signed. A non-2xx or network
 * failure is retried a few times with growing delays; receivers must accept duplicates anyway.
 */
import type { Logger } from 'pino';

export class WebhookSender {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly delaysMs: number[] = [1000, 5000, 15000],
  ) {}

  send(url: string, payload: Record<string, unknown>): void {
    const p = this.deliver(url, payload).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async deliver(url: string, payload: Record<string, unknown>): Promise<void> {
    const body = JSON.stringify(payload);
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'maskflow-engine' },
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        await res.body?.cancel();
        if (res.ok) return;
        this.log.warn({ jobId: payload['id'], httpStatus: res.status, attempt }, 'webhook answered non-2xx');
      } catch (err) {
        this.log.warn({ jobId: payload['id'], attempt, err: (err as Error).message }, 'webhook delivery failed');
      }
      const delay = this.delaysMs[attempt];
      if (delay === undefined || this.closed) return;
      await new Promise((r) => setTimeout(r, delay).unref());
    }
  }

  private closed = false;

  /** Stops retrying and waits (bounded) for deliveries in progress. */
  async close(waitMs = 5000): Promise<void> {
    this.closed = true;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, waitMs).unref())]);
  }
}
