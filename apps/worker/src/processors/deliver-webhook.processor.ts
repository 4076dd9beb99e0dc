/**
 * One HTTP attempt of a consumer webhook delivery: claim it in Postgres (a stale or duplicated queue entry
 * claims nothing), present the event's data fresh (job events: the job as GET /v1/jobs/:id shows it, with
 * new presigned URLs), sign it Standard Webhooks style with every valid secret, POST it with a short timeout,
 * record the attempt, and schedule the next one: 2xx delivered; 410 stops (and disables an endpoint); any
 * other answer, a timeout or a network error retries on WEBHOOK_RETRY_SCHEDULE (+-jitter) until it runs out.
 * Runs on its own queue with bounded concurrency, so a slow receiver never holds up the image pipeline.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { APP_CONFIG, createLogger, redactUrl, type AppConfig } from '../../../../libs/config/src/index.js';
import { JobName, type DeliverWebhookPayload, type WebhookBody, type WebhookEventType } from '../../../../libs/contracts/src/index.js';
import { JobRepository, WebhookRepository, type AttemptOutcome, type ClaimedDelivery } from '../../../../libs/db/src/index.js';
import { PipelineMetrics } from '../../../../libs/metrics/src/index.js';
import { QueueService } from '../../../../libs/queue/src/index.js';
import { generateWebhookSecret, retryDelayMs, sendWebhook, signWebhook, type SendResult } from '../../../../libs/webhooks/src/index.js';
import { JobPresenter } from '../../../api/src/jobs/job.presenter.js';
import type { JobProcessor } from './job-processor.js';

const log = createLogger('worker.webhooks');

/** The secrets that sign right now: the current one, and the previous one during its grace period. */
export function activeSecrets(s: { secret: string; previousSecret: string | null; previousSecretExpiresAt: Date | null }, now = new Date()): string[] {
  return s.previousSecret && s.previousSecretExpiresAt && s.previousSecretExpiresAt > now ? [s.secret, s.previousSecret] : [s.secret];
}

@Injectable()
export class DeliverWebhookProcessor implements JobProcessor<JobName.DeliverWebhook> {
  readonly jobName = JobName.DeliverWebhook;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly webhooks: WebhookRepository,
    private readonly jobs: JobRepository,
    private readonly presenter: JobPresenter,
    private readonly queues: QueueService,
    private readonly metrics: PipelineMetrics,
  ) {}

  concurrency(): number {
    return this.config.webhooks.concurrency;
  }

  async process(job: Job<DeliverWebhookPayload>): Promise<string> {
    const { deliveryId, attemptNo } = job.data;
    const { timeoutMs, retryScheduleMs, jitter } = this.config.webhooks;
    // The lease outlives the attempt's timeout; if this process dies, the dispatcher re-enqueues after it.
    const d = await this.webhooks.claim(deliveryId, attemptNo, timeoutMs + 30_000);
    if (!d) return 'skipped (not due, already attempted or no longer pending)';
    if (d.endpoint && (d.endpoint.disabledAt || d.endpoint.deletedAt)) {
      await this.webhooks.cancelClaimed(d.id, attemptNo, d.endpoint.deletedAt ? 'endpoint deleted' : 'endpoint disabled');
      this.metrics.webhookDeliveries.inc({ outcome: 'canceled' });
      return 'canceled (endpoint disabled)';
    }
    const timestamp = Math.floor(Date.now() / 1000);
    let result: SendResult;
    try {
      const body = JSON.stringify(await this.body(d));
      const headers = signWebhook(await this.secrets(d), d.event.id, timestamp, body);
      result = await sendWebhook(d.url, headers, body, timeoutMs);
    } catch (err) {
      // Our side failed (database, presenting): an attempt that did not reach the receiver, retried the same way.
      log.error({ err, deliveryId, eventId: d.event.id }, 'could not prepare the webhook');
      result = { statusCode: null, durationMs: 0, error: `maskflow could not send the event: ${(err as Error).message}`, responseSnippet: null };
    }
    const code = result.statusCode;
    let outcome: AttemptOutcome;
    let delayMs: number | null = null;
    if (code !== null && code >= 200 && code <= 299) outcome = { kind: 'delivered' };
    else if (code === 410) outcome = { kind: 'gone' };
    else {
      delayMs = retryDelayMs(retryScheduleMs, attemptNo - d.attemptBase, jitter);
      outcome = delayMs === null ? { kind: 'exhausted' } : { kind: 'retry', nextAttemptAt: new Date(Date.now() + delayMs) };
    }
    await this.webhooks.recordAttempt(d, attemptNo, { ...result, webhookTimestamp: timestamp }, outcome);
    this.metrics.webhookDeliveries.inc({ outcome: outcome.kind });
    const ctx = { deliveryId, eventId: d.event.id, type: d.event.type, jobId: d.jobId, url: redactUrl(d.url), attemptNo, status: code, ms: result.durationMs };
    if (outcome.kind === 'delivered') log.info(ctx, 'webhook delivered');
    else log.warn({ ...ctx, error: result.error, outcome: outcome.kind, retryInMs: delayMs }, 'webhook attempt failed');
    if (delayMs !== null) {
      // If this enqueue is lost, the dispatcher finds the pending delivery once it is due.
      await this.queues.enqueue(JobName.DeliverWebhook, { deliveryId, attemptNo: attemptNo + 1 }, { delayMs }).catch((err: unknown) => log.warn({ err, deliveryId }, 'could not schedule the retry; the dispatcher will'));
    }
    return outcome.kind;
  }

  private async body(d: ClaimedDelivery): Promise<WebhookBody> {
    let data = d.event.data as Record<string, unknown> | null;
    if (d.event.jobId) {
      const job = await this.jobs.find(d.tenantId, d.event.jobId);
      data = job ? ((await this.presenter.present(job)) as unknown as Record<string, unknown>) : { id: d.event.jobId };
    }
    return { type: d.event.type as WebhookEventType, timestamp: d.event.createdAt.toISOString(), data: data ?? {} };
  }

  private async secrets(d: ClaimedDelivery): Promise<string[]> {
    if (d.endpoint) return activeSecrets(d.endpoint);
    return activeSecrets(await this.webhooks.tenantSecret(d.tenantId, generateWebhookSecret()));
  }
}
