/**
 * The consumer-webhook outbox. `emit` writes an event and its deliveries (the callback URL and every active
 * endpoint of the tenant subscribed to the type) in ONE statement, inside the caller's transaction: call it
 * in the same transaction as the state change it reports, and the event exists exactly when the change
 * committed. Re-emitting the same `dedupeKey` is a no-op. Workers deliver pending rows (see
 * apps/worker/src/webhook-dispatcher.service.ts), so nothing has to be enqueued after the commit.
 * An event with no target at all is not stored.
 */
import type { WebhookEventType } from '../../contracts/src/index.js';
import { Prisma } from './generated/client.js';

/** A Prisma transaction client (or the client itself, for a single-statement emit). */
export type SqlRunner = Pick<Prisma.TransactionClient, '$queryRaw'>;

export type JobEventType = Extract<WebhookEventType, `job.${string}`>;

export interface EmitEvent {
  tenantId: string;
  type: WebhookEventType;
  /** The body's `data` (e.g. the batch as its GET presents it). */
  data: Record<string, unknown>;
  /** Also deliver to this URL (a per-batch callback_url), signed with the tenant's callback secret. */
  callbackUrl?: string | null;
  /** Unique per tenant: the same key twice emits once (e.g. `batch.completed:<batch id>`). */
  dedupeKey: string;
}

const newEventId = Prisma.sql`'msg_' || replace(gen_random_uuid()::text, '-', '')`;

function subscribed(tenantExpr: Prisma.Sql, type: string): Prisma.Sql {
  return Prisma.sql`EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = ${tenantExpr} AND e.disabled_at IS NULL
    AND e.deleted_at IS NULL AND ${type} = ANY(e.events))`;
}

/** The deliveries of the event row(s) in CTE `ev` (columns id, tenant_id, job_id, type, callback_url). */
const fanOut = Prisma.sql`
  , cb AS (
    INSERT INTO webhook_deliveries (id, event_id, tenant_id, job_id, target, endpoint_id, url)
    SELECT gen_random_uuid(), ev.id, ev.tenant_id, ev.job_id, 'callback', NULL, ev.callback_url FROM ev WHERE ev.callback_url IS NOT NULL
  ), ep AS (
    INSERT INTO webhook_deliveries (id, event_id, tenant_id, job_id, target, endpoint_id, url)
    SELECT gen_random_uuid(), ev.id, ev.tenant_id, ev.job_id, e.id::text, e.id, e.url
    FROM ev JOIN webhook_endpoints e ON e.tenant_id = ev.tenant_id AND e.disabled_at IS NULL AND e.deleted_at IS NULL AND ev.type = ANY(e.events)
  )
  SELECT id FROM ev`;

export const ConsumerEvents = {
  /** Emits any event (batches use this for `batch.completed`). Returns the event id, or null if not stored. */
  async emit(tx: SqlRunner, e: EmitEvent): Promise<string | null> {
    const cb = e.callbackUrl ?? null;
    const rows = await tx.$queryRaw<{ id: string }[]>`
      WITH ev AS (
        INSERT INTO webhook_events (id, tenant_id, type, dedupe_key, job_id, data)
        SELECT ${newEventId}, ${e.tenantId}, ${e.type}, ${e.dedupeKey}, NULL, ${JSON.stringify(e.data)}::jsonb
        WHERE ${cb}::text IS NOT NULL OR ${subscribed(Prisma.sql`${e.tenantId}`, e.type)}
        ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
        RETURNING id, tenant_id, job_id, type, ${cb}::text AS callback_url
      ) ${fanOut}`;
    return rows[0]?.id ?? null;
  },

  /**
   * Emits the job's terminal event for its current run (dedupe key `<type>:<job id>:<run no>`), with the
   * job's callback_url as a target. Call it in the transaction of the terminal UPDATE, after it.
   */
  async emitForJob(tx: SqlRunner, jobId: string, type: JobEventType): Promise<string | null> {
    return (await ConsumerEvents.emitForJobs(tx, [jobId], type))[0] ?? null;
  },

  /** The same for many jobs in one statement (a set-based terminal UPDATE, e.g. canceling a batch). */
  async emitForJobs(tx: SqlRunner, jobIds: readonly string[], type: JobEventType): Promise<string[]> {
    if (jobIds.length === 0) return [];
    const rows = await tx.$queryRaw<{ id: string }[]>`
      WITH ev AS (
        INSERT INTO webhook_events (id, tenant_id, type, dedupe_key, job_id, data)
        SELECT ${newEventId}, j.tenant_id, ${type}, ${type} || ':' || j.id::text || ':' || j.run_no::text, j.id, NULL
        FROM jobs j
        WHERE j.id = ANY(${[...jobIds]}::uuid[]) AND (j.callback_url IS NOT NULL OR ${subscribed(Prisma.sql`j.tenant_id`, type)})
        ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
        RETURNING id, tenant_id, job_id, type, (SELECT callback_url FROM jobs WHERE jobs.id = webhook_events.job_id) AS callback_url
      ) ${fanOut}`;
    return rows.map((r) => r.id);
  },
};
