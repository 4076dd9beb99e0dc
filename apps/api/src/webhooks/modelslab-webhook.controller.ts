/**
 * The provider's callback. ModelsLab does not sign webhooks, so the URL we give it carries the attempt id
 * (also sent as track_id) and an unguessable per-attempt token, compared in constant time. The receiver
 * only reconciles into Postgres and enqueues the S3 copy, so it answers in milliseconds.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { createLogger } from '../../../../libs/config/src/index.js';
import { ApiErrorCode } from '../../../../libs/contracts/src/index.js';
import { JobRepository } from '../../../../libs/db/src/index.js';
import { ResultReconciler } from '../../../../libs/pipeline/src/index.js';
import { parseWebhookPayload } from '../../../../libs/provider/src/index.js';
import { ApiError } from '../errors/api-error.js';

const log = createLogger('api.webhooks');
const digest = (s: string) => createHash('sha256').update(s).digest();

@Controller('webhooks/modelslab')
export class ModelslabWebhookController {
  constructor(
    private readonly jobs: JobRepository,
    private readonly reconciler: ResultReconciler,
  ) {}

  @Post(':attemptId/:token')
  @HttpCode(200)
  async receive(@Param('attemptId') attemptIdRaw: string, @Param('token') token: string, @Body() body: unknown): Promise<{ received: true; outcome: string }> {
    if (!/^\d{1,18}$/.test(attemptIdRaw)) throw new ApiError(404, ApiErrorCode.NotFound, 'unknown webhook');
    const attemptId = BigInt(attemptIdRaw);
    const attempt = await this.jobs.findAttempt(attemptId);
    if (!attempt) {
      log.warn({ attemptId: attemptIdRaw }, 'webhook for an unknown attempt');
      throw new ApiError(404, ApiErrorCode.NotFound, 'unknown webhook');
    }
    if (!timingSafeEqual(digest(token), digest(attempt.webhookToken))) {
      log.warn({ attemptId: attemptIdRaw, jobId: attempt.jobId }, 'webhook with a wrong token');
      throw new ApiError(401, ApiErrorCode.Unauthorized, 'unknown webhook');
    }
    const { result, trackId } = parseWebhookPayload(body);
    if (trackId !== null && trackId !== attemptIdRaw) {
      // The URL and the payload disagree: keep the payload for audit, change nothing.
      const applied = await this.reconciler.apply(attemptId, null, 'webhook', body);
      log.warn({ attemptId: attemptIdRaw, trackId, jobId: attempt.jobId }, 'webhook track_id does not match its URL');
      return { received: true, outcome: applied.outcome === 'unknown_attempt' ? 'track_id_mismatch' : applied.outcome };
    }
    const applied = await this.reconciler.apply(attemptId, result, 'webhook', body);
    log.info({ attemptId: attemptIdRaw, jobId: attempt.jobId, outcome: applied.outcome }, 'provider webhook');
    return { received: true, outcome: result ? applied.outcome : 'unrecognised' };
  }
}
