/** The provider's three answer shapes (success / processing / error) built from a job. */
import type { RemovalJob } from '../jobs/removal-job.js';
import type { RemovalJobsService } from '../jobs/removal-jobs.service.js';

export async function answerFor(job: RemovalJob, jobs: RemovalJobsService): Promise<{ httpStatus: number; body: Record<string, unknown> }> {
  const id = Number(job.id);
  const links = jobs.outputUrls(job);
  switch (job.state) {
    case 'succeeded':
      return {
        httpStatus: 200,
        body: {
          status: 'success',
          generationTime: job.generationTime,
          id,
          output: await jobs.outputsOf(job),
          proxy_links: links,
          meta: job.meta,
        },
      };
    case 'failed':
      return { httpStatus: 200, body: { status: 'error', message: job.error ?? 'processing failed' } };
    default:
      return {
        httpStatus: 200,
        body: {
          status: 'processing',
          tip: 'The image is queued in the self-hosted engine; the result comes by webhook or by POSTing fetch_result.',
          eta: jobs.etaFor(job),
          message: job.state === 'running' ? 'Image is being processed' : 'Request queued, try fetch_result after eta seconds',
          fetch_result: `${jobs.publicUrl}/api/v6/image_editing/fetch/${job.id}`,
          id,
          output: [],
          future_links: links,
          proxy_links: links,
          meta: job.meta,
        },
      };
  }
}
