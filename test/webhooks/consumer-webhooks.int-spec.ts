/**
 * Consumer webhooks end to end: real API and worker, Postgres, Redis, S3, the ModelsLab emulator and a real
 * HTTP receiver. Every signature is checked with the independent `standardwebhooks` package.
 */
import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { ConsumerEvents, PrismaService } from '../../libs/db/src/index.js';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { startStack, type Stack } from '../support/stack.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/test-env.js';
import { until } from '../support/until.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.js';

let emulator: ModelslabEmulator;
let images: ImageServer;
let receiver: WebhookReceiver;
let stack: Stack;

async function clearWebhookTables(): Promise<void> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  await c.query('TRUNCATE webhook_delivery_attempts, webhook_deliveries, webhook_events, webhook_endpoints, tenant_webhook_secrets');
  await c.end();
}

beforeAll(async () => {
  await clearWebhookTables();
  emulator = await startModelslabEmulator({ apiKey: 'emu-key', maxInFlight: 20 });
  images = await startImageServer();
  receiver = await startWebhookReceiver();
  stack = await startStack({
    providerUrl: emulator.url,
    providerKey: 'emu-key',
    env: { WEBHOOK_RETRY_SCHEDULE: '300ms,600ms,900ms', WEBHOOK_RETRY_JITTER: '0.2', WEBHOOK_TIMEOUT_MS: '2000', WEBHOOK_DISPATCH_INTERVAL_MS: '100', WEBHOOK_SECRET_GRACE_SECONDS: '3600' },
  });
});

afterAll(async () => {
  await stack?.close();
  await receiver?.close();
  await emulator?.close();
  await images?.close();
});

beforeEach(() => {
  emulator.setDecide(undefined);
  emulator.setDefaults({ answer: 'processing', latencyMs: 50, webhook: 'once', etaSeconds: 1, webhookDelayMs: 0, outputDelayMs: 0, webhookOnSuccess: false, fail: false, error: undefined });
});

// Each test's endpoints end with it, so they never receive the next test's events.
afterEach(async () => {
  await stack.db.query('UPDATE webhook_endpoints SET deleted_at = now() WHERE deleted_at IS NULL');
});

let seq = 0;
const path = (name: string) => `/${name}-${++seq}`;

async function submit(extra: Record<string, unknown> = {}): Promise<any> {
  const res = await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl('img-0.png'), ...extra });
  expect(res.status).toBe(202);
  return res.body;
}

async function createEndpoint(p: string, events: string[]): Promise<any> {
  const res = await stack.request('POST', '/v1/webhook-endpoints', { url: `${receiver.url}${p}`, events, description: `test ${p}` });
  expect(res.status).toBe(201);
  expect(res.body.secret).toMatch(/^whsec_/);
  return res.body;
}

async function deliveries(query: string): Promise<any[]> {
  const res = await stack.request('GET', `/v1/webhook-deliveries?${query}`);
  expect(res.status).toBe(200);
  return res.body.data;
}

const received = (p: string, n = 1) => until(() => (receiver.on(p).length >= n ? receiver.on(p) : undefined), { what: `${n} webhook(s) at ${p}` });

function verifyWith(secret: string, r: ReceivedWebhook): void {
  new Webhook(secret).verify(r.body, r.headers);
}

describe('per-job callback_url', () => {
  it('delivers job.succeeded with the job as GET /v1/jobs/:id shows it, signed with the tenant secret', async () => {
    const p = path('cb');
    const job = await submit({ callback_url: `${receiver.url}${p}`, track_id: 'sku-1' });
    await stack.waitForState(job.id, ['succeeded']);
    const [hook] = await received(p);
    const { body: secret } = await stack.request('GET', '/v1/webhook-secret');
    expect(secret.secret).toMatch(/^whsec_/);
    verifyWith(secret.secret, hook!);
    expect(() => verifyWith(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, hook!)).toThrow();

    expect(hook!.headers['content-type']).toMatch(/^application\/json/);
    expect(hook!.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(Math.abs(Number(hook!.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
    const view = await stack.job(job.id);
    expect(hook!.json.type).toBe('job.succeeded');
    expect(hook!.json.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    const { outputs: hookOutputs, ...hookJob } = hook!.json.data;
    const { outputs: viewOutputs, ...viewJob } = view;
    expect(hookJob).toEqual(viewJob);
    expect(hookJob).toMatchObject({ id: job.id, state: 'succeeded', track_id: 'sku-1' });
    // Presigned URLs are fresh per presentation; they point at the same stored bytes.
    expect(hookOutputs.map((o: any) => o.sha256)).toEqual(viewOutputs.map((o: any) => o.sha256));
    const bytes = Buffer.from(await (await fetch(hookOutputs[0].url)).arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(hookOutputs[0].sha256);

    const [d] = await until(async () => {
      const rows = await deliveries(`job_id=${job.id}`);
      return rows[0]?.status === 'succeeded' ? rows : undefined;
    });
    expect(d).toMatchObject({ webhook_id: hook!.headers['webhook-id'], event_type: 'job.succeeded', target: 'callback_url', endpoint_id: null, status: 'succeeded', attempts: 1, last_status_code: 200 });
    expect(d.attempt_log).toEqual([expect.objectContaining({ attempt: 1, status_code: 200, error: null, response_snippet: 'ok' })]);
    expect(d.attempt_log[0].duration_ms).toBeGreaterThanOrEqual(0);
    // Exactly one event for the transition, whatever else happened (provider webhook and polls).
    const { rows } = await stack.db.query('SELECT count(*)::int AS n FROM webhook_events WHERE job_id = $1', [job.id]);
    expect(rows[0].n).toBe(1);
    expect(receiver.on(p)).toHaveLength(1);
  });

  it('delivers job.failed, job.canceled, and a new event (new webhook-id) for a retried job', async () => {
    const p = path('cb');
    emulator.setDefaults({ fail: true });
    const failed = await submit({ callback_url: `${receiver.url}${p}` });
    await stack.waitForState(failed.id, ['failed']);
    const [f] = await received(p);
    expect(f!.json.type).toBe('job.failed');
    expect(f!.json.data).toMatchObject({ id: failed.id, state: 'failed', error: { code: 'provider_failed' } });

    emulator.setDefaults({ fail: false, webhook: 'never', etaSeconds: 600, latencyMs: 600_000 });
    const running = await submit({ callback_url: `${receiver.url}${p}` });
    await stack.waitForState(running.id, ['processing']);
    // Two cancels race: one wins, one event.
    const answers = await Promise.all([stack.request('POST', `/v1/jobs/${running.id}/cancel`), stack.request('POST', `/v1/jobs/${running.id}/cancel`)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const hooks = await received(p, 2);
    expect(hooks[1]!.json).toMatchObject({ type: 'job.canceled', data: { id: running.id, state: 'canceled' } });

    emulator.setDefaults({ webhook: 'once', etaSeconds: 1, latencyMs: 50 });
    expect((await stack.request('POST', `/v1/jobs/${failed.id}/retry`)).status).toBe(202);
    await stack.waitForState(failed.id, ['succeeded']);
    const all = await received(p, 3);
    const again = all.find((h) => h.json.type === 'job.succeeded')!;
    expect(again.json.data.id).toBe(failed.id);
    expect(again.headers['webhook-id']).not.toBe(f!.headers['webhook-id']);
    const { body: secret } = await stack.request('GET', '/v1/webhook-secret');
    for (const h of all) verifyWith(secret.secret, h);
    expect(all).toHaveLength(3);
  });
});

describe('retries', () => {
  it('retries 500, 500, then 200 with the same webhook-id and records every attempt', async () => {
    const p = path('flaky');
    const ep = await createEndpoint(p, ['job.succeeded']);
    receiver.script(p, [500, 503]);
    const job = await submit();
    const hooks = await received(p, 3);
    expect(hooks.map((h) => h.answered)).toEqual([500, 503, 200]);
    expect(new Set(hooks.map((h) => h.headers['webhook-id'])).size).toBe(1);
    for (const h of hooks) verifyWith(ep.secret, h);
    // Growing delays: 300 ms (+-20%) then 600 ms (+-20%).
    expect(hooks[1]!.at - hooks[0]!.at).toBeGreaterThanOrEqual(230);
    expect(hooks[2]!.at - hooks[1]!.at).toBeGreaterThanOrEqual(470);
    const d = await until(async () => (await deliveries(`endpoint_id=${ep.id}&status=succeeded`)).find((x) => x.job_id === job.id));
    expect(d).toMatchObject({ target: 'endpoint', endpoint_id: ep.id, attempts: 3, last_status_code: 200, last_error: null });
    expect(d.attempt_log.map((a: any) => [a.attempt, a.status_code, a.error])).toEqual([
      [1, 500, 'HTTP 500'],
      [2, 503, 'HTTP 503'],
      [3, 200, null],
    ]);
    expect(d.attempt_log[0].response_snippet).toBe('answer 500 from the test receiver');
  });

  it('gives up when the schedule runs out, then redeliver resends the same webhook-id on a fresh schedule', async () => {
    const p = path('down');
    const ep = await createEndpoint(p, ['job.succeeded']);
    receiver.script(p, [500, 500, 500, 500]);
    await submit();
    const d = await until(async () => (await deliveries(`endpoint_id=${ep.id}&status=failed`))[0]);
    expect(d.attempts).toBe(4); // the first attempt and 3 retries
    expect(d.last_error).toMatch(/HTTP 500; retries exhausted/);
    expect(receiver.on(p)).toHaveLength(4);

    const res = await stack.request('POST', `/v1/webhook-deliveries/${d.id}/redeliver`);
    expect(res.status).toBe(202);
    const hooks = await received(p, 5);
    expect(hooks[4]!.headers['webhook-id']).toBe(d.webhook_id);
    verifyWith(ep.secret, hooks[4]!);
    const after = await until(async () => {
      const x = (await stack.request('GET', `/v1/webhook-deliveries/${d.id}`)).body;
      return x.status === 'succeeded' ? x : undefined;
    });
    expect(after.attempts).toBe(5);
    expect(after.attempt_log.at(-1)).toMatchObject({ attempt: 5, status_code: 200 });
  });

  it('410 Gone disables the endpoint, stops its retries and its later events', async () => {
    const p = path('gone');
    const ep = await createEndpoint(p, ['job.succeeded']);
    receiver.script(p, [410]);
    const job = await submit();
    const d = await until(async () => (await deliveries(`endpoint_id=${ep.id}&status=failed`))[0]);
    expect(d).toMatchObject({ job_id: job.id, attempts: 1, last_status_code: 410 });
    const e = (await stack.request('GET', `/v1/webhook-endpoints/${ep.id}`)).body;
    expect(e).toMatchObject({ disabled: true, disabled_reason: expect.stringContaining('410') });
    const second = await submit();
    await stack.waitForState(second.id, ['succeeded']);
    expect(await deliveries(`job_id=${second.id}`)).toEqual([]);
    const refused = await stack.request('POST', `/v1/webhook-deliveries/${d.id}/redeliver`);
    expect([refused.status, refused.body.error.code]).toEqual([409, 'invalid_state']);
    expect(receiver.on(p)).toHaveLength(1);
    // Re-enabled, it receives new events again.
    expect((await stack.request('POST', `/v1/webhook-endpoints/${ep.id}/enable`)).body.disabled).toBe(false);
    await submit();
    await received(p, 2);
  });

  it('delivers a retry whose queue entry was lost (the dispatcher finds it in Postgres)', async () => {
    const p = path('lost');
    await createEndpoint(p, ['job.succeeded']);
    receiver.script(p, [500]);
    const job = await submit();
    await received(p, 1);
    // Drop every waiting and delayed deliver-webhook entry, as a Redis flush would.
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const q = new Queue('deliver-webhook', { connection, prefix: stack.env.QUEUE_PREFIX });
    await until(async () => (await q.getDelayedCount()) > 0 || receiver.on(p).length > 1, { what: 'the retry to be scheduled' });
    await q.drain(true);
    await q.close();
    await connection.quit();
    const hooks = await received(p, 2);
    expect(hooks[1]!.answered).toBe(200);
    expect(hooks[1]!.headers['webhook-id']).toBe(hooks[0]!.headers['webhook-id']);
    await until(async () => (await deliveries(`job_id=${job.id}&status=succeeded`)).length === 1);
  });
});

describe('endpoints', () => {
  it('respects the event filter', async () => {
    const pf = path('failed-only');
    const ps = path('succeeded-only');
    const pb = path('both');
    await createEndpoint(pf, ['job.failed']);
    await createEndpoint(ps, ['job.succeeded']);
    await createEndpoint(pb, ['job.failed', 'job.succeeded']);
    const ok = await submit();
    await stack.waitForState(ok.id, ['succeeded']);
    emulator.setDefaults({ fail: true });
    const bad = await submit();
    await stack.waitForState(bad.id, ['failed']);
    await received(pb, 2);
    await until(async () => (await deliveries(`job_id=${bad.id}`)).every((d) => d.status === 'succeeded') && (await deliveries(`job_id=${ok.id}`)).every((d) => d.status === 'succeeded'));
    expect(receiver.on(ps).map((h) => [h.json.type, h.json.data.id])).toEqual([['job.succeeded', ok.id]]);
    expect(receiver.on(pf).map((h) => [h.json.type, h.json.data.id])).toEqual([['job.failed', bad.id]]);
    expect(receiver.on(pb).map((h) => h.json.type).sort()).toEqual(['job.failed', 'job.succeeded']);
  });

  it('rotation: both secrets verify during the grace period, the new one alone after', async () => {
    const p = path('rot');
    const ep = await createEndpoint(p, ['job.succeeded']);
    const rotated = (await stack.request('POST', `/v1/webhook-endpoints/${ep.id}/rotate-secret`)).body;
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(ep.secret);
    expect(Date.parse(rotated.previous_secret_expires_at) - Date.now()).toBeGreaterThan(3500 * 1000);
    // The secret is answered at creation and rotation only.
    expect((await stack.request('GET', `/v1/webhook-endpoints/${ep.id}`)).body.secret).toBeUndefined();
    expect(JSON.stringify((await stack.request('GET', '/v1/webhook-endpoints')).body)).not.toContain('whsec_');

    await submit();
    const [h] = await received(p);
    expect(h!.headers['webhook-signature'].split(' ')).toHaveLength(2);
    verifyWith(ep.secret, h!);
    verifyWith(rotated.secret, h!);

    // Grace over: only the new secret signs.
    await stack.db.query("UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1", [ep.id]);
    await submit();
    const hooks = await received(p, 2);
    expect(hooks[1]!.headers['webhook-signature'].split(' ')).toHaveLength(1);
    verifyWith(rotated.secret, hooks[1]!);
    expect(() => verifyWith(ep.secret, hooks[1]!)).toThrow();

    // The callback secret rotates the same way.
    const before = (await stack.request('GET', '/v1/webhook-secret')).body.secret;
    const after = (await stack.request('POST', '/v1/webhook-secret/rotate')).body;
    expect(after.secret).not.toBe(before);
    const pc = path('cb-rot');
    await submit({ callback_url: `${receiver.url}${pc}` });
    const [c] = await received(pc);
    verifyWith(before, c!);
    verifyWith(after.secret, c!);
  });

  it('validates endpoint requests with codes, and 404s unknown ids', async () => {
    const cases: [unknown, number, string, string][] = [
      [{ events: ['job.succeeded'] }, 422, 'validation_failed', 'url'],
      [{ url: 'ftp://x.test/h', events: ['job.succeeded'] }, 422, 'unsupported_url_scheme', 'url'],
      [{ url: 'https://x.test/h', events: [] }, 422, 'validation_failed', 'events'],
      [{ url: 'https://x.test/h', events: ['job.exploded'] }, 422, 'unknown_event_type', 'events.0'],
      [{ url: 'https://x.test/h', events: ['job.failed'], secret: 'mine' }, 400, 'unknown_field', 'secret'],
      [{ url: 'https://x.test/h', events: 'job.failed' }, 400, 'invalid_type', 'events'],
    ];
    for (const [body, status, code, field] of cases) {
      const res = await stack.request('POST', '/v1/webhook-endpoints', body);
      expect([status, res.body.error.code, res.body.error.details[0].field]).toEqual([status, code, field]);
      expect(res.status).toBe(status);
    }
    expect((await stack.request('GET', '/v1/webhook-endpoints/not-a-uuid')).status).toBe(404);
    expect((await stack.request('DELETE', '/v1/webhook-endpoints/00000000-0000-4000-8000-000000000000')).body.error.code).toBe('not_found');
    expect((await stack.request('GET', '/v1/webhook-deliveries?status=lost')).body.error.code).toBe('validation_failed');
    expect((await stack.request('GET', '/v1/webhook-deliveries?cursor=zzz')).body.error.code).toBe('invalid_cursor');
    expect((await fetch(`${stack.url}/v1/webhook-endpoints`)).status).toBe(401);
    const { count } = (await stack.db.query('SELECT count(*)::int AS count FROM webhook_endpoints WHERE url LIKE $1', ['https://x.test/%'])).rows[0];
    expect(count).toBe(0);
  });

  it('scopes endpoints and deliveries to the tenant, and paginates deliveries', async () => {
    const p = path('scoped');
    const ep = await createEndpoint(p, ['job.succeeded']);
    for (let i = 0; i < 3; i++) await submit();
    await received(p, 3);
    // Another tenant's endpoint, event and delivery, written straight to Postgres.
    await stack.db.query(`INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret) VALUES ('11111111-1111-4111-8111-111111111111', 'other', 'https://other.test/h', '{job.succeeded}', 'whsec_b3RoZXI=')`);
    await stack.db.query(`INSERT INTO webhook_events (id, tenant_id, type, dedupe_key) VALUES ('msg_other', 'other', 'job.succeeded', 'k-other')`);
    await stack.db.query(`INSERT INTO webhook_deliveries (id, event_id, tenant_id, target, endpoint_id, url, status) VALUES ('22222222-2222-4222-8222-222222222222', 'msg_other', 'other', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111', 'https://other.test/h', 'failed')`);

    const eps = (await stack.request('GET', '/v1/webhook-endpoints')).body.data;
    expect(eps.map((e: any) => e.id)).toEqual([ep.id]);
    expect((await stack.request('GET', '/v1/webhook-endpoints/11111111-1111-4111-8111-111111111111')).status).toBe(404);
    expect((await stack.request('POST', '/v1/webhook-endpoints/11111111-1111-4111-8111-111111111111/rotate-secret')).status).toBe(404);
    expect((await stack.request('DELETE', '/v1/webhook-endpoints/11111111-1111-4111-8111-111111111111')).status).toBe(404);
    expect((await stack.request('GET', '/v1/webhook-deliveries/22222222-2222-4222-8222-222222222222')).status).toBe(404);
    expect((await stack.request('POST', '/v1/webhook-deliveries/22222222-2222-4222-8222-222222222222/redeliver')).status).toBe(404);

    // Cursor pagination walks every delivery of ours exactly once, newest first, and none of the other tenant's.
    const seen: any[] = [];
    let cursor: string | null = null;
    do {
      const res: any = (await stack.request('GET', `/v1/webhook-deliveries?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      seen.push(...res.data);
      cursor = res.next_cursor;
    } while (cursor);
    const { rows } = await stack.db.query("SELECT id FROM webhook_deliveries WHERE tenant_id = 'default' ORDER BY created_at DESC, id DESC");
    expect(seen.map((d) => d.id)).toEqual(rows.map((r) => r.id));
    expect(seen.some((d) => d.id === '22222222-2222-4222-8222-222222222222')).toBe(false);
    expect((await deliveries(`endpoint_id=${ep.id}`)).length).toBe(3);

    // Deleting stops new events to it; its deliveries stay listed.
    expect((await stack.request('DELETE', `/v1/webhook-endpoints/${ep.id}`)).status).toBe(204);
    expect((await stack.request('GET', '/v1/webhook-endpoints')).body.data).toEqual([]);
    const after = await submit();
    await stack.waitForState(after.id, ['succeeded']);
    expect(await deliveries(`job_id=${after.id}`)).toEqual([]);
    expect((await deliveries(`endpoint_id=${ep.id}`)).length).toBe(3);
  });
});

describe('ConsumerEvents.emit (for batch.completed and other emitters)', () => {
  it('emits once per dedupe key, to the callback URL and subscribed endpoints, with the given data', async () => {
    const p = path('batch-ep');
    const pc = path('batch-cb');
    const ep = await createEndpoint(p, ['batch.completed']);
    const prisma = new PrismaService(stack.config);
    try {
      const e = { tenantId: 'default', type: 'batch.completed' as const, data: { id: 'b-1', counts: { succeeded: 9, failed: 1 } }, callbackUrl: `${receiver.url}${pc}`, dedupeKey: 'batch.completed:b-1' };
      const id = await prisma.$transaction((tx) => ConsumerEvents.emit(tx, e));
      expect(id).toMatch(/^msg_/);
      expect(await ConsumerEvents.emit(prisma, e)).toBeNull();
      // Nobody listening: nothing stored.
      expect(await ConsumerEvents.emit(prisma, { ...e, tenantId: 'nobody', callbackUrl: null, dedupeKey: 'x' })).toBeNull();
    } finally {
      await prisma.onApplicationShutdown();
    }
    const [h] = await received(p);
    const [c] = await received(pc);
    expect(h!.json).toMatchObject({ type: 'batch.completed', data: { id: 'b-1', counts: { succeeded: 9, failed: 1 } } });
    expect(c!.headers['webhook-id']).toBe(h!.headers['webhook-id']);
    verifyWith(ep.secret, h!);
    verifyWith((await stack.request('GET', '/v1/webhook-secret')).body.secret, c!);
  });
});
