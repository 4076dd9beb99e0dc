/**
 * Accepts removebg_mask requests, works through them with an in-process queue (ENGINE_CONCURRENCY at a time),
 * keeps each job's state for fetch/{id}, stores outputs, and calls webhooks. The eta given to clients is
 * (images ahead / concurrency + 1) x the measured seconds per image (moving average of recent jobs, seeded by
 * the warm-up run at start-up).
 */
import type { Logger } from 'pino';
import { removeBackground } from '../cutout/remove-background.js';
import type { CutoutOptions } from '../cutout/cutout-options.js';
import type { EngineConfig } from '../engine.config.js';
import { BadImageError, inspectImage } from '../image/decode-image.js';
import type { Segmenter } from '../model/segmenter.js';
import type { OutputStore } from '../outputs/output-store.js';
import { QueueFullError } from '../http/engine-errors.js';
import type { RemovalJob } from './removal-job.js';
import type { WebhookSender } from './webhook-sender.js';

export interface SubmitInput {
  bytes: Buffer;
  options: CutoutOptions;
  base64: boolean;
  webhook: string | null;
  trackId: number | null;
  meta: Record<string, unknown>;
}

export class RemovalJobsService {
  private readonly jobs = new Map<string, RemovalJob>();
  private readonly waiting: RemovalJob[] = [];
  private running = 0;
  private lastId = 0;
  /** Seconds per image, exponentially weighted. */
  private secondsPerImage: number;
  private stopping = false;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly config: EngineConfig,
    private readonly segmenter: Segmenter,
    private readonly outputs: OutputStore,
    private readonly webhooks: WebhookSender,
    private readonly log: Logger,
  ) {
    this.secondsPerImage = 3;
    this.sweeper = setInterval(() => this.forgetExpired(), 60_000);
    this.sweeper.unref();
  }

  get measuredSecondsPerImage(): number {
    return this.secondsPerImage;
  }

  recordImageSeconds(seconds: number): void {
    this.secondsPerImage = this.secondsPerImage * 0.7 + seconds * 0.3;
  }

  /** Seeds the time-per-image estimate (called after the warm-up inference). */
  seedImageSeconds(seconds: number): void {
    this.secondsPerImage = seconds;
  }

  get pending(): number {
    return this.waiting.length + this.running;
  }

  /** Integer ids, increasing across restarts (time-based), so a client's unique index never sees one twice. */
  private nextId(): string {
    const candidate = Date.now() * 1000;
    this.lastId = Math.max(candidate, this.lastId + 1);
    return String(this.lastId);
  }

  /** Header checks and admission; throws BadImageError or QueueFullError. */
  async submit(input: SubmitInput): Promise<RemovalJob> {
    const header = await inspectImage(input.bytes, this.config.maxPixels);
    if (this.pending >= this.config.queueLimit || this.stopping) {
      throw new QueueFullError(this.etaSeconds(this.pending), this.pending);
    }
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const job: RemovalJob = {
      id: this.nextId(),
      state: 'queued',
      acceptedAt: Date.now(),
      bytes: input.bytes,
      options: input.options,
      base64: input.base64,
      webhook: input.webhook,
      trackId: input.trackId,
      meta: { ...input.meta, width: header.width, height: header.height, format: header.format, notes: header.notes },
      outputCount: 1,
      done,
      resolveDone,
    };
    this.jobs.set(job.id, job);
    this.waiting.push(job);
    this.pump();
    return job;
  }

  get(id: string): RemovalJob | undefined {
    return this.jobs.get(id);
  }

  /** Honest eta in whole seconds for a job with `ahead` images before it (running ones included). */
  etaSeconds(ahead: number): number {
    return Math.max(1, Math.ceil(this.secondsPerImage * (Math.floor(ahead / this.config.concurrency) + 1)));
  }

  etaFor(job: RemovalJob): number {
    if (job.state === 'running') {
      const elapsed = (Date.now() - (job.startedAt ?? Date.now())) / 1000;
      return Math.max(1, Math.ceil(this.secondsPerImage - elapsed));
    }
    const position = this.waiting.indexOf(job);
    return this.etaSeconds(this.running + Math.max(0, position));
  }

  private pump(): void {
    while (this.running < this.config.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.running++;
      void this.process(job).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async process(job: RemovalJob): Promise<void> {
    job.state = 'running';
    job.startedAt = Date.now();
    const log = this.log.child({ jobId: job.id, trackId: job.trackId });
    try {
      const result = await removeBackground(this.segmenter, job.bytes!, job.options, this.config.maxPixels);
      await this.outputs.put(job.id, [result.png]);
      job.generationTime = Number(((Date.now() - job.startedAt) / 1000).toFixed(3));
      job.meta = { ...job.meta, notes: result.notes, timings_ms: roundAll(result.timings) };
      job.state = 'succeeded';
      if (!result.cachedMask) this.recordImageSeconds((Date.now() - job.startedAt) / 1000);
      log.info({ generationTime: job.generationTime, width: result.width, height: result.height }, 'image done');
    } catch (err) {
      job.state = 'failed';
      if (err instanceof BadImageError) {
        job.error = err.message;
        log.info({ reason: err.message }, 'image rejected');
      } else {
        job.error = 'internal error while processing the image';
        log.error({ err }, 'image failed');
      }
    } finally {
      job.bytes = undefined;
      job.finishedAt = Date.now();
      job.resolveDone();
    }
    if (job.webhook) this.webhooks.send(job.webhook, await this.webhookPayload(job));
  }

  async webhookPayload(job: RemovalJob): Promise<Record<string, unknown>> {
    if (job.state === 'succeeded') {
      return {
        status: 'success',
        id: Number(job.id),
        output: await this.outputsOf(job),
        generationTime: job.generationTime,
        track_id: job.trackId,
        meta: job.meta,
      };
    }
    return { status: 'failed', id: Number(job.id), message: job.error, track_id: job.trackId };
  }

  outputUrls(job: RemovalJob): string[] {
    return Array.from({ length: job.outputCount }, (_, n) => `${this.publicUrl}/outputs/${job.id}/${n}.png`);
  }

  /** URLs, or the PNGs themselves as base64 strings (no data: prefix) when the request asked for base64. */
  async outputsOf(job: RemovalJob): Promise<string[]> {
    if (!job.base64) return this.outputUrls(job);
    const files = await Promise.all(Array.from({ length: job.outputCount }, (_, n) => this.outputs.get(job.id, n)));
    if (files.some((f) => !f)) return this.outputUrls(job);
    return files.map((f) => f!.toString('base64'));
  }

  publicUrl = '';

  private forgetExpired(): void {
    const cutoff = Date.now() - this.config.outputTtlSeconds * 1000;
    for (const [id, job] of this.jobs) {
      if (job.finishedAt !== undefined && job.finishedAt < cutoff) this.jobs.delete(id);
    }
  }

  /** Refuses new work and waits (bounded) for accepted jobs to finish. */
  async drain(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const all = [...this.jobs.values()].filter((j) => j.state === 'queued' || j.state === 'running').map((j) => j.done);
    await Promise.race([Promise.all(all), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    clearInterval(this.sweeper);
  }
}

function roundAll(t: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v)]));
}
