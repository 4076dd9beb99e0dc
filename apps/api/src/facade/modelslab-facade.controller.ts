/**
 * ModelsLab-compatible endpoints on maskflow: `removebg_mask` and `fetch/{id}` with the maskflow API key as
 * `key` in the body, the provider's request fields and answer shapes. A request becomes an ordinary maskflow
 * job of the key's tenant (queueing, plan-safe concurrency, S3 outputs, retries); the caller's `webhook`
 * gets the provider-shaped payload with its `track_id` when the job ends (the worker sends it).
 */
import { Body, Controller, HttpCode, Inject, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { APP_CONFIG, createLogger, type AppConfig } from '../../../../libs/config/src/index.js';
import { JobName, decodeBase64Image, parseFacadeSubmit, type CreateJobInput, type FacadeAnswer } from '../../../../libs/contracts/src/index.js';
import { FacadeRequestRepository } from '../../../../libs/db/src/index.js';
import { ModelslabFacadePresenter } from '../../../../libs/pipeline/src/index.js';
import { QueueService } from '../../../../libs/queue/src/index.js';
import { ApiKeyResolver, type Principal } from '../access/api-key-resolver.service.js';
import { RateLimiter, rateLimitHeaders } from '../access/rate-limiter.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import { OutboundUrlChecker } from '../outbound/outbound-url-checker.service.js';
import { FacadeError, FacadeExceptionFilter } from './facade-exception.filter.js';

const log = createLogger('api.facade');
/** A rough per-round time for the `eta` (the provider's own answers are estimates too). */
const SECONDS_PER_ROUND = 5;

@Controller('api/v6/image_editing')
@UseFilters(FacadeExceptionFilter)
export class ModelslabFacadeController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly resolver: ApiKeyResolver,
    private readonly limiter: RateLimiter,
    private readonly jobs: JobsService,
    private readonly requests: FacadeRequestRepository,
    private readonly presenter: ModelslabFacadePresenter,
    private readonly queues: QueueService,
    private readonly outbound: OutboundUrlChecker,
  ) {}

  @Post('removebg_mask')
  @HttpCode(200)
  async removebgMask(@Body() body: unknown, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<FacadeAnswer> {
    const fields = this.object(body);
    const principal = await this.authenticate(fields, res);
    const parsed = parseFacadeSubmit(fields);
    if (!parsed.ok) throw new FacadeError(400, parsed.message);
    const p = parsed.value;
    for (const [field, url] of [['image', p.image.kind === 'url' ? p.image.url : undefined], ['webhook', p.webhook]] as const) {
      const blocked = await this.outbound.issueFor(field, url);
      if (blocked) throw new FacadeError(400, `The ${field} field is invalid: ${blocked.message.replace(/^\w+: /, '')}.`);
    }
    let image: CreateJobInput['image'];
    if (p.image.kind === 'url') {
      image = p.image;
    } else {
      const decoded = decodeBase64Image('image', p.image.data, this.config.limits.maxImageBytes);
      if (!decoded.ok) throw new FacadeError(400, `The image field is invalid: ${decoded.issues[0]!.message.replace(/^image /, '')}; give a link or base64 data.`);
      image = { kind: 'bytes', bytes: decoded.value };
    }
    const { view } = await this.jobs.create(principal.tenantId, { image, options: p.options, trackId: p.trackId === null ? undefined : String(p.trackId), metadata: { via: 'modelslab-facade' } }, undefined);
    const created = await this.requests.create({ jobId: view.id, tenantId: principal.tenantId, webhook: p.webhook, trackId: p.trackId, base64: p.base64 });
    log.info({ jobId: view.id, trackId: view.track_id, facadeId: created.id.toString(), webhook: p.webhook !== null }, 'facade request accepted');
    return this.answerFor(principal.tenantId, created.id, req);
  }

  @Post('fetch/:id')
  @HttpCode(200)
  async fetch(@Param('id') rawId: string, @Body() body: unknown, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<FacadeAnswer> {
    const principal = await this.authenticate(this.object(body), res);
    if (!/^\d{1,18}$/.test(rawId)) throw new FacadeError(404, 'Request not found.');
    return this.answerFor(principal.tenantId, BigInt(rawId), req);
  }

  private object(body: unknown): Record<string, unknown> {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new FacadeError(400, 'The request body must be a JSON object.');
    return body as Record<string, unknown>;
  }

  /** `key` in the body, as at ModelsLab; counts against the key's rate limit (429 with `retry_after`). */
  private async authenticate(body: Record<string, unknown>, res: Response): Promise<Principal> {
    const principal = typeof body.key === 'string' && body.key.length > 0 ? await this.resolver.resolve(body.key) : null;
    if (!principal) throw new FacadeError(401, 'Invalid API key. Please provide a valid API key.');
    const limit = await this.limiter.hit(principal.keyId, principal.rateLimit);
    if (limit) {
      res.set(rateLimitHeaders(limit));
      if (!limit.allowed) throw new FacadeError(429, `Rate limit exceeded. Your key allows ${limit.limit} requests per ${limit.windowSeconds} seconds; retry after ${limit.resetSeconds} seconds.`, { retry_after: limit.resetSeconds });
    }
    return principal;
  }

  private async answerFor(tenantId: string, id: bigint, req: Request): Promise<FacadeAnswer> {
    const r = await this.requests.find(tenantId, id);
    if (!r) throw new FacadeError(404, 'Request not found.');
    const baseUrl = this.config.publicBaseUrl ?? `${req.protocol}://${req.get('host')}`;
    return this.presenter.answer(r, baseUrl, await this.eta());
  }

  /** Rounds of provider slots ahead of a new job, times a rough round time. */
  private async eta(): Promise<number> {
    const counts = await this.queues
      .queue(JobName.SubmitToProvider)
      .getJobCounts('waiting', 'prioritized', 'delayed', 'active')
      .catch(() => ({}) as Record<string, number>);
    const ahead = Object.values(counts).reduce((a, b) => a + b, 0);
    return SECONDS_PER_ROUND * (1 + Math.floor(ahead / this.config.provider.maxInFlight));
  }
}
