/**
 * Facade requests -> the provider's answer shapes: `success` with our presigned S3 URLs (or base64 when the
 * caller asked for it), `processing` with an id, eta and fetch_result, `failed` with the job's message, and
 * the webhook payload. Used by the api (answers) and the worker (webhooks).
 */
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/src/index.js';
import { FACADE_FETCH_PATH, facadeFailed, facadeProcessing, facadeSuccess, facadeWebhookPayload, type FacadeAnswer } from '../../contracts/src/index.js';
import type { FacadeRequestWithJob } from '../../db/src/index.js';
import { ObjectStorage } from '../../storage/src/index.js';

const ENDED = new Set(['succeeded', 'failed', 'canceled']);

@Injectable()
export class ModelslabFacadePresenter {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly storage: ObjectStorage,
  ) {}

  meta(r: FacadeRequestWithJob): Record<string, unknown> {
    const image = r.job.imageUrl ?? '(base64 upload)';
    return { image, ...(r.job.options as Record<string, unknown>), base64: r.base64, webhook: r.webhook, track_id: r.trackId ?? null, file_prefix: String(r.id), maskflow_job_id: r.jobId };
  }

  /** The answer to a submit or a fetch, by the job's state now. */
  async answer(r: FacadeRequestWithJob, baseUrl: string, etaSeconds: number): Promise<FacadeAnswer> {
    const id = Number(r.id);
    const job = r.job;
    if (job.state === 'succeeded') {
      const { output, links } = await this.outputs(r);
      return facadeSuccess({ id, output, proxyLinks: links, generationTime: this.generationTime(r), meta: this.meta(r) });
    }
    if (job.state === 'failed' || job.state === 'canceled') {
      return facadeFailed({ id, message: job.errorMessage ?? (job.state === 'canceled' ? 'the request was canceled' : 'the request failed'), trackId: r.trackId });
    }
    return facadeProcessing({ id, eta: etaSeconds, fetchResult: `${baseUrl}${FACADE_FETCH_PATH}/${id}`, meta: this.meta(r) });
  }

  /** The webhook payload of an ended request. */
  async webhookPayload(r: FacadeRequestWithJob): Promise<FacadeAnswer> {
    if (!ENDED.has(r.job.state)) throw new Error(`facade request ${r.id} has not ended (${r.job.state})`);
    const { output } = r.job.state === 'succeeded' ? await this.outputs(r) : { output: [] };
    return facadeWebhookPayload({
      id: Number(r.id),
      state: r.job.state as 'succeeded' | 'failed' | 'canceled',
      output,
      generationTime: this.generationTime(r),
      message: r.job.errorMessage,
      trackId: r.trackId,
      meta: this.meta(r),
    });
  }

  private generationTime(r: FacadeRequestWithJob): number {
    const end = r.job.completedAt ?? new Date();
    return Math.round((end.getTime() - r.job.createdAt.getTime()) / 10) / 100;
  }

  private async outputs(r: FacadeRequestWithJob): Promise<{ output: string[]; links: string[] }> {
    const links = await Promise.all(r.job.outputs.map((o) => this.storage.presignGet(o.s3Key)));
    if (!r.base64) return { output: links, links };
    const output = await Promise.all(r.job.outputs.map(async (o) => (await this.storage.getBuffer(o.s3Key, this.config.limits.maxOutputBytes)).toString('base64')));
    return { output, links };
  }
}
