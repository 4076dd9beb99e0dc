/**
 * /v1/batches: bulk catalog processing. See README "Batches" for the contract.
 *
 * POST accepts `application/json` `{items, options?, callback_url?, metadata?}` (at most 10,000 items) or a
 * streamed `application/x-ndjson` / `text/csv` body (at most BATCH_MAX_ROWS rows). Batch settings for
 * streamed bodies: query parameters `options` and `metadata` (JSON) and `callback_url`, or an NDJSON first
 * line `{"batch": {...}}` (which wins). `?strict=true` writes nothing unless every row is valid.
 */
import { Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { ApiErrorCode, BATCH_MAX_JSON_ITEMS } from '../../../../libs/contracts/src/index.js';
import { ApiKeyGuard, type AuthedRequest } from '../auth/api-key.guard.js';
import { ApiError } from '../errors/api-error.js';
import { csvRows, jsonRows, ndjsonRows, type RawRow } from './batch-body.js';
import { BatchesService, type IngestRequest } from './batches.service.js';

const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,255}$/;
const NDJSON_TYPES = /^application\/(x-ndjson|ndjson|jsonl|x-jsonlines)\b/;

function parseJsonParam(name: string, raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ApiError(400, ApiErrorCode.InvalidJson, `the ${name} query parameter must be JSON`, [{ field: name }]);
  }
}

function parseStrict(raw: string | undefined): boolean {
  if (raw === undefined || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1' || raw === '') return true;
  throw new ApiError(422, ApiErrorCode.ValidationFailed, 'strict must be true or false', [{ field: 'strict' }]);
}

/** Which results format the Accept header asks for (NDJSON unless CSV is preferred). */
export function resultsFormat(accept: string | undefined): 'ndjson' | 'csv' | null {
  if (!accept || accept.trim() === '') return 'ndjson';
  const types = accept.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  for (const t of types) {
    if (t === 'text/csv') return 'csv';
    if (NDJSON_TYPES.test(t) || t === 'application/json' || t === '*/*' || t === 'application/*') return 'ndjson';
    if (t === 'text/*') return 'csv';
  }
  return null;
}

@Controller('v1/batches')
@UseGuards(ApiKeyGuard)
export class BatchesController {
  constructor(private readonly batches: BatchesService) {}

  @Post()
  @HttpCode(202)
  async create(
    @Req() req: AuthedRequest,
    @Query() q: Record<string, string | undefined>,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    try {
      const contentType = (req.headers['content-type'] ?? '').toLowerCase();
      if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_RE.test(idempotencyKey)) {
        throw new ApiError(400, ApiErrorCode.InvalidIdempotencyKey, 'Idempotency-Key must be 1 to 255 visible ASCII characters');
      }
      const strict = parseStrict(q.strict);
      const unknownParams = Object.keys(q).filter((k) => !['strict', 'options', 'metadata', 'callback_url'].includes(k));
      if (unknownParams.length > 0) throw new ApiError(400, ApiErrorCode.UnknownField, `unknown query parameter ${unknownParams.join(', ')}`, unknownParams.map((field) => ({ field })));
      const queryDefaults = { options: parseJsonParam('options', q.options), metadata: parseJsonParam('metadata', q.metadata), callback_url: q.callback_url };
      let header: Record<string, unknown> | undefined;
      let format: IngestRequest['format'];
      let rows: AsyncIterator<RawRow> | Iterator<RawRow>;
      let defaults: IngestRequest['defaults'] = queryDefaults;
      if (/^application\/(.+\+)?json\b/.test(contentType)) {
        format = 'json';
        const body = req.body as unknown;
        if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, ApiErrorCode.InvalidType, 'the body must be a JSON object {items: [...]}');
        const { items, options, callback_url, metadata, ...extra } = body as Record<string, unknown>;
        const extraKeys = Object.keys(extra);
        if (extraKeys.length > 0) throw new ApiError(400, ApiErrorCode.UnknownField, `${extraKeys.join(', ')} is not a known field`, extraKeys.map((field) => ({ field })));
        if (!Array.isArray(items)) throw new ApiError(400, ApiErrorCode.InvalidType, 'items must be an array', [{ field: 'items' }]);
        if (items.length > BATCH_MAX_JSON_ITEMS) {
          throw new ApiError(413, ApiErrorCode.BatchTooLarge, `a JSON batch holds at most ${BATCH_MAX_JSON_ITEMS} items; stream larger batches as NDJSON or CSV`);
        }
        defaults = { options: options ?? queryDefaults.options, callback_url: callback_url ?? queryDefaults.callback_url, metadata: metadata ?? queryDefaults.metadata };
        rows = jsonRows(items);
      } else if (NDJSON_TYPES.test(contentType)) {
        format = 'ndjson';
        rows = ndjsonRows(req, (settings) => (header = settings as Record<string, unknown>))[Symbol.asyncIterator]();
      } else if (contentType.startsWith('text/csv')) {
        format = 'csv';
        rows = csvRows(req)[Symbol.asyncIterator]();
      } else {
        throw new ApiError(415, ApiErrorCode.UnsupportedMediaType, 'send application/json {items: [...]}, application/x-ndjson or text/csv');
      }
      const { view, replayed } = await this.batches.create({
        tenantId: req.tenantId,
        format,
        rows,
        defaults,
        headerDefaults: () => header,
        strict,
        idempotencyKey,
      });
      if (replayed) res.setHeader('Idempotent-Replayed', 'true');
      res.setHeader('Location', `/v1/batches/${view.id}`);
      return view;
    } finally {
      // Answered before the body was read to its end (a replay, an error): discard the rest and close.
      if (!req.readableEnded && !req.destroyed) {
        res.setHeader('Connection', 'close');
        req.resume();
      }
    }
  }

  @Get()
  list(@Req() req: AuthedRequest, @Query() q: Record<string, string>) {
    return this.batches.list(req.tenantId, q);
  }

  @Get(':id')
  get(@Req() req: AuthedRequest, @Param('id') id: string) {
    return this.batches.get(req.tenantId, id);
  }

  /** NDJSON (default) or CSV by Accept; `?state=` filters, `?after=<line>` resumes after a line. */
  @Get(':id/results')
  async results(@Req() req: AuthedRequest, @Param('id') id: string, @Query() q: Record<string, string>, @Res() res: Response): Promise<void> {
    const format = resultsFormat(req.headers.accept);
    if (!format) throw new ApiError(406, ApiErrorCode.NotAcceptable, 'results are available as application/x-ndjson or text/csv');
    await this.batches.streamResults(req.tenantId, id, format, q, res);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Req() req: AuthedRequest, @Param('id') id: string) {
    return this.batches.cancel(req.tenantId, id);
  }

  @Post(':id/retry-failed')
  @HttpCode(202)
  retryFailed(@Req() req: AuthedRequest, @Param('id') id: string) {
    return this.batches.retryFailed(req.tenantId, id);
  }
}
