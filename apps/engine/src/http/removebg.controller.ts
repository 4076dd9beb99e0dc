/** POST /api/v6/image_editing/removebg_mask and /fetch/{id}, answering exactly like ModelsLab. */
import { Body, Controller, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { cutoutOptionsOf, fetchRequestSchema, removeBgRequestSchema } from './removebg-request.schema.js';
import type { EngineConfig } from '../engine.config.js';
import { loadImageSource } from '../image/load-image-source.js';
import type { RemovalJobsService } from '../jobs/removal-jobs.service.js';
import { checkApiKey } from './api-key.js';
import { InvalidRequestError, UnknownRequestIdError } from './engine-errors.js';
import { ENGINE_CONFIG, REMOVAL_JOBS } from './engine-tokens.js';
import { answerFor } from './removebg-answers.js';

@Controller('api/v6/image_editing')
export class RemoveBgController {
  constructor(
    @Inject(ENGINE_CONFIG) private readonly config: EngineConfig,
    @Inject(REMOVAL_JOBS) private readonly jobs: RemovalJobsService,
  ) {}

  @Post('removebg_mask')
  @HttpCode(200)
  async removeBg(@Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<Record<string, unknown>> {
    checkApiKey(this.config.apiKey, body);
    const parsed = removeBgRequestSchema.safeParse(body ?? {});
    if (!parsed.success) {
      throw new InvalidRequestError(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    }
    const req = parsed.data;
    const bytes = await loadImageSource(req.image, this.config.maxInputBytes, this.config.fetchTimeoutMs, this.config.outbound);
    const job = await this.jobs.submit({
      bytes,
      options: cutoutOptionsOf(req),
      base64: req.base64,
      webhook: req.webhook,
      trackId: req.track_id,
      meta: {
        image: /^https?:\/\//i.test(req.image.trim()) ? req.image.trim() : `base64 (${bytes.length} bytes)`,
        seed: req.seed,
        post_process_mask: req.post_process_mask,
        only_mask: req.only_mask,
        inverse_mask: req.inverse_mask,
        alpha_matting: req.alpha_matting,
        alpha_matting_foreground_threshold: req.alpha_matting_foreground_threshold,
        alpha_matting_background_threshold: req.alpha_matting_background_threshold,
        alpha_matting_erode_size: req.alpha_matting_erode_size,
        base64: req.base64,
        webhook: req.webhook,
        track_id: req.track_id,
        model: `isnet-general-use (${this.config.model})`,
      },
    });
    if (this.config.syncWaitMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([job.done, new Promise<void>((r) => (timer = setTimeout(r, this.config.syncWaitMs)))]);
      clearTimeout(timer);
    }
    const answer = await answerFor(job, this.jobs);
    // A request whose own image is bad fails synchronously: answer it like any bad request (400).
    res.status(job.state === 'failed' ? 400 : answer.httpStatus);
    return answer.body;
  }

  @Post('fetch/:id')
  @HttpCode(200)
  async fetchResult(@Param('id') id: string, @Body() body: unknown): Promise<Record<string, unknown>> {
    checkApiKey(this.config.apiKey, body);
    if (!fetchRequestSchema.safeParse(body ?? {}).success) throw new InvalidRequestError('key must be a string');
    const job = /^\d+$/.test(id) ? this.jobs.get(id) : undefined;
    if (!job) throw new UnknownRequestIdError(id);
    return (await answerFor(job, this.jobs)).body;
  }
}
