import { once } from 'node:events';
import { Inject, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { APP_CONFIG, createLogger, type AppConfig } from '../../../../libs/config/src/index.js';
import {
  ApiErrorCode,
  BATCH_MAX_REJECTED_LISTED,
  BATCH_STATES,
  JOB_STATES,
  parseBatchDefaults,
  parseBatchRow,
  type BatchCreatedView,
  type BatchDefaults,
  type BatchFormat,
  type BatchItem,
  type BatchResultItem,
  type BatchStateName,
  type BatchView,
  type JobStateName,
  type RejectedRow,
} from '../../../../libs/contracts/src/index.js';
import { BatchCompletion, BatchPresenter } from '../../../../libs/batches/src/index.js';
import { BatchRepository, type Batch, type ResultRow } from '../../../../libs/db/src/index.js';
import { ObjectStorage } from '../../../../libs/storage/src/index.js';
import { ApiError } from '../errors/api-error.js';
import { encodeCursor } from '../jobs/jobs.service.js';
import type { RawRow } from './batch-body.js';

const log = createLogger('api.batches');
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RESULTS_PAGE = 500;

export interface IngestRequest {
  tenantId: string;
  format: BatchFormat;
  rows: AsyncIterator<RawRow> | Iterator<RawRow>;
  /** Batch settings from the query string / JSON body; the NDJSON header line (if any) is read from `headerDefaults`. */
  defaults: { options?: unknown; callback_url?: unknown; metadata?: unknown };
  headerDefaults: () => { options?: unknown; callback_url?: unknown; metadata?: unknown } | undefined;
  strict: boolean;
  idempotencyKey?: string;
}

function decodeCursor(raw: string): { createdAt: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(at);
    if (Number.isNaN(createdAt.getTime()) || !UUID_RE.test(id)) throw new Error('bad cursor');
    return { createdAt, id };
  } catch {
    throw new ApiError(400, ApiErrorCode.InvalidCursor, 'cursor is not a cursor returned by this API');
  }
}

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const RESULTS_CSV_HEADER = 'line,external_id,job_id,state,output_urls,output_sha256,error_code,error_message,completed_at';

@Injectable()
export class BatchesService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly batches: BatchRepository,
    private readonly completion: BatchCompletion,
    private readonly presenter: BatchPresenter,
    private readonly storage: ObjectStorage,
  ) {}

  /**
   * Ingests a batch in one transaction (see BatchRepository): a replayed Idempotency-Key answers the
   * original batch; strict mode with any bad row, a batch without a valid row, a body over the row limit
   * or a client that goes away all end in ROLLBACK with nothing written.
   */
  async create(r: IngestRequest): Promise<{ view: BatchCreatedView; replayed: boolean }> {
    // The first row is read before the transaction opens: it may be preceded by the NDJSON settings line.
    const first = await r.rows.next();
    const header = r.headerDefaults();
    const merged = { ...r.defaults, ...Object.fromEntries(Object.entries(header ?? {}).filter(([, v]) => v !== undefined)) };
    if (header !== undefined && (header === null || typeof header !== 'object' || Array.isArray(header))) {
      throw new ApiError(400, ApiErrorCode.InvalidType, 'the {"batch": ...} line must hold an object with options, callback_url and metadata');
    }
    const unknown = Object.keys(header ?? {}).filter((k) => !['options', 'callback_url', 'metadata'].includes(k));
    if (unknown.length > 0) throw new ApiError(400, ApiErrorCode.UnknownField, `batch settings take options, callback_url and metadata, not ${unknown.join(', ')}`, unknown.map((field) => ({ field })));
    const parsedDefaults = parseBatchDefaults(merged);
    if (!parsedDefaults.ok) throw ApiError.fromIssues(parsedDefaults.issues);
    const defaults: BatchDefaults = parsedDefaults.value;

    const begun = await this.batches.beginIngest({
      tenantId: r.tenantId,
      idempotencyKey: r.idempotencyKey,
      format: r.format,
      options: defaults.options,
      callbackUrl: defaults.callbackUrl,
      metadata: defaults.metadata,
    });
    if ('replayOf' in begun) return { view: await this.createdView(begun.replayOf), replayed: true };
    const { ingest } = begun;

    const maxRows = this.config.batches.maxRows;
    let rows = 0;
    let rejectedTotal = 0;
    const rejected: RejectedRow[] = [];
    const rowsIter = r.rows;
    async function* accepted(): AsyncGenerator<BatchItem> {
      let next = first;
      while (!next.done) {
        const row = next.value;
        if (++rows > maxRows) throw new ApiError(413, ApiErrorCode.BatchTooLarge, `a batch holds at most ${maxRows} rows; nothing was written`);
        const res = 'rejected' in row ? { ok: false as const, issues: [row.rejected] } : parseBatchRow(row.raw, row.line, defaults);
        if (res.ok) {
          if (!(r.strict && rejectedTotal > 0)) yield res.item;
        } else {
          rejectedTotal++;
          for (const issue of res.issues) if (rejected.length < BATCH_MAX_REJECTED_LISTED) rejected.push(issue);
        }
        next = await rowsIter.next();
      }
    }

    try {
      const written = await ingest.copy(accepted());
      if (r.strict && rejectedTotal > 0) {
        throw new ApiError(422, ApiErrorCode.BatchRejected, `${rejectedTotal} of ${rows} rows failed validation; strict mode: nothing was written`, { rejected_total: rejectedTotal, rejected });
      }
      if (written === 0) {
        throw new ApiError(422, ApiErrorCode.BatchEmpty, rows === 0 ? 'the batch has no rows' : `none of the ${rows} rows is valid; nothing was written`, { rejected_total: rejectedTotal, rejected });
      }
      await ingest.commit({ totalItems: written, rejectedTotal, rejected });
      log.info({ batchId: ingest.batchId, format: r.format, items: written, rejected: rejectedTotal }, 'batch accepted');
    } catch (err) {
      await ingest.rollback();
      if (!(err instanceof ApiError)) log.warn({ err: (err as Error).message, format: r.format, rows }, 'batch ingest aborted; rolled back, nothing was written');
      throw err;
    }
    const batch = await this.batches.findById(ingest.batchId);
    return { view: await this.createdView(batch!), replayed: false };
  }

  private async createdView(batch: Batch): Promise<BatchCreatedView> {
    return { ...(await this.presenter.present(batch)), rejected: batch.rejected as unknown as RejectedRow[] };
  }

  private async load(tenantId: string, id: string): Promise<Batch> {
    const batch = UUID_RE.test(id) ? await this.batches.find(tenantId, id) : null;
    if (!batch) throw new ApiError(404, ApiErrorCode.NotFound, `no batch ${id}`);
    return batch;
  }

  async get(tenantId: string, id: string): Promise<BatchView> {
    return this.presenter.present(await this.load(tenantId, id));
  }

  async list(tenantId: string, q: { limit?: string; cursor?: string; state?: string }): Promise<{ data: BatchView[]; next_cursor: string | null }> {
    if (q.state !== undefined && !BATCH_STATES.includes(q.state as BatchStateName)) {
      throw new ApiError(422, ApiErrorCode.ValidationFailed, `state must be one of ${BATCH_STATES.join(', ')}`, [{ field: 'state' }]);
    }
    const limit = q.limit === undefined ? 20 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new ApiError(422, ApiErrorCode.ValidationFailed, 'limit must be an integer from 1 to 100', [{ field: 'limit' }]);
    }
    const rows = await this.batches.list(tenantId, { limit: limit + 1, cursor: q.cursor ? decodeCursor(q.cursor) : undefined, state: q.state as BatchStateName | undefined });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: await this.presenter.presentMany(page),
      next_cursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
    };
  }

  async cancel(tenantId: string, id: string): Promise<BatchView> {
    const before = await this.load(tenantId, id);
    const done = await this.batches.cancel(tenantId, id);
    if (!done) throw new ApiError(409, ApiErrorCode.InvalidState, `batch ${id} is ${before.state}; only a running batch can be canceled`);
    log.info({ batchId: id, canceledItems: done.canceledItems }, 'batch canceled');
    // Items still at the provider were canceled too (their late results are ignored): it may be complete now.
    await this.completion.checkCompleted(id);
    return this.get(tenantId, id);
  }

  async retryFailed(tenantId: string, id: string): Promise<BatchView & { retried: number }> {
    const before = await this.load(tenantId, id);
    const done = await this.batches.retryFailed(tenantId, id);
    if (!done) throw new ApiError(409, ApiErrorCode.InvalidState, `batch ${id} is ${before.state}; a canceled batch cannot be retried`);
    log.info({ batchId: id, retried: done.retried }, 'batch failed items re-queued');
    return { ...(await this.get(tenantId, id)), retried: done.retried };
  }

  /**
   * Streams the batch's items in line order, one keyset page at a time (memory stays flat whatever the
   * size), as NDJSON or CSV. Works while the batch runs: each item shows its state at the time its page
   * was read. Stops when the client goes away; a failure mid-stream cuts the connection (never a stream
   * that looks complete but is not).
   */
  async streamResults(tenantId: string, id: string, format: 'ndjson' | 'csv', q: { state?: string; after?: string }, res: Response): Promise<void> {
    await this.load(tenantId, id);
    if (q.state !== undefined && !JOB_STATES.includes(q.state as JobStateName)) {
      throw new ApiError(422, ApiErrorCode.ValidationFailed, `state must be one of ${JOB_STATES.join(', ')}`, [{ field: 'state' }]);
    }
    let after = q.after === undefined ? 0 : Number(q.after);
    if (!Number.isInteger(after) || after < 0) throw new ApiError(422, ApiErrorCode.ValidationFailed, 'after must be a line number (integer >= 0)', [{ field: 'after' }]);
    res.status(200);
    res.setHeader('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    let gone = false;
    res.on('close', () => (gone = true));
    const write = async (text: string) => {
      if (!res.write(text)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    };
    try {
      if (format === 'csv') await write(`${RESULTS_CSV_HEADER}\n`);
      for (;;) {
        const page = await this.batches.resultsPage(id, after, RESULTS_PAGE, q.state as JobStateName | undefined);
        if (gone) return;
        let text = '';
        for (const row of page) {
          const item = await this.resultItem(row);
          text += format === 'csv' ? `${this.csvLine(item)}\n` : `${JSON.stringify(item)}\n`;
        }
        if (text) await write(text);
        if (gone) return;
        if (page.length < RESULTS_PAGE) break;
        after = page[page.length - 1]!.batchSeq;
      }
      res.end();
    } catch (err) {
      log.error({ err, batchId: id }, 'results stream failed; cutting the connection');
      res.destroy(err as Error);
    }
  }

  private async resultItem(row: ResultRow): Promise<BatchResultItem> {
    return {
      line: row.batchSeq,
      external_id: row.externalId,
      job_id: row.id,
      state: row.state,
      outputs: await Promise.all(row.outputs.map(async (o) => ({ url: await this.storage.presignGet(o.s3_key), sha256: o.sha256, bytes: Number(o.bytes), content_type: o.content_type }))),
      error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
      completed_at: row.completedAt ? new Date(row.completedAt).toISOString() : null,
    };
  }

  private csvLine(i: BatchResultItem): string {
    return [
      i.line,
      i.external_id,
      i.job_id,
      i.state,
      i.outputs.map((o) => o.url).join(' '),
      i.outputs.map((o) => o.sha256).join(' '),
      i.error?.code ?? null,
      i.error?.message ?? null,
      i.completed_at,
    ]
      .map(csvCell)
      .join(',');
  }
}
