/**
 * The counters and histograms a process records about its own work, on a prom-client Registry of its own
 * (one per Nest app, so an api and a worker in one process never share or collide). The api serves them at
 * GET /metrics next to the cluster-wide gauges; a worker serves them on METRICS_PORT.
 */
import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How a provider call was answered. */
export type ProviderAnswerClass = 'success' | 'processing' | 'failed' | 'error' | '429' | '4xx' | '5xx' | 'timeout' | 'unreachable' | 'invalid';
/** Stages of a job: waiting in the queue, at the provider, copying outputs to S3, created -> succeeded. */
export type PipelineStage = 'queued' | 'provider' | 'store' | 'end_to_end';
export type WebhookDeliveryOutcome = 'delivered' | 'retry' | 'gone' | 'exhausted' | 'canceled';

/** Seconds: 50 ms to 1 h (provider results can take minutes; end to end includes queueing). */
const STAGE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

@Injectable()
export class PipelineMetrics {
  readonly registry = new Registry();

  readonly providerAnswers = new Counter({
    name: 'maskflow_provider_answers_total',
    help: 'Provider calls by answer class (success, processing, failed, error = 200 with status error, 429, 4xx, 5xx, timeout, unreachable, invalid)',
    labelNames: ['provider', 'operation', 'class'] as const,
    registers: [this.registry],
  });

  readonly stageDuration = new Histogram({
    name: 'maskflow_stage_duration_seconds',
    help: 'Job stage latency: queued (entered queued -> attempt started), provider (submitted -> result known), store (outputs copied to S3), end_to_end (created -> succeeded)',
    labelNames: ['stage'] as const,
    buckets: STAGE_BUCKETS,
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'maskflow_webhook_deliveries_total',
    help: 'Consumer webhook delivery attempts by outcome (delivered, retry, gone = 410, exhausted, canceled)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly s3BytesWritten = new Counter({
    name: 'maskflow_s3_bytes_written_total',
    help: 'Bytes written to S3 (outputs by workers, uploaded inputs by the api)',
    registers: [this.registry],
  });

  readonly httpRequests = new Counter({
    name: 'maskflow_http_requests_total',
    help: 'api answers by method, route pattern (e.g. /v1/jobs/:id; "unmatched" for no route) and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'maskflow_http_request_duration_seconds',
    help: 'api answer time by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor() {
    // The standard process_* and nodejs_* series, unprefixed, as dashboards expect them.
    collectDefaultMetrics({ register: this.registry });
  }

  observeStage(stage: PipelineStage, since: Date | number, now = Date.now()): void {
    const start = typeof since === 'number' ? since : since.getTime();
    this.stageDuration.observe({ stage }, Math.max(0, now - start) / 1000);
  }

  /** The Prometheus text exposition of everything in this registry. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
