/**
 * The whole pipeline against real servers: API over HTTP, BullMQ on the machine's Redis, Postgres, the run's
 * radosgw S3, and the ModelsLab emulator (a real HTTP server) calling our webhook receiver.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { startStack, truncateAll, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';

const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

let emulator: ModelslabEmulator;
let images: ImageServer;
let stack: Stack;

beforeAll(async () => {
  // The workers reconcile the whole database: start from empty tables, so no job another file left
  // unfinished is submitted to this file's emulator (its counts are exact).
  await truncateAll();
  emulator = await startModelslabEmulator({ apiKey: 'emu-key', maxInFlight: 10 });
  images = await startImageServer();
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'emu-key', maxInFlight: 5 });
});

afterAll(async () => {
  await stack?.close();
  await emulator?.close();
  await images?.close();
});

// No truncation between tests: each test looks only at its own jobs, and background work of the previous
// test (a late webhook, a poll) must not race a TRUNCATE.
beforeEach(() => {
  emulator.setDecide(undefined);
  emulator.setDefaults({ answer: 'processing', latencyMs: 50, webhook: 'once', etaSeconds: 1, webhookDelayMs: 0, outputDelayMs: 0, webhookOnSuccess: false, fail: false, error: undefined });
  emulator.resetStats();
});

async function submit(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await stack.request('POST', '/v1/jobs', body, headers);
  expect(res.status).toBe(202);
  return res.body;
}

async function events(jobId: string): Promise<{ source: string; outcome: string }[]> {
  const { rows } = await stack.db.query('SELECT source, outcome FROM provider_events WHERE job_id = $1 ORDER BY id', [jobId]);
  return rows;
}

/** Downloads the stored S3 object through the presigned URL and checks it against what S3 and the DB say. */
async function expectStoredOutput(job: any): Promise<Buffer> {
  expect(job.outputs).toHaveLength(1);
  const out = job.outputs[0];
  const viaPresigned = Buffer.from(await (await fetch(out.url)).arrayBuffer());
  expect(sha256(viaPresigned)).toBe(out.sha256);
  expect(viaPresigned.length).toBe(out.bytes);
  const obj = await stack.s3.send(new GetObjectCommand({ Bucket: stack.config.s3.bucket, Key: `outputs/${job.id}/0.png` }));
  const direct = Buffer.from(await obj.Body!.transformToByteArray());
  expect(sha256(direct)).toBe(out.sha256);
  expect(out.content_type).toBe('image/png');
  return direct;
}

describe('the pipeline', () => {
  it('submit -> processing -> webhook -> S3 object with the recorded sha256', async () => {
    const created = await submit({ image_url: images.imageUrl('img-0.png'), track_id: 'sku-0', options: { only_mask: false } });
    expect(created).toMatchObject({ track_id: 'sku-0', state: 'queued', outputs: [], error: null });
    const job = await stack.waitForState(created.id, ['succeeded', 'failed']);
    expect(job.state).toBe('succeeded');
    expect(job.completed_at).not.toBeNull();
    const png = await expectStoredOutput(job);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([64, 48, 4]);
    // The provider got our webhook URL and the attempt id as its integer track_id.
    const sub = emulator.submissions.find((s) => s.outcome === 'processing')!;
    const { rows } = await stack.db.query('SELECT id, webhook_token FROM job_attempts WHERE job_id = $1', [created.id]);
    expect(sub.trackId).toBe(Number(rows[0].id));
    expect(sub.webhook).toBe(`${stack.url}/webhooks/modelslab/${rows[0].id}/${rows[0].webhook_token}`);
    expect(await events(created.id)).toEqual([
      { source: 'submit', outcome: 'applied' },
      { source: 'webhook', outcome: 'applied' },
    ]);
  });

  it('stores a synchronous success answer at once', async () => {
    emulator.setDefaults({ answer: 'success' });
    const created = await submit({ image_url: images.imageUrl('img-1.png'), options: { only_mask: true } });
    const job = await stack.waitForState(created.id, ['succeeded', 'failed']);
    expect(job.state).toBe('succeeded');
    const png = await expectStoredOutput(job);
    expect((await sharp(png).metadata()).channels).toBe(1);
    expect(await events(created.id)).toEqual([{ source: 'submit', outcome: 'applied' }]);
  });

  it('decodes and stores base64 outputs the same way', async () => {
    // We never ask for base64, but a provider answer carrying it (here: the webhook) must still be stored.
    emulator.setDefaults({ latencyMs: 3000, etaSeconds: 10, webhook: 'never' });
    const created = await submit({ image_url: images.imageUrl('img-2.png') });
    await stack.waitForState(created.id, ['processing']);
    const { rows } = await stack.db.query('SELECT id, webhook_token FROM job_attempts WHERE job_id = $1', [created.id]);
    const png = await sharp({ create: { width: 5, height: 4, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 0.5 } } }).png().toBuffer();
    const hook = await fetch(`${stack.url}/webhooks/modelslab/${rows[0].id}/${rows[0].webhook_token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'success', id: 1, output: [png.toString('base64')], track_id: Number(rows[0].id) }),
    });
    expect(hook.status).toBe(200);
    const job = await stack.waitForState(created.id, ['succeeded', 'failed']);
    expect(job.state).toBe('succeeded');
    expect(job.outputs[0].sha256).toBe(sha256(png));
    expect(sha256(await expectStoredOutput(job))).toBe(sha256(png));
  });

  it('falls back to polling when the webhook never comes', async () => {
    emulator.setDefaults({ webhook: 'never', etaSeconds: 1 });
    const created = await submit({ image_url: images.imageUrl('img-3.png') });
    const job = await stack.waitForState(created.id, ['succeeded', 'failed'], 30_000);
    expect(job.state).toBe('succeeded');
    await expectStoredOutput(job);
    const evs = await events(created.id);
    expect(evs[0]).toEqual({ source: 'submit', outcome: 'applied' });
    expect(evs.at(-1)).toEqual({ source: 'poll', outcome: 'applied' });
    expect(emulator.stats().fetches).toBeGreaterThanOrEqual(1);
    expect(emulator.stats().webhooksSent).toBe(0);
  });

  it('absorbs a duplicated webhook: one output, the duplicate recorded', async () => {
    emulator.setDefaults({ webhook: 'twice', webhookDelayMs: 100 });
    const created = await submit({ image_url: images.imageUrl('img-4.png') });
    await stack.waitForState(created.id, ['succeeded']);
    await until(() => emulator.stats().webhooksSent === 2 && emulator.stats().webhooksPending === 0, { what: 'both webhook calls' });
    expect(await events(created.id)).toEqual([
      { source: 'submit', outcome: 'applied' },
      { source: 'webhook', outcome: 'applied' },
      { source: 'webhook', outcome: 'duplicate' },
    ]);
    const { rows } = await stack.db.query('SELECT count(*)::int AS n FROM job_outputs WHERE job_id = $1', [created.id]);
    expect(rows[0].n).toBe(1);
    expect((await stack.job(created.id)).state).toBe('succeeded');
  });

  it('handles a webhook that arrives before the submit answer is stored', async () => {
    // The result is ready (and the webhook sent) before the emulator even answers the submit.
    emulator.setDefaults({ answer: 'success', webhookOnSuccess: true, latencyMs: 10 });
    const created = await submit({ image_url: images.imageUrl('img-5.png') });
    const job = await stack.waitForState(created.id, ['succeeded', 'failed']);
    expect(job.state).toBe('succeeded');
    await until(() => emulator.stats().webhooksPending === 0 && emulator.stats().webhooksSent === 1, { what: 'the webhook' });
    const outcomes = (await events(created.id)).map((e) => e.outcome).sort();
    expect(outcomes).toEqual(['applied', 'duplicate']);
  });

  it('fails with a clear code on 401 and 402, and retries 500 until it succeeds', async () => {
    emulator.setDecide(() => ({ error: { httpStatus: 402, message: 'Insufficient credits' } }));
    const a = await submit({ image_url: images.imageUrl('img-0.png') });
    const failed = await stack.waitForState(a.id, ['failed', 'succeeded']);
    expect(failed.error).toEqual({ code: 'provider_payment_required', message: 'Insufficient credits' });

    emulator.setDecide(() => ({ error: { httpStatus: 401, message: 'Invalid API key', bodyStatus200: false } }));
    const b = await submit({ image_url: images.imageUrl('img-1.png') });
    expect((await stack.waitForState(b.id, ['failed'])).error.code).toBe('provider_unauthorized');

    let calls = 0;
    emulator.setDecide(() => (++calls <= 2 ? { error: { httpStatus: 500, message: 'boom' } } : undefined));
    const c = await submit({ image_url: images.imageUrl('img-2.png') });
    const ok = await stack.waitForState(c.id, ['succeeded', 'failed'], 30_000);
    expect(ok.state).toBe('succeeded');
    expect(ok.attempts).toBe(3);
  });

  it('fails a job the provider reports as failed', async () => {
    emulator.setDefaults({ fail: true });
    const a = await submit({ image_url: images.imageUrl('img-0.png') });
    const job = await stack.waitForState(a.id, ['failed', 'succeeded']);
    expect(job.error.code).toBe('provider_failed');
  });

  it('gives up on a provider that keeps answering 503, with the code and the attempt count', async () => {
    emulator.setDecide(() => ({ error: { httpStatus: 503, message: 'unavailable' } }));
    const a = await submit({ image_url: images.imageUrl('img-0.png') });
    const job = await stack.waitForState(a.id, ['failed', 'succeeded'], 60_000);
    expect(job.error.code).toBe('provider_unavailable');
    expect(job.attempts).toBe(stack.config.provider.maxAttempts);
  });

  it('accepts base64 and multipart uploads, sending the provider the image bytes', async () => {
    const png = images.png('img-6.png');
    const seen = emulator.submissions.length;
    const a = await submit({ image_base64: png.toString('base64') });
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'photo.png');
    form.append('options', JSON.stringify({ inverse_mask: true }));
    form.append('track_id', 'upload-1');
    const res = await stack.request('POST', '/v1/jobs', form);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ track_id: 'upload-1', options: { inverse_mask: true } });
    for (const id of [a.id, res.body.id]) expect(await stack.waitForState(id, ['succeeded', 'failed'])).toMatchObject({ state: 'succeeded', error: null });
    const sent = emulator.submissions.slice(seen).filter((s) => s.outcome === 'processing').map((s) => s.body.image);
    expect(sent).toEqual([png.toString('base64'), png.toString('base64')]);
  });
});

describe('idempotency', () => {
  it('replays the same job for the same key and body, and refuses a different body', async () => {
    const body = { image_url: images.imageUrl('img-0.png'), track_id: 't-1' };
    const first = await stack.request('POST', '/v1/jobs', body, { 'idempotency-key': 'key-1' });
    const again = await stack.request('POST', '/v1/jobs', body, { 'idempotency-key': 'key-1' });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await stack.request('POST', '/v1/jobs', { ...body, track_id: 't-2' }, { 'idempotency-key': 'key-1' });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    // Concurrent replays create exactly one job.
    const burst = await Promise.all(Array.from({ length: 8 }, () => stack.request('POST', '/v1/jobs', { image_url: images.imageUrl('img-1.png') }, { 'idempotency-key': 'key-2' })));
    expect(new Set(burst.map((r) => r.body.id)).size).toBe(1);
    const { rows } = await stack.db.query("SELECT count(*)::int AS n FROM jobs WHERE idempotency_key IN ('key-1', 'key-2')");
    expect(rows[0].n).toBe(2);
  });
});

describe('cancel and retry', () => {
  it('cancels a job at the provider and ignores its later result; retry runs it again', async () => {
    emulator.setDefaults({ latencyMs: 1500, webhook: 'once', etaSeconds: 5 });
    const a = await submit({ image_url: images.imageUrl('img-0.png') });
    await stack.waitForState(a.id, ['processing']);
    const canceled = await stack.request('POST', `/v1/jobs/${a.id}/cancel`);
    expect(canceled.status).toBe(200);
    expect(canceled.body.state).toBe('canceled');
    await until(async () => (await events(a.id)).some((e) => e.source === 'webhook'), { what: 'the webhook to be recorded' });
    expect((await events(a.id)).find((e) => e.source === 'webhook')!.outcome).toBe('stale');
    expect((await stack.job(a.id)).state).toBe('canceled');
    const { rows } = await stack.db.query('SELECT count(*)::int AS n FROM job_outputs WHERE job_id = $1', [a.id]);
    expect(rows[0].n).toBe(0);

    const again = await stack.request('POST', `/v1/jobs/${a.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('invalid_state');

    emulator.setDefaults({ latencyMs: 50, etaSeconds: 1 });
    const retried = await stack.request('POST', `/v1/jobs/${a.id}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.body.state).toBe('queued');
    const done = await stack.waitForState(a.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ state: 'succeeded', error: null });
    expect(done.attempts).toBe(2);
    const notAgain = await stack.request('POST', `/v1/jobs/${a.id}/retry`);
    expect(notAgain.status).toBe(409);
  });

  it('a late webhook from an earlier attempt never overwrites the newer one', async () => {
    emulator.setDefaults({ fail: true });
    const a = await submit({ image_url: images.imageUrl('img-0.png') });
    await stack.waitForState(a.id, ['failed']);
    emulator.setDefaults({ fail: false });
    await stack.request('POST', `/v1/jobs/${a.id}/retry`);
    await stack.waitForState(a.id, ['succeeded']);
    const { rows } = await stack.db.query('SELECT id, webhook_token FROM job_attempts WHERE job_id = $1 ORDER BY attempt_no', [a.id]);
    expect(rows).toHaveLength(2);
    const stale = await fetch(`${stack.url}/webhooks/modelslab/${rows[0].id}/${rows[0].webhook_token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'failed', id: 999, message: 'late failure', track_id: Number(rows[0].id) }),
    });
    expect(stale.status).toBe(200);
    expect((await stale.json()).outcome).toBe('duplicate');
    const job = await stack.job(a.id);
    expect(job.state).toBe('succeeded');
    expect(job.error).toBeNull();
  });
});

describe('the webhook receiver', () => {
  it('rejects unknown attempts and wrong tokens; records unrecognised payloads harmlessly', async () => {
    emulator.setDefaults({ latencyMs: 2000, etaSeconds: 10 });
    const a = await submit({ image_url: images.imageUrl('img-0.png') });
    await stack.waitForState(a.id, ['processing']);
    const { rows } = await stack.db.query('SELECT id, webhook_token FROM job_attempts WHERE job_id = $1', [a.id]);
    const post = (p: string, body: unknown) => fetch(`${stack.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post(`/webhooks/modelslab/999999/${rows[0].webhook_token}`, { status: 'success', output: ['x'] })).status).toBe(404);
    expect((await post(`/webhooks/modelslab/${rows[0].id}/wrong-token`, { status: 'success', output: ['x'] })).status).toBe(401);
    expect((await post(`/webhooks/modelslab/not-a-number/x`, {})).status).toBe(404);
    const junk = await post(`/webhooks/modelslab/${rows[0].id}/${rows[0].webhook_token}`, { surprise: true });
    expect(junk.status).toBe(200);
    expect((await junk.json()).outcome).toBe('unrecognised');
    expect((await stack.job(a.id)).state).toBe('processing');
    expect((await stack.waitForState(a.id, ['succeeded', 'failed'])).state).toBe('succeeded');
  });
});
