import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, Req, Res, UploadedFile, UseGuards, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Response } from 'express';
import { APP_CONFIG, type AppConfig } from '../../../../libs/config/src/index.js';
import { ApiErrorCode, parseCreateJob, type JobView } from '../../../../libs/contracts/src/index.js';
import { ApiKeyGuard, type AuthedRequest } from '../auth/api-key.guard.js';
import { OutboundUrlChecker } from '../outbound/outbound-url-checker.service.js';
import { ApiError } from '../errors/api-error.js';
import { JobsService } from './jobs.service.js';

const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,255}$/;

/** Multipart fields arrive as strings: options and metadata are JSON, the rest plain. */
function fromMultipartFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...fields };
  for (const name of ['options', 'metadata'] as const) {
    const raw = out[name];
    if (typeof raw !== 'string') continue;
    try {
      out[name] = JSON.parse(raw);
    } catch {
      throw new ApiError(400, ApiErrorCode.InvalidJson, `${name} must be a JSON object`, [{ field: name }]);
    }
  }
  return out;
}

@Controller('v1/jobs')
@UseGuards(ApiKeyGuard)
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly outbound: OutboundUrlChecker,
  ) {}

  /** JSON `{image_url | image_base64, options, ...}` or multipart with a file field named `image`. */
  @Post()
  @HttpCode(202)
  @UseInterceptors(FileInterceptor('image'))
  async create(
    @Req() req: AuthedRequest,
    @Body() body: unknown,
    @UploadedFile() file: Express.Multer.File | undefined,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<JobView> {
    const contentType = req.headers['content-type'] ?? '';
    const multipart = contentType.startsWith('multipart/form-data');
    if (!multipart && !/^application\/(.+\+)?json\b/.test(contentType)) {
      throw new ApiError(415, ApiErrorCode.UnsupportedMediaType, 'send application/json or multipart/form-data');
    }
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_RE.test(idempotencyKey)) {
      throw new ApiError(400, ApiErrorCode.InvalidIdempotencyKey, 'Idempotency-Key must be 1 to 255 visible ASCII characters');
    }
    const input = multipart ? fromMultipartFields((body ?? {}) as Record<string, unknown>) : body;
    const parsed = parseCreateJob(input, { maxImageBytes: this.config.limits.maxImageBytes }, multipart ? (file?.buffer ?? undefined) : undefined);
    if (!parsed.ok) throw ApiError.fromIssues(parsed.issues);
    await this.outbound.assertAllowed({ image_url: parsed.value.image.kind === 'url' ? parsed.value.image.url : undefined, callback_url: parsed.value.callbackUrl });
    const { view, replayed } = await this.jobs.create(req.tenantId, parsed.value, idempotencyKey);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.setHeader('Location', `/v1/jobs/${view.id}`);
    return view;
  }

  @Get()
  list(@Req() req: AuthedRequest, @Query() q: Record<string, string>) {
    return this.jobs.list(req.tenantId, q);
  }

  @Get(':id')
  get(@Req() req: AuthedRequest, @Param('id') id: string): Promise<JobView> {
    return this.jobs.get(req.tenantId, id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Req() req: AuthedRequest, @Param('id') id: string): Promise<JobView> {
    return this.jobs.cancel(req.tenantId, id);
  }

  @Post(':id/retry')
  @HttpCode(202)
  retry(@Req() req: AuthedRequest, @Param('id') id: string): Promise<JobView> {
    return this.jobs.retry(req.tenantId, id);
  }
}
