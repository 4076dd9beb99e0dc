/**
 * SSRF end to end, with a stack that allows NO private address (OUTBOUND_ALLOW_CIDRS empty): the API refuses
 * image_url / callback_url / webhook endpoint urls / batch rows / facade requests that point (or resolve) at
 * loopback, private, link-local or metadata addresses with 422 url_not_allowed; what slips past accept time
 * (a URL stored earlier, DNS that changed) is refused at send time: a consumer webhook delivery fails at once
 * with the reason (no retries, the receiver never sees a request), and an output link at a private address
 * fails the job with output_url_not_allowed. The provider's own host (the emulator on loopback) stays usable.
 */
import { randomUUID } from 'node:crypto';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { makePng, startImageServer, type ImageServer } from '../support/image-server.js';
import { startStack, truncateAll, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let emulator: ModelslabEmulator;
let images: ImageServer;
let receiver: WebhookReceiver;
let stack: Stack;
let png: string;

beforeAll(async () => {
  await truncateAll();
  emulator = await startModelslabEmulator({ apiKey: 'emu-key', maxInFlight: 20 });
  images = await startImageServer();
  receiver = await startWebhookReceiver();
  png = (await makePng(7)).toString('base64');
  stack = await startStack({
    providerUrl: emulator.url,
    providerKey: 'emu-key',
    env: { OUTBOUND_ALLOW_CIDRS: '', WEBHOOK_RETRY_SCHEDULE: '200ms,200ms,200ms', WEBHOOK_DISPATCH_INTERVAL_MS: '100', STORE_MAX_ATTEMPTS: '1' },
  });
});

afterAll(async () => {
  await stack?.close();
  await receiver?.close();
  await images?.close();
  await emulator?.close();
});

beforeEach(() => {
  emulator.setDecide(undefined);
  emulator.setDefaults({ answer: 'processing', latencyMs: 30, webhook: 'once', etaSeconds: 1, webhookDelayMs: 0, outputDelayMs: 0, webhookOnSuccess: false, fail: false, error: undefined, outputLinks: undefined });
});

const imagePort = () => new URL(images.url).port;
const BAD_URLS = (port: string): string[] => [
  `http://127.0.0.1:${port}/a.png`,
  `http://2130706433:${port}/a.png`, // decimal
  `http://0177.0.0.1:${port}/a.png`, // octal
  `http://0x7f.0x0.0x0.0x1:${port}/a.png`, // hex
  `http://0x7f000001:${port}/a.png`,
  `http://127.1:${port}/a.png`, // short form
  `http://[::1]:${port}/a.png`,
  `http://[::ffff:127.0.0.1]:${port}/a.png`,
  `http://localhost:${port}/a.png`, // a name that resolves to loopback
  'http://10.0.0.8/a.png',
  'http://172.20.1.1/a.png',
  'http://192.168.1.1/a.png',
  'http://100.64.0.1/a.png',
  'http://169.254.169.254/latest/meta-data/',
  'http://[fd00:ec2::254]/latest/meta-data/',
  'http://metadata.google.internal/computeMetadata/v1/',
  'http://[fe80::1]/a.png',
  'http://0.0.0.0/a.png',
  'http://224.0.0.1/a.png',
];

describe('accept time', () => {
  it.each(BAD_URLS('1'))('POST /v1/jobs refuses image_url %s with 422 url_not_allowed', async (url) => {
    const res = await stack.request('POST', '/v1/jobs', { image_url: url });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('url_not_allowed');
    expect(res.body.error.details[0]).toMatchObject({ field: 'image_url', code: 'url_not_allowed' });
  });

  it('refuses the real image server on loopback, and accepts a public-looking host (the control)', async () => {
    const bad = await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl('img-1.png') });
    expect([bad.status, bad.body.error?.code]).toEqual([422, 'url_not_allowed']);
    expect(bad.body.error.message).toMatch(/loopback/);
    const ok = await stack.request('POST', '/v1/jobs', { image_url: 'https://x.test/a.png' });
    expect(ok.status).toBe(202);
    await stack.request('POST', `/v1/jobs/${ok.body.id}/cancel`);
    expect(images.hits.size).toBe(0);
  });

  it('refuses a private callback_url, naming the field', async () => {
    const res = await stack.request('POST', '/v1/jobs', { image_base64: png, callback_url: `http://localhost:${new URL(receiver.url).port}/hook` });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'callback_url', code: 'url_not_allowed' })]);
  });

  it('refuses a private webhook endpoint url', async () => {
    for (const url of [`${receiver.url}/h`, 'http://[::ffff:10.0.0.1]/h', 'http://0xa9fea9fe/h']) {
      const res = await stack.request('POST', '/v1/webhook-endpoints', { url, events: ['job.succeeded'] });
      expect([res.status, res.body.error?.code, res.body.error?.details?.[0]?.field]).toEqual([422, 'url_not_allowed', 'url']);
    }
  });

  it('rejects batch rows with private image_url / callback_url, keeps the others, and refuses a private batch callback_url', async () => {
    const res = await stack.request('POST', '/v1/batches', {
      items: [
        { image_url: 'https://x.test/1.png', external_id: 'ok' },
        { image_url: 'http://10.1.2.3/2.png', external_id: 'private' },
        { image_url: 'http://localhost/3.png', external_id: 'localhost' },
        { image_url: 'https://x.test/4.png', callback_url: 'http://169.254.169.254/', external_id: 'metadata-callback' },
      ],
    });
    expect(res.status).toBe(202);
    expect(res.body.counts.total).toBe(1);
    expect(res.body.rejected_total).toBe(3);
    expect(res.body.rejected.map((r: any) => [r.line, r.field, r.code])).toEqual([
      [2, 'image_url', 'url_not_allowed'],
      [3, 'image_url', 'url_not_allowed'],
      [4, 'callback_url', 'url_not_allowed'],
    ]);
    await stack.request('POST', `/v1/batches/${res.body.id}/cancel`);
    const bad = await stack.request('POST', '/v1/batches', { items: [{ image_url: 'https://x.test/1.png' }], callback_url: 'http://127.1/hook' });
    expect([bad.status, bad.body.error?.code]).toEqual([422, 'url_not_allowed']);
  });

  it('the ModelsLab facade refuses a private image or webhook in its own error shape', async () => {
    for (const body of [{ image: images.imageUrl('img-1.png') }, { image: png, webhook: 'http://192.168.0.1/hook' }]) {
      const res = await fetch(`${stack.url}/api/v6/image_editing/removebg_mask`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'test-api-key-0123456789', ...body }) });
      const json = (await res.json()) as any;
      expect(res.status).toBe(400);
      expect(json.status).toBe('error');
      expect(json.message).toMatch(/not allowed/);
    }
  });
});

describe('send time', () => {
  it('a stored webhook endpoint at a private address: the delivery fails at once with the reason, never retried, never received', async () => {
    // As if the endpoint was created before the guard existed, or its name resolved elsewhere then.
    const endpointId = randomUUID();
    await stack.db.query(`INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret) VALUES ($1, 'default', $2, '{job.succeeded}', 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0')`, [endpointId, `${receiver.url}/stored`]);
    try {
      const job = await stack.request('POST', '/v1/jobs', { image_base64: png });
      expect(job.status).toBe(202);
      await stack.waitForState(job.body.id, ['succeeded']);
      const delivery = await until(
        async () => (await stack.db.query(`SELECT status, attempt_count, last_error, next_attempt_at FROM webhook_deliveries WHERE endpoint_id = $1 AND status <> 'pending'`, [endpointId])).rows[0],
        { what: 'the delivery to end' },
      );
      expect(delivery.status).toBe('failed');
      expect(delivery.attempt_count).toBe(1);
      expect(delivery.next_attempt_at).toBeNull();
      expect(delivery.last_error).toMatch(/^url_not_allowed: .*loopback.*not retried$/);
      const shown = (await stack.request('GET', `/v1/webhook-deliveries?endpoint_id=${endpointId}`)).body.data[0];
      expect(shown).toMatchObject({ status: 'failed', attempts: 1, next_attempt_at: null });
      expect(shown.attempt_log).toHaveLength(1);
      expect(shown.attempt_log[0]).toMatchObject({ status_code: null, error: expect.stringMatching(/^url_not_allowed/) });
      expect(receiver.on('/stored')).toHaveLength(0);
    } finally {
      await stack.db.query('UPDATE webhook_endpoints SET deleted_at = now() WHERE id = $1', [endpointId]);
    }
  });

  it('a facade webhook whose address is refused at send time fails after one attempt, without retries', async () => {
    emulator.setDefaults({ latencyMs: 1500 });
    const res = await fetch(`${stack.url}/api/v6/image_editing/removebg_mask`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'test-api-key-0123456789', image: png, webhook: 'https://x.test/hook' }) });
    const answer = (await res.json()) as any;
    expect(answer.status).toBe('processing');
    // As if x.test now resolved to loopback: point the stored webhook at the receiver while the job runs.
    await stack.db.query('UPDATE facade_requests SET webhook = $1 WHERE id = $2', [`${receiver.url}/facade`, answer.id]);
    const row = await until(async () => (await stack.db.query(`SELECT webhook_state, webhook_attempts, webhook_error FROM facade_requests WHERE id = $1 AND webhook_state IN ('sent', 'failed')`, [answer.id])).rows[0], { timeoutMs: 30_000, what: 'the facade webhook to end' });
    expect(row).toMatchObject({ webhook_state: 'failed', webhook_attempts: 1 });
    expect(row.webhook_error).toMatch(/^url_not_allowed: .*loopback/);
    expect(receiver.on('/facade')).toHaveLength(0);
  });

  it('an output link at a private address fails the job with output_url_not_allowed; the provider host itself is allowed', async () => {
    emulator.setDefaults({ outputLinks: [`${images.url}/img-2.png`] });
    const blocked = await stack.request('POST', '/v1/jobs', { image_base64: png });
    const failed = await stack.waitForState(blocked.body.id, ['failed', 'succeeded']);
    expect(failed.state).toBe('failed');
    expect(failed.error.code).toBe('output_url_not_allowed');
    expect(images.hits.get('img-2.png') ?? 0).toBe(0);

    emulator.setDefaults({ outputLinks: undefined });
    const fine = await stack.request('POST', '/v1/jobs', { image_base64: png });
    const done = await stack.waitForState(fine.body.id, ['failed', 'succeeded']);
    expect(done.state).toBe('succeeded');
    expect(done.outputs).toHaveLength(1);
  });
});

describe('the allow-list', () => {
  it('OUTBOUND_ALLOW_HOSTS opens exactly one host:port', async () => {
    const allowed = await startStack({ providerUrl: emulator.url, providerKey: 'emu-key', workers: 0, env: { OUTBOUND_ALLOW_CIDRS: '', OUTBOUND_ALLOW_HOSTS: `127.0.0.1:${imagePort()}` } });
    try {
      const ok = await allowed.request('POST', '/v1/jobs', { image_url: images.imageUrl('img-3.png') });
      expect(ok.status).toBe(202);
      const otherPort = await allowed.request('POST', '/v1/jobs', { image_url: `http://127.0.0.1:${Number(imagePort()) + 1}/img-3.png` });
      expect([otherPort.status, otherPort.body.error?.code]).toEqual([422, 'url_not_allowed']);
    } finally {
      await allowed.close();
    }
  });
});
