import { Injectable } from '@nestjs/common';
import type { JobView, RemovebgOptions } from '../../../../libs/contracts/src/index.js';
import type { JobWithOutputs } from '../../../../libs/db/src/index.js';
import { ObjectStorage } from '../../../../libs/storage/src/index.js';

/** Job rows -> public JSON, with presigned S3 URLs for the outputs. */
@Injectable()
export class JobPresenter {
  constructor(private readonly storage: ObjectStorage) {}

  async present(job: JobWithOutputs): Promise<JobView> {
    const outputs = await Promise.all(
      [...job.outputs]
        .sort((a, b) => a.idx - b.idx)
        .map(async (o) => ({ url: await this.storage.presignGet(o.s3Key), sha256: o.sha256, bytes: Number(o.bytes), content_type: o.contentType })),
    );
    return {
      id: job.id,
      track_id: job.trackId,
      state: job.state,
      options: job.options as RemovebgOptions,
      image_url: job.imageUrl,
      callback_url: job.callbackUrl,
      metadata: (job.metadata as Record<string, unknown> | null) ?? null,
      attempts: job.attemptCount,
      provider: job.attempts?.[0]?.provider ?? null,
      outputs: job.state === 'succeeded' ? outputs : [],
      error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
      created_at: job.createdAt.toISOString(),
      updated_at: job.updatedAt.toISOString(),
      completed_at: job.completedAt?.toISOString() ?? null,
    };
  }
}
