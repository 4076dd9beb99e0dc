/**
 * Copies a succeeded attempt's outputs into S3 (`outputs/<job id>/<n>.png`): streamed from the provider's
 * URL with a timeout and a size cap (or decoded from base64), hashed on the way, verified with a HEAD,
 * recorded, and only then is the job `succeeded`. Re-running it overwrites the same keys and rows.
 */
import { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { APP_CONFIG, createLogger, redactUrl, type AppConfig } from '../../../../libs/config/src/index.js';
import { JobErrorCode, JobName, decodeBase64Image, type StoreOutputsPayload } from '../../../../libs/contracts/src/index.js';
import { JobRepository } from '../../../../libs/db/src/index.js';
import { PipelineMetrics } from '../../../../libs/metrics/src/index.js';
import { ObjectStorage, ObjectTooLargeError, type StoredObject } from '../../../../libs/storage/src/index.js';
import type { JobProcessor } from './job-processor.js';

const log = createLogger('worker.store');

class PermanentStoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

@Injectable()
export class StoreOutputsProcessor implements JobProcessor<JobName.StoreOutputs> {
  readonly jobName = JobName.StoreOutputs;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobRepository,
    private readonly storage: ObjectStorage,
    private readonly metrics: PipelineMetrics,
  ) {}

  concurrency(): number {
    return this.config.store.concurrency;
  }

  async process(job: Job<StoreOutputsPayload>): Promise<string> {
    const { jobId, trackId } = job.data;
    const attemptId = BigInt(job.data.attemptId);
    const row = await this.jobs.findById(jobId);
    if (!row || row.state !== 'storing' || row.currentAttempt !== attemptId) return `skipped (${row?.state ?? 'missing'})`;
    const started = Date.now();
    const attempt = await this.jobs.findAttempt(attemptId);
    const outputs = attempt?.outputs;
    try {
      if (!Array.isArray(outputs) || outputs.length === 0 || !outputs.every((o) => typeof o === 'string')) {
        throw new PermanentStoreError(JobErrorCode.ProviderInvalidAnswer, 'the provider reported success without outputs');
      }
      if (outputs.length > this.config.limits.maxOutputs) {
        throw new PermanentStoreError(JobErrorCode.ProviderInvalidAnswer, `the provider returned ${outputs.length} outputs; at most ${this.config.limits.maxOutputs} are accepted`);
      }
      for (const [idx, output] of (outputs as string[]).entries()) {
        const key = `outputs/${jobId}/${idx}.png`;
        const stored = /^https?:\/\//i.test(output) ? await this.copyUrl(key, output) : await this.copyBase64(key, output);
        const head = await this.storage.head(key);
        if (head.ContentLength !== stored.bytes) {
          throw new Error(`S3 holds ${head.ContentLength} bytes for ${key}, ${stored.bytes} were sent`);
        }
        await this.jobs.saveOutput({ jobId, idx, s3Key: key, sha256: stored.sha256, bytes: stored.bytes, contentType: stored.contentType });
      }
      const done = await this.jobs.markSucceeded(jobId, attemptId);
      if (done) {
        this.metrics.observeStage('store', started);
        this.metrics.observeStage('end_to_end', row.createdAt);
      }
      log.info({ jobId, trackId, outputs: outputs.length, done }, 'outputs stored');
      return done ? 'succeeded' : 'stored (job moved on meanwhile)';
    } catch (err) {
      if (err instanceof PermanentStoreError) {
        await this.jobs.fail(jobId, ['storing'], err.code, err.message);
        throw new UnrecoverableError(err.message);
      }
      const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      log.warn({ jobId, trackId, err: (err as Error).message, final }, 'store step failed');
      if (final) {
        await this.jobs.fail(jobId, ['storing'], JobErrorCode.StorageFailed, `could not store the outputs: ${(err as Error).message}`);
        throw new UnrecoverableError((err as Error).message);
      }
      throw err;
    }
  }

  private async copyUrl(key: string, url: string): Promise<StoredObject> {
    const { maxOutputBytes, outputDownloadTimeoutMs } = this.config.limits;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(outputDownloadTimeoutMs) });
    } catch (err) {
      throw new Error(`downloading ${redactUrl(url)} failed: ${(err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message}`);
    }
    if (res.status === 404 || res.status === 410 || res.status === 403) {
      throw new PermanentStoreError(JobErrorCode.OutputDownloadFailed, `the provider's output link answered ${res.status} (expired?)`);
    }
    if (!res.ok || !res.body) throw new Error(`downloading ${redactUrl(url)} answered ${res.status}`);
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > maxOutputBytes) {
      await res.body.cancel();
      throw new PermanentStoreError(JobErrorCode.OutputTooLarge, `the output is ${declared} bytes; the limit is ${maxOutputBytes}`);
    }
    const type = res.headers.get('content-type') ?? '';
    const contentType = type.startsWith('image/') ? type.split(';')[0]! : 'image/png';
    try {
      // Bounded by the abort signal above, also while streaming.
      return await this.storage.putStream(key, Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), contentType, maxOutputBytes);
    } catch (err) {
      if (err instanceof ObjectTooLargeError) throw new PermanentStoreError(JobErrorCode.OutputTooLarge, `the output is over the limit of ${maxOutputBytes} bytes`);
      throw err;
    }
  }

  private async copyBase64(key: string, data: string): Promise<StoredObject> {
    const decoded = decodeBase64Image('output', data, this.config.limits.maxOutputBytes);
    if (!decoded.ok) throw new PermanentStoreError(JobErrorCode.ProviderInvalidAnswer, `an output is neither a URL nor valid base64 (${decoded.issues[0]!.message})`);
    return this.storage.putBuffer(key, decoded.value, 'image/png');
  }
}
