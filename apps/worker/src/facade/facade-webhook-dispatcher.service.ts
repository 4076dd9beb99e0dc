/**
 * Calls facade callers' webhooks once their job has ended. Postgres decides what is due: every
 * FACADE_WEBHOOK_INTERVAL_MS each worker claims due deliveries (SKIP LOCKED), sends them, and records the
 * outcome; a failure is retried with growing delays up to FACADE_WEBHOOK_MAX_ATTEMPTS. Nothing lives only in
 * memory, so a worker that dies mid-delivery leaves the claim to lapse and another worker sends it.
 */
import { Inject, Injectable, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, createLogger, type AppConfig } from '../../../../libs/config/src/index.js';
import { FacadeRequestRepository } from '../../../../libs/db/src/index.js';
import { ModelslabFacadePresenter } from '../../../../libs/pipeline/src/index.js';
import { OutboundPolicy } from '../../../../libs/net/src/index.js';
import { sendFacadeWebhook } from './send-facade-webhook.js';

const log = createLogger('worker.facade-webhooks');
const BATCH = 20;

@Injectable()
export class FacadeWebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly requests: FacadeRequestRepository,
    private readonly presenter: ModelslabFacadePresenter,
  ) {
    this.outbound = new OutboundPolicy(config.outbound);
  }

  private readonly outbound: OutboundPolicy;

  onApplicationBootstrap(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((err: unknown) => log.error({ err }, 'facade webhook round failed'))
        .finally(() => this.schedule());
    }, this.config.facade.webhookIntervalMs);
  }

  /** One round: claim what is due and deliver it. */
  async tick(): Promise<number> {
    let sent = 0;
    for (;;) {
      const ids = await this.requests.claimDueWebhooks(BATCH);
      await Promise.all(
        ids.map((id) =>
          this.deliver(id).catch(async (err: unknown) => {
            log.error({ err, facadeId: id.toString() }, 'facade webhook could not be prepared');
            await this.requests.markWebhookFailed(id, (err as Error).message, 60_000, this.config.facade.webhookMaxAttempts);
          }),
        ),
      );
      sent += ids.length;
      if (ids.length < BATCH || this.stopped) return sent;
    }
  }

  private async deliver(id: bigint): Promise<void> {
    const r = await this.requests.findWithJob(id);
    if (!r?.webhook) return;
    const payload = await this.presenter.webhookPayload(r);
    const result = await sendFacadeWebhook(r.webhook, payload, this.config.facade.webhookTimeoutMs, this.outbound);
    const ctx = { jobId: r.jobId, trackId: r.job.trackId, facadeId: id.toString(), attempt: r.webhookAttempts, status: result.status };
    if (result.ok) {
      await this.requests.markWebhookSent(id);
      log.info(ctx, 'facade webhook delivered');
      return;
    }
    const retryInMs = Math.min(5000 * 4 ** (r.webhookAttempts - 1), 3_600_000);
    // A URL the outbound policy refuses fails at once (max attempts 0): a retry would be refused the same way.
    await this.requests.markWebhookFailed(id, result.error ?? 'failed', retryInMs, result.blocked ? 0 : this.config.facade.webhookMaxAttempts);
    log.warn({ ...ctx, error: result.error, retryInMs }, 'facade webhook failed');
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
