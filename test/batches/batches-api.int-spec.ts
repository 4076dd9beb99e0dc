/**
 * Batches against real servers: API over HTTP, Postgres, BullMQ on Redis, radosgw S3, the ModelsLab
 * emulator. Ingest formats, per-line rejects, strict mode, idempotent re-posts, results streamed while the
 * batch runs, cancel, retry-failed, and the all-or-nothing ingest (client disconnect, row limit).
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { INestApplicationContext } from '@nestjs/common';
import { BatchCompletion } from '../../libs/batches/src/index.js';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { TEST_API_KEY, startStack, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';
import { Webhook } from 'standardwebhooks';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let emulator: ModelslabEmulator;
let images: ImageServer;
let stack: Stack;
let worker: INestApplicationContext;
let extraWorker: INestApplicationContext;
let receiver: WebhookReceiver;

beforeAll(async () => {
  emulator = await startModelslabEmulator({ apiKey: 'emu-key', maxInFlight: 20 });
  images = await startImageServer();
  receiver = await startWebhookReceiver();
  stack = await startStack({
    providerUrl: emulator.url,
    providerKey: 'emu-key',
    maxInFlight: 8,
    workers: 0,
    env: { BATCH_WINDOW: '20', BATCH_FEED_INTERVAL_MS: '50', BATCH_MAX_ROWS: '500', STORE_CONCURRENCY: '8', WEBHOOK_DISPATCH_INTERVAL_MS: '100', WEBHOOK_RETRY_SCHEDULE: '300ms,600ms' },
  });
  // Two workers, so two feeders race on every batch; both are held here to watch the completion hook.
  worker = await stack.startWorker();
  extraWorker = await stack.startWorker();
});

afterAll(async () => {
  await stack?.close();
  await emulator?.close();
  await images?.close();
  await receiver?.close();
});

beforeEach(() => {
  emulator.setDecide(undefined);
  emulator.setDefaults({ answer: 'processing', latencyMs: 20, webhook: 'once', etaSeconds: 1, fail: false, error: undefined });
});

const ndjson = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
const postNdjson = (body: string, query = '', headers: Record<string, string> = {}) =>
  stack.request('POST', `/v1/batches${query}`, body, { 'content-type': 'application/x-ndjson', ...headers });
const batch = async (id: string) => (await stack.request('GET', `/v1/batches/${id}`)).body;
const waitDone = (id: string, timeoutMs = 60_000) =>
  until(async () => {
    const b = await batch(id);
    return b.completed_at ? b : undefined;
  }, { timeoutMs, what: `batch ${id} to complete` });

async function results(id: string, accept = 'application/x-ndjson', query = ''): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(`${stack.url}/v1/batches/${id}/results${query}`, { headers: { authorization: `Bearer ${TEST_API_KEY}`, accept } });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}
const parseNdjson = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('POST /v1/batches', () => {
  it('JSON items run end to end: counts, results with presigned outputs, completion set once', async () => {
    const items = Array.from({ length: 12 }, (_, i) => ({ image_url: images.imageUrl(`img-${i % 8}.png`), external_id: `sku-${i}` }));
    const res = await stack.request('POST', '/v1/batches', { items, options: { only_mask: true }, metadata: { catalog: 'spring' }, callback_url: 'https://example.com/hook' });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/batches/${res.body.id}`);
    expect(res.body).toMatchObject({ state: 'running', format: 'json', counts: { total: 12 }, rejected: [], rejected_total: 0, options: { only_mask: true }, metadata: { catalog: 'spring' } });
    const done = await waitDone(res.body.id);
    expect(done).toMatchObject({ state: 'completed', counts: { total: 12, succeeded: 12, failed: 0, queued: 0 }, percent_done: 100, eta_seconds: 0 });
    const r = await results(res.body.id);
    expect(r.type).toMatch(/application\/x-ndjson/);
    const lines = parseNdjson(r.text);
    expect(lines.map((l) => l.external_id)).toEqual(items.map((i) => i.external_id));
    expect(lines.map((l) => l.line)).toEqual(items.map((_, i) => i + 1));
    for (const l of lines) {
      expect(l.state).toBe('succeeded');
      expect(l.outputs).toHaveLength(1);
      const got = await fetch(l.outputs[0].url);
      expect(got.status).toBe(200);
      expect(Buffer.from(await got.arrayBuffer()).length).toBe(l.outputs[0].bytes);
    }
    // Batch defaults reached every item; the external id is the job's track id.
    const { rows } = await stack.db.query('SELECT options, track_id FROM jobs WHERE batch_id = $1 ORDER BY batch_seq', [res.body.id]);
    expect(rows.every((row) => row.options.only_mask === true)).toBe(true);
    expect(rows[3].track_id).toBe('sku-3');
    const { rows: b } = await stack.db.query('SELECT completed_at, run_no FROM batches WHERE id = $1', [res.body.id]);
    expect(b[0].completed_at.toISOString()).toBe(done.completed_at);
  });

  it('NDJSON: bad rows are reported by line and field, the good ones are accepted and run', async () => {
    const body = ndjson([
      { batch: { options: { alpha_matting: true }, metadata: { source: 'ndjson' } } },
      { image_url: images.imageUrl('img-1.png'), external_id: 'a' },
      '{not json',
      { image_url: 'ftp://example.com/x.png', external_id: 'b' },
      '',
      { image_url: images.imageUrl('img-2.png'), external_id: 'c', options: { alpha_matting_erode_size: 9 } },
      { external_id: 'd' },
      { image_url: images.imageUrl('img-3.png'), external_id: 'e', options: { only_mask: true }, colour: 'red' },
      { image_url: images.imageUrl('img-4.png'), external_id: 'f', options: { only_mask: true } },
    ]);
    const res = await postNdjson(body);
    expect(res.status).toBe(202);
    expect(res.body.counts.total).toBe(2);
    expect(res.body.rejected_total).toBe(5);
    expect(res.body.options).toEqual({ alpha_matting: true });
    expect(res.body.metadata).toEqual({ source: 'ndjson' });
    expect(res.body.rejected).toEqual([
      { line: 3, field: '(line)', code: 'invalid_json', message: expect.stringContaining('line 3') },
      { line: 4, field: 'image_url', code: 'unsupported_url_scheme', message: expect.any(String) },
      { line: 6, field: 'options.alpha_matting_erode_size', code: 'option_out_of_range', message: expect.any(String) },
      { line: 7, field: 'image_url', code: 'image_missing', message: expect.any(String) },
      { line: 8, field: 'colour', code: 'unknown_field', message: expect.any(String) },
    ]);
    const { rows } = await stack.db.query('SELECT external_id, batch_seq, options FROM jobs WHERE batch_id = $1 ORDER BY batch_seq', [res.body.id]);
    expect(rows).toEqual([
      { external_id: 'a', batch_seq: 2, options: { alpha_matting: true } },
      { external_id: 'f', batch_seq: 9, options: { alpha_matting: true, only_mask: true } },
    ]);
    const done = await waitDone(res.body.id);
    expect(done.counts).toMatchObject({ total: 2, succeeded: 2 });
  });

  it('strict=true: one bad row rejects the whole batch with 422 and writes nothing', async () => {
    const before = (await stack.db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n;
    const rows = Array.from({ length: 50 }, (_, i) => ({ image_url: images.imageUrl('img-0.png'), external_id: `s-${i}` }));
    rows[30] = { image_url: 'not a url', external_id: 's-30' };
    const res = await postNdjson(ndjson(rows), '?strict=true');
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('batch_rejected');
    expect(res.body.error.details).toEqual({ rejected_total: 1, rejected: [{ line: 31, field: 'image_url', code: 'invalid_url', message: expect.any(String) }] });
    expect((await stack.db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n).toBe(before);
    expect((await stack.db.query("SELECT count(*)::int AS n FROM batches WHERE format = 'ndjson' AND total_items = 50")).rows[0].n).toBe(0);
    // The same rows without the bad one are accepted in strict mode.
    rows.splice(30, 1);
    const ok = await postNdjson(ndjson(rows), '?strict=true');
    expect(ok.status).toBe(202);
    expect(ok.body.counts.total).toBe(49);
  });

  it('re-posting with the same Idempotency-Key creates nothing new and answers the original batch', async () => {
    const body = ndjson([{ image_url: images.imageUrl('img-5.png'), external_id: 'x' }, { image_url: 'nope', external_id: 'y' }]);
    const first = await postNdjson(body, '', { 'idempotency-key': 'catalog-2026-11-v1' });
    expect(first.status).toBe(202);
    const again = await postNdjson(body, '', { 'idempotency-key': 'catalog-2026-11-v1' });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.rejected).toEqual(first.body.rejected);
    expect(again.body.rejected_total).toBe(1);
    const { rows } = await stack.db.query("SELECT count(*)::int AS n FROM batches WHERE idempotency_key = 'catalog-2026-11-v1'");
    expect(rows[0].n).toBe(1);
    expect((await stack.db.query('SELECT count(*)::int AS n FROM jobs WHERE batch_id = $1', [first.body.id])).rows[0].n).toBe(1);
    // Two at once with a fresh key: the unique index makes one wait for the other; one batch in the end.
    const [a, b] = await Promise.all([
      postNdjson(body, '', { 'idempotency-key': 'race-key' }),
      stack.request('POST', '/v1/batches', { items: [{ image_url: images.imageUrl('img-5.png') }] }, { 'idempotency-key': 'race-key' }),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body.id).toBe(b.body.id);
    expect((await stack.db.query("SELECT count(*)::int AS n FROM batches WHERE idempotency_key = 'race-key'")).rows[0].n).toBe(1);
  });

  it('CSV: header row, option columns by provider name, bad records by line; results as CSV', async () => {
    const csv = [
      'external_id,image_url,only_mask,alpha_matting_foreground_threshold,metadata',
      `c1,${images.imageUrl('img-1.png')},true,200,"{""shelf"":1}"`,
      `c2,${images.imageUrl('img-2.png')},maybe,,`,
      `c3,${images.imageUrl('img-3.png')},0,241,`,
      `c4,${images.imageUrl('img-4.png')}`,
      `"c5,with comma",${images.imageUrl('img-5.png')},,,`,
    ].join('\r\n');
    const res = await stack.request('POST', '/v1/batches?options=%7B%22seed%22%3A7%7D', csv, { 'content-type': 'text/csv' });
    expect(res.status).toBe(202);
    expect(res.body.format).toBe('csv');
    expect(res.body.counts.total).toBe(2);
    expect(res.body.rejected).toEqual([
      { line: 3, field: 'options.only_mask', code: 'invalid_type', message: expect.any(String) },
      { line: 4, field: 'options.alpha_matting_foreground_threshold', code: 'option_out_of_range', message: expect.any(String) },
      { line: 5, field: '(record)', code: 'invalid_csv', message: expect.stringContaining('line 5') },
    ]);
    const { rows } = await stack.db.query('SELECT external_id, options, metadata FROM jobs WHERE batch_id = $1 ORDER BY batch_seq', [res.body.id]);
    expect(rows).toEqual([
      { external_id: 'c1', options: { seed: 7, only_mask: true, alpha_matting_foreground_threshold: 200 }, metadata: { shelf: 1 } },
      { external_id: 'c5,with comma', options: { seed: 7 }, metadata: null },
    ]);
    await waitDone(res.body.id);
    const r = await results(res.body.id, 'text/csv');
    expect(r.type).toMatch(/text\/csv/);
    const lines = r.text.trim().split('\n');
    expect(lines[0]).toBe('line,external_id,job_id,state,output_urls,output_sha256,error_code,error_message,completed_at');
    expect(lines[1]).toMatch(/^2,c1,[0-9a-f-]{36},succeeded,http/);
    expect(lines[2]).toMatch(/^6,"c5,with comma",[0-9a-f-]{36},succeeded,http/);
    // An unknown column is refused for the whole batch.
    const bad = await stack.request('POST', '/v1/batches', 'image_url,colour\nhttp://x/y.png,red\n', { 'content-type': 'text/csv' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'unknown_field', details: [{ field: 'colour' }] });
  });

  it('clear 4xx for bad requests', async () => {
    expect((await stack.request('POST', '/v1/batches', 'x', { 'content-type': 'text/plain' })).body.error.code).toBe('unsupported_media_type');
    expect((await stack.request('POST', '/v1/batches', { items: 'no' })).body.error.code).toBe('invalid_type');
    expect((await stack.request('POST', '/v1/batches', { items: [], extra: 1 })).body.error.code).toBe('unknown_field');
    const empty = await stack.request('POST', '/v1/batches', { items: [] });
    expect([empty.status, empty.body.error.code]).toEqual([422, 'batch_empty']);
    const tooMany = await stack.request('POST', '/v1/batches', { items: Array.from({ length: 10_001 }, () => ({ image_url: 'https://example.com/a.png' })) });
    expect([tooMany.status, tooMany.body.error.code]).toEqual([413, 'batch_too_large']);
    const badDefaults = await postNdjson(ndjson([{ image_url: 'https://example.com/a.png' }]), '?options=%7B%22seed%22%3A-1%7D');
    expect([badDefaults.status, badDefaults.body.error.code]).toEqual([422, 'option_out_of_range']);
    const allBad = await postNdjson(ndjson([{ image_url: 'x' }, { nope: 1 }]));
    expect([allBad.status, allBad.body.error.code, allBad.body.error.details.rejected_total]).toEqual([422, 'batch_empty', 2]);
    expect((await stack.request('GET', '/v1/batches/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await stack.request('GET', '/v1/batches/nope')).status).toBe(404);
    expect((await stack.request('GET', '/v1/batches?limit=0')).status).toBe(422);
  });

  it('over the row limit: 413, and nothing of the batch is kept', async () => {
    const before = (await stack.db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n;
    const rows = Array.from({ length: 501 }, (_, i) => ({ image_url: 'https://example.com/a.png', external_id: `big-${i}` }));
    const res = await postNdjson(ndjson(rows));
    expect([res.status, res.body.error.code]).toEqual([413, 'batch_too_large']);
    expect((await stack.db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n).toBe(before);
  });

  it('a client that disconnects mid-body leaves no batch and no items behind', async () => {
    const before = await stack.db.query('SELECT (SELECT count(*) FROM jobs)::int AS j, (SELECT count(*) FROM batches)::int AS b');
    const { port } = new URL(stack.url);
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/batches', headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' } });
    req.on('error', () => undefined);
    req.write(ndjson(Array.from({ length: 200 }, (_, i) => ({ image_url: 'https://example.com/a.png', external_id: `cut-${i}` }))));
    // The rows reach the open COPY (inside the still-uncommitted transaction), then the client goes away.
    await until(async () => {
      const { rows } = await stack.db.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'COPY jobs%'");
      return rows[0].n > 0;
    }, { what: 'the COPY to start' });
    req.destroy();
    await until(async () => {
      const { rows } = await stack.db.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'COPY jobs%' AND state = 'active'");
      return rows[0].n === 0;
    }, { what: 'the COPY to end' });
    const after = await stack.db.query('SELECT (SELECT count(*) FROM jobs)::int AS j, (SELECT count(*) FROM batches)::int AS b');
    expect(after.rows[0]).toEqual(before.rows[0]);
    expect((await stack.db.query("SELECT count(*)::int AS n FROM jobs WHERE external_id LIKE 'cut-%'")).rows[0].n).toBe(0);
    // The API still serves.
    expect((await stack.request('GET', '/v1/batches')).status).toBe(200);
  });
});

describe('running batches', () => {
  it('results stream while the batch runs, and cancel stops what is not finished (one job.canceled event per canceled item)', async () => {
    const hookPath = `/cancel-${randomUUID()}`;
    await stack.request('POST', '/v1/webhook-endpoints', { url: `${receiver.url}${hookPath}`, events: ['job.canceled'] });
    // Slow provider: the batch is still running while we read.
    emulator.setDefaults({ latencyMs: 400 });
    const rows = Array.from({ length: 120 }, (_, i) => ({ image_url: images.imageUrl(`img-${i % 8}.png`), external_id: `run-${i}` }));
    const res = await postNdjson(ndjson(rows));
    expect(res.status).toBe(202);
    const id = res.body.id;
    await until(async () => (await batch(id)).counts.succeeded >= 5, { what: 'some items to succeed' });
    const mid = parseNdjson((await results(id)).text);
    expect(mid).toHaveLength(120);
    const states = new Set(mid.map((l) => l.state));
    expect(states.has('succeeded')).toBe(true);
    expect(states.has('queued')).toBe(true);
    expect(mid.filter((l) => l.state === 'succeeded').every((l) => l.outputs.length === 1)).toBe(true);
    // The window bounds what the queue holds: never the whole batch.
    const counts = await stack.request('GET', `/v1/batches/${id}`);
    expect(counts.body.throughput_per_minute).toBeGreaterThan(0);
    const { rows: released } = await stack.db.query('SELECT count(*)::int AS n FROM jobs WHERE batch_id = $1 AND released_at IS NOT NULL', [id]);
    expect(released[0].n).toBeLessThan(120);
    // Filtered and resumed results.
    const after = parseNdjson((await results(id, 'application/x-ndjson', '?after=100')).text);
    expect(after.map((l) => l.line)).toEqual(Array.from({ length: 20 }, (_, i) => 101 + i));

    const canceled = await stack.request('POST', `/v1/batches/${id}/cancel`);
    expect(canceled.status).toBe(200);
    expect(canceled.body.state).toBe('canceled');
    expect(canceled.body.completed_at).not.toBeNull();
    const c = canceled.body.counts;
    expect(c.queued + c.submitting + c.processing + c.storing).toBe(0);
    expect(c.canceled).toBeGreaterThan(0);
    expect(c.succeeded + c.canceled + c.failed).toBe(120);
    const again = await stack.request('POST', `/v1/batches/${id}/cancel`);
    expect([again.status, again.body.error.code]).toEqual([409, 'invalid_state']);
    // Every item canceled by the batch cancel has its job.canceled event, delivered to the endpoint.
    const { rows: ev } = await stack.db.query(
      `SELECT count(*)::int AS n, count(DISTINCT e.job_id)::int AS jobs FROM webhook_events e JOIN jobs j ON j.id = e.job_id
       WHERE j.batch_id = $1 AND e.type = 'job.canceled'`, [id]);
    expect(ev[0]).toEqual({ n: c.canceled, jobs: c.canceled });
    await until(() => receiver.on(hookPath).length >= c.canceled, { what: 'the job.canceled deliveries' });
    expect(new Set(receiver.on(hookPath).map((h) => h.json.data.id)).size).toBe(c.canceled);
    // Items that were at the provider stay canceled when their results come in.
    const succeededAtCancel = c.succeeded;
    // Only an item a worker was already submitting (at most one per provider slot) can still reach the provider.
    const before = emulator.stats().submissions;
    await until(() => emulator.stats().inFlight === 0 && emulator.stats().webhooksPending === 0, { what: 'the provider to finish what it had' });
    expect(emulator.stats().submissions - before).toBeLessThanOrEqual(8);
    const final = await batch(id);
    expect(final.counts.succeeded).toBe(succeededAtCancel);
    expect((await stack.request('POST', `/v1/batches/${id}/retry-failed`)).status).toBe(409);
  });

  it('retry-failed re-runs only the failed items and completes the batch again', async () => {
    // img-6 is refused by the provider (400: permanent failure) the first time it is submitted.
    const refused = images.imageUrl('img-6.png');
    let refusals = 0;
    emulator.setDecide((s) => (s.body.image === refused && refusals++ < 2 ? { error: { httpStatus: 400, message: 'unreadable image' } } : undefined));
    const rows = Array.from({ length: 10 }, (_, i) => ({ image_url: images.imageUrl(i === 2 || i === 7 ? 'img-6.png' : `img-${i % 6}.png`), external_id: `rf-${i}` }));
    const res = await stack.request('POST', '/v1/batches', { items: rows });
    const id = res.body.id;
    const first = await waitDone(id);
    expect(first).toMatchObject({ state: 'completed', counts: { succeeded: 8, failed: 2 } });
    const failed = parseNdjson((await results(id, 'application/x-ndjson', '?state=failed')).text);
    expect(failed.map((l) => [l.external_id, l.error.code])).toEqual([
      ['rf-2', 'provider_bad_request'],
      ['rf-7', 'provider_bad_request'],
    ]);
    const retried = await stack.request('POST', `/v1/batches/${id}/retry-failed`);
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ retried: 2, state: 'running', completed_at: null });
    const done = await waitDone(id);
    expect(done).toMatchObject({ state: 'completed', counts: { succeeded: 10, failed: 0 } });
    expect(new Date(done.completed_at).getTime()).toBeGreaterThanOrEqual(new Date(first.completed_at).getTime());
    const { rows: b } = await stack.db.query('SELECT run_no FROM batches WHERE id = $1', [id]);
    expect(b[0].run_no).toBe(1);
    const { rows: runs } = await stack.db.query('SELECT id, external_id, run_no FROM jobs WHERE batch_id = $1 AND run_no > 0 ORDER BY external_id', [id]);
    expect(runs.map((r) => r.external_id)).toEqual(['rf-2', 'rf-7']);
    const none = await stack.request('POST', `/v1/batches/${id}/retry-failed`);
    expect([none.status, none.body.retried, none.body.state]).toEqual([202, 0, 'completed']);
    await stack.s3.send(new HeadObjectCommand({ Bucket: stack.config.s3.bucket, Key: `outputs/${runs[0].id}/0.png` }));
  });

  it('lists batches newest first with a cursor', async () => {
    const page1 = await stack.request('GET', '/v1/batches?limit=2');
    expect(page1.status).toBe(200);
    expect(page1.body.data).toHaveLength(2);
    expect(page1.body.next_cursor).toEqual(expect.any(String));
    const page2 = await stack.request('GET', `/v1/batches?limit=2&cursor=${page1.body.next_cursor}`);
    expect(page2.body.data[0].id).not.toBe(page1.body.data[1].id);
    expect(new Date(page2.body.data[0].created_at).getTime()).toBeLessThanOrEqual(new Date(page1.body.data[1].created_at).getTime());
    expect(page1.body.data[0].counts.total).toBeGreaterThan(0);
  });

  it('completion is decided once, with one signed batch.completed webhook, however many feeders and callers race for it', async () => {
    const completions = [worker.get(BatchCompletion), extraWorker.get(BatchCompletion)];
    const hookPath = `/batch-${randomUUID()}`;
    // A batch whose 300 items are all terminal but which nobody has marked complete yet.
    const id = randomUUID();
    await stack.db.query(
      `WITH b AS (INSERT INTO batches (id, tenant_id, total_items, format, callback_url) VALUES ($1, 'default', 300, 'json', $2) RETURNING id)
       INSERT INTO jobs (id, tenant_id, track_id, state, image_url, batch_id, batch_seq, completed_at)
       SELECT gen_random_uuid(), 'default', 't' || g, (CASE WHEN g % 3 = 0 THEN 'failed' ELSE 'succeeded' END)::"JobState", 'https://example.com/a.png', $1, g, now()
       FROM generate_series(1, 300) g`,
      [id, `${receiver.url}${hookPath}`],
    );
    // Both feeders (every 50 ms) and 20 direct calls race; exactly one completion happens.
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => completions[i % 2]!.checkCompleted(id)));
    const b = await until(async () => {
      const v = await batch(id);
      return v.completed_at ? v : undefined;
    }, { what: 'the batch to complete' });
    expect(b).toMatchObject({ state: 'completed', counts: { total: 300, succeeded: 200, failed: 100 }, percent_done: 100 });
    expect(results.filter(Boolean).length).toBeLessThanOrEqual(1);
    const { rows: events } = await stack.db.query(`SELECT id, dedupe_key FROM webhook_events WHERE type = 'batch.completed' AND data->>'id' = $1`, [id]);
    expect(events.map((e) => e.dedupe_key)).toEqual([`batch.completed:${id}:0`]);
    // Delivered to the batch's callback_url, signed with the tenant's secret (checked by standardwebhooks).
    const [hook] = await until(() => (receiver.on(hookPath).length > 0 ? receiver.on(hookPath) : undefined), { what: 'the batch.completed webhook' });
    const { body: secret } = await stack.request('GET', '/v1/webhook-secret');
    new Webhook(secret.secret).verify(hook!.body, hook!.headers);
    expect(hook!.headers['webhook-id']).toBe(events[0].id);
    expect(hook!.json).toMatchObject({ type: 'batch.completed', data: { id, state: 'completed', counts: { total: 300, succeeded: 200, failed: 100 }, percent_done: 100 } });
  });
});
