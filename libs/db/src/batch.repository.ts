/**
 * Batches in Postgres. Ingest is one transaction per batch: the batch row, then every accepted item through
 * `COPY jobs FROM STDIN` (pg-copy-streams, streamed with backpressure), then the totals; COMMIT only when the
 * whole body was read. A client that disconnects, a strict batch with a bad row or a body over the row limit
 * ends in ROLLBACK: a batch is either complete or absent, never half-accepted.
 *
 * Counts per state are a grouped COUNT over jobs(batch_id, state, released_at) (no counters to keep in step
 * with every job transition; see bench/batch-ingest.bench.ts for the measurement). The feeder hands items
 * to the queue in bounded windows; completion is one conditional UPDATE per run of the batch.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { BatchFormat, BatchItem, BatchStateName, JobStateName, RejectedRow } from '../../contracts/src/index.js';
import { JOB_STATES } from '../../contracts/src/index.js';
import { PrismaService } from './prisma.service.js';
import { ConsumerEvents } from './consumer-events.js';
import type { Batch, Prisma } from './generated/client.js';

const CANCEL_CHUNK = 10_000;

export interface NewBatch {
  tenantId: string;
  idempotencyKey?: string;
  format: BatchFormat;
  options: Record<string, unknown>;
  callbackUrl?: string;
  metadata?: Record<string, unknown>;
}

/** An ingest in progress: one open transaction holding the (still invisible) batch row. */
export interface BatchIngest {
  batchId: string;
  /** Streams the items into jobs with COPY; returns how many were written. Throwing from `items` aborts. */
  copy(items: AsyncIterable<BatchItem>): Promise<number>;
  commit(summary: { totalItems: number; rejectedTotal: number; rejected: RejectedRow[] }): Promise<void>;
  rollback(): Promise<void>;
}

export type StateCounts = Record<JobStateName, number>;

export interface ResultRow {
  id: string;
  batchSeq: number;
  externalId: string | null;
  state: JobStateName;
  errorCode: string | null;
  errorMessage: string | null;
  completedAt: Date | null;
  outputs: { idx: number; s3_key: string; sha256: string; bytes: number; content_type: string }[];
}

export interface ReleasedItem {
  id: string;
  trackId: string;
  runNo: number;
}

const COPY_COLUMNS = ['id', 'tenant_id', 'track_id', 'image_url', 'options', 'callback_url', 'metadata', 'batch_id', 'batch_seq', 'external_id'];

/** A value in COPY's text format. */
function copyField(v: string | number | null): string {
  if (v === null) return '\\N';
  const s = String(v);
  return /[\\\n\r\t]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t') : s;
}

function emptyCounts(): StateCounts {
  return Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as StateCounts;
}

@Injectable()
export class BatchRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Opens the ingest transaction and claims the idempotency key. With a key this tenant already used
   * (committed), answers the existing batch instead; a concurrent ingest with the same key makes this wait
   * for it (the unique index decides).
   */
  async beginIngest(b: NewBatch): Promise<{ replayOf: Batch } | { ingest: BatchIngest }> {
    const client = await this.prisma.pool.connect();
    let released = false;
    const release = (err?: Error) => {
      if (released) return;
      released = true;
      client.release(err);
    };
    try {
      await client.query('BEGIN');
      const id = randomUUID();
      const inserted = await client.query(
        `INSERT INTO batches (id, tenant_id, idempotency_key, total_items, options, callback_url, metadata, format)
         VALUES ($1, $2, $3, 0, $4, $5, $6, $7)
         ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id`,
        [id, b.tenantId, b.idempotencyKey ?? null, JSON.stringify(b.options), b.callbackUrl ?? null, b.metadata === undefined ? null : JSON.stringify(b.metadata), b.format],
      );
      if (inserted.rowCount === 0) {
        await client.query('ROLLBACK');
        release();
        const existing = await this.prisma.batch.findUnique({ where: { tenantId_idempotencyKey: { tenantId: b.tenantId, idempotencyKey: b.idempotencyKey! } } });
        if (!existing) throw new Error('idempotency conflict without a batch');
        return { replayOf: existing };
      }
      return { ingest: this.ingestOn(client, id, b.tenantId, release) };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      release(err as Error);
      throw err;
    }
  }

  private ingestOn(client: pg.PoolClient, batchId: string, tenantId: string, release: (err?: Error) => void): BatchIngest {
    let done = false;
    return {
      batchId,
      copy: async (items) => {
        let n = 0;
        const copy = client.query(copyStreams.from(`COPY jobs (${COPY_COLUMNS.join(', ')}) FROM STDIN`));
        // Rows are grouped into ~64 KiB chunks: fewer writes, same backpressure.
        async function* lines(): AsyncGenerator<string> {
          let chunk = '';
          for await (const it of items) {
            const id = randomUUID();
            chunk += `${[
              id,
              tenantId,
              copyField(it.trackId ?? id),
              copyField(it.imageUrl),
              copyField(JSON.stringify(it.options)),
              copyField(it.callbackUrl),
              copyField(it.metadata === null ? null : JSON.stringify(it.metadata)),
              batchId,
              it.line,
              copyField(it.externalId),
            ].join('\t')}\n`;
            n++;
            if (chunk.length >= 65_536) {
              yield chunk;
              chunk = '';
            }
          }
          if (chunk) yield chunk;
        }
        await pipeline(Readable.from(lines()), copy);
        return n;
      },
      commit: async (s) => {
        await client.query(`UPDATE batches SET total_items = $2, rejected_total = $3, rejected = $4 WHERE id = $1`, [batchId, s.totalItems, s.rejectedTotal, JSON.stringify(s.rejected)]);
        await client.query('COMMIT');
        done = true;
        release();
      },
      rollback: async () => {
        if (done) return;
        done = true;
        try {
          await client.query('ROLLBACK');
          release();
        } catch (err) {
          // The connection is in an unknown state (the COPY was cut mid-stream): drop it rather than reuse it.
          release(err as Error);
        }
      },
    };
  }

  find(tenantId: string, id: string): Promise<Batch | null> {
    return this.prisma.batch.findFirst({ where: { id, tenantId } });
  }

  findById(id: string): Promise<Batch | null> {
    return this.prisma.batch.findUnique({ where: { id } });
  }

  list(tenantId: string, f: { limit: number; cursor?: { createdAt: Date; id: string }; state?: BatchStateName }): Promise<Batch[]> {
    return this.prisma.batch.findMany({
      where: {
        tenantId,
        ...(f.state ? { state: f.state } : {}),
        ...(f.cursor ? { OR: [{ createdAt: { lt: f.cursor.createdAt } }, { createdAt: f.cursor.createdAt, id: { lt: f.cursor.id } }] } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: f.limit,
    });
  }

  /** Items per state for each batch: a grouped COUNT over the (batch_id, state, released_at) index. */
  async counts(batchIds: string[], runner: Pick<Prisma.TransactionClient, '$queryRaw'> = this.prisma): Promise<Map<string, StateCounts>> {
    const rows = await runner.$queryRaw<{ batchId: string; state: JobStateName; n: number }[]>`
      SELECT batch_id AS "batchId", state::text AS state, count(*)::int AS n
      FROM jobs WHERE batch_id = ANY(${batchIds}::uuid[]) GROUP BY batch_id, state`;
    const out = new Map(batchIds.map((id) => [id, emptyCounts()]));
    for (const r of rows) out.get(r.batchId)![r.state] = r.n;
    return out;
  }

  /** Items of the batch that reached a terminal state in the last `seconds`. */
  async finishedSince(batchId: string, seconds: number): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM jobs
      WHERE batch_id = ${batchId}::uuid AND completed_at > now() - make_interval(secs => ${seconds})`;
    return rows[0]?.n ?? 0;
  }

  /** One keyset page of results, in line order, with each item's stored outputs. */
  resultsPage(batchId: string, afterSeq: number, limit: number, state?: JobStateName): Promise<ResultRow[]> {
    return this.prisma.$queryRaw<ResultRow[]>`
      SELECT j.id, j.batch_seq AS "batchSeq", j.external_id AS "externalId", j.state::text AS state,
        j.error_code AS "errorCode", j.error_message AS "errorMessage", j.completed_at AS "completedAt",
        CASE WHEN j.state = 'succeeded' THEN COALESCE((
          SELECT json_agg(json_build_object('idx', o.idx, 's3_key', o.s3_key, 'sha256', o.sha256, 'bytes', o.bytes, 'content_type', o.content_type) ORDER BY o.idx)
          FROM job_outputs o WHERE o.job_id = j.id), '[]'::json) ELSE '[]'::json END AS outputs
      FROM jobs j
      WHERE j.batch_id = ${batchId}::uuid AND j.batch_seq > ${afterSeq}
        AND (${state ?? null}::text IS NULL OR j.state::text = ${state ?? null}::text)
      ORDER BY j.batch_seq LIMIT ${limit}`;
  }

  /**
   * Cancels the batch: running -> canceled, then every not-yet-terminal item -> canceled (conditional, so
   * an item finishing at the same moment keeps its result). Items at the provider have their later result
   * ignored, as for a single job. Returns null when the batch is not running.
   */
  async cancel(tenantId: string, id: string): Promise<{ canceledItems: number } | null> {
    return this.prisma.$transaction(async (tx) => {
      const n = await tx.$executeRaw`
        UPDATE batches SET state = 'canceled', canceled_at = now(), updated_at = now()
        WHERE id = ${id}::uuid AND tenant_id = ${tenantId} AND state = 'running'`;
      if (n === 0) return null;
      // In chunks, each with its items' job.canceled events: memory stays bounded for a million items.
      let canceledItems = 0;
      for (;;) {
        const ids = await tx.$queryRaw<{ id: string }[]>`
          UPDATE jobs SET state = 'canceled', completed_at = now(), updated_at = now(), error_code = NULL, error_message = NULL
          WHERE id IN (
            SELECT id FROM jobs WHERE batch_id = ${id}::uuid AND state IN ('queued', 'submitting', 'processing', 'storing')
            LIMIT ${CANCEL_CHUNK} FOR UPDATE)
          RETURNING id`;
        if (ids.length === 0) break;
        canceledItems += ids.length;
        await ConsumerEvents.emitForJobs(tx, ids.map((r) => r.id), 'job.canceled');
      }
      return { canceledItems };
    }, { timeout: 600_000 });
  }

  /**
   * failed items -> queued in a new run, held for the feeder again (released_at = NULL); the batch goes back
   * to running in a new run (completed_at cleared). Returns null when the batch is canceled or unknown;
   * `retried: 0` (and nothing changed) when no item failed.
   */
  async retryFailed(tenantId: string, id: string): Promise<{ retried: number } | null> {
    return this.prisma.$transaction(async (tx) => {
      const batch = await tx.$queryRaw<{ id: string }[]>`
        SELECT id FROM batches WHERE id = ${id}::uuid AND tenant_id = ${tenantId} AND state IN ('running', 'completed') FOR UPDATE`;
      if (batch.length === 0) return null;
      const retried = await tx.$executeRaw`
        UPDATE jobs SET state = 'queued', run_no = run_no + 1, completed_at = NULL, released_at = NULL, updated_at = now(),
          error_code = NULL, error_message = NULL
        WHERE batch_id = ${id}::uuid AND state = 'failed'`;
      if (retried > 0) {
        await tx.$executeRaw`
          UPDATE batches SET state = 'running', completed_at = NULL, run_no = run_no + 1, released_seq = 0, updated_at = now()
          WHERE id = ${id}::uuid`;
      }
      return { retried };
    }, { timeout: 600_000 });
  }

  /** Batches the feeder looks after: running ones, and canceled ones not yet marked complete. */
  async openBatches(limit: number): Promise<{ id: string; state: BatchStateName }[]> {
    return this.prisma.$queryRaw<{ id: string; state: BatchStateName }[]>`
      SELECT id, state::text AS state FROM batches
      WHERE state IN ('running', 'canceled') AND completed_at IS NULL
      ORDER BY created_at LIMIT ${limit}`;
  }

  /**
   * Hands at most `window` items of the batch to the queue at a time: counts the released, unfinished
   * items and marks the next ones (in line order, from the batch's release cursor) as released. A per-batch
   * advisory lock makes concurrent feeders (several worker processes) take turns; one that finds the lock
   * held returns nothing. The caller enqueues the returned ids.
   */
  async release(batchId: string, window: number): Promise<ReleasedItem[]> {
    return this.prisma.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<{ ok: boolean }[]>`SELECT pg_try_advisory_xact_lock(hashtextextended(${batchId}, 7081)) AS ok`;
      if (!locked[0]?.ok) return [];
      const batch = await tx.$queryRaw<{ state: string; releasedSeq: number }[]>`
        SELECT state::text AS state, released_seq AS "releasedSeq" FROM batches WHERE id = ${batchId}::uuid`;
      if (batch[0]?.state !== 'running') return [];
      const active = await tx.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM jobs
        WHERE batch_id = ${batchId}::uuid
          AND ((state = 'queued' AND released_at IS NOT NULL) OR state IN ('submitting', 'processing', 'storing'))`;
      const room = window - (active[0]?.n ?? 0);
      if (room <= 0) return [];
      const rows = await tx.$queryRaw<(ReleasedItem & { batchSeq: number })[]>`
        WITH picked AS (
          SELECT id FROM jobs
          WHERE batch_id = ${batchId}::uuid AND batch_seq > ${batch[0].releasedSeq} AND state = 'queued' AND released_at IS NULL
          ORDER BY batch_seq LIMIT ${room} FOR UPDATE)
        UPDATE jobs j SET released_at = now(), updated_at = now() FROM picked WHERE j.id = picked.id
        RETURNING j.id, j.track_id AS "trackId", j.run_no AS "runNo", j.batch_seq AS "batchSeq"`;
      if (rows.length > 0) {
        const maxSeq = Math.max(...rows.map((r) => r.batchSeq));
        await tx.$executeRaw`UPDATE batches SET released_seq = ${maxSeq} WHERE id = ${batchId}::uuid AND released_seq < ${maxSeq}`;
      }
      return rows.map(({ id, trackId, runNo }) => ({ id, trackId, runNo }));
    }, { maxWait: 10_000, timeout: 30_000 });
  }

  /**
   * Marks the batch complete when no item is left in a non-terminal state: exactly once per run, because
   * the UPDATE only matches while completed_at IS NULL. `onCompleted` runs in the same transaction (the
   * `batch.completed` event is written with the change or not at all). Returns the batch when this call
   * completed it.
   */
  async completeIfDone(batchId: string, onCompleted?: (tx: Prisma.TransactionClient, batch: Batch) => Promise<void>): Promise<Batch | null> {
    return this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: string }[]>`
        UPDATE batches SET completed_at = now(), updated_at = now(),
          state = CASE WHEN state = 'running' THEN 'completed'::"BatchState" ELSE state END
        WHERE id = ${batchId}::uuid AND completed_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM jobs WHERE batch_id = ${batchId}::uuid AND state IN ('queued', 'submitting', 'processing', 'storing'))
        RETURNING id`;
      if (rows.length === 0) return null;
      const batch = await tx.batch.findUniqueOrThrow({ where: { id: batchId } });
      if (onCompleted) await onCompleted(tx, batch);
      return batch;
    }, { maxWait: 10_000, timeout: 60_000 });
  }
}
