/**
 * A receiver that never answers must not hold up the image pipeline: deliveries run on their own queue with
 * bounded concurrency and a timeout per attempt. Also: the outbound call's timeout and answer snippet cap.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { OutboundPolicy } from '../../libs/net/src/index.js';
import { sendWebhook, RESPONSE_SNIPPET_BYTES } from '../../libs/webhooks/src/index.js';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { freePort, startStack, type Stack } from '../support/stack.js';
import { TEST_DATABASE_URL } from '../support/test-env.js';
import { until } from '../support/until.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let emulator: ModelslabEmulator;
let images: ImageServer;
let receiver: WebhookReceiver;
let stack: Stack;

beforeAll(async () => {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  await c.query('TRUNCATE webhook_delivery_attempts, webhook_deliveries, webhook_events, webhook_endpoints, tenant_webhook_secrets');
  await c.end();
  emulator = await startModelslabEmulator({ apiKey: 'emu-key', maxInFlight: 20 });
  images = await startImageServer();
  receiver = await startWebhookReceiver();
  stack = await startStack({
    providerUrl: emulator.url,
    providerKey: 'emu-key',
    env: { WEBHOOK_CONCURRENCY: '2', WEBHOOK_TIMEOUT_MS: '20000', WEBHOOK_RETRY_SCHEDULE: '200ms', WEBHOOK_DISPATCH_INTERVAL_MS: '100' },
  });
});

afterAll(async () => {
  await stack?.close();
  await receiver?.close();
  await emulator?.close();
  await images?.close();
});

async function submit(): Promise<string> {
  const res = await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl('img-1.png') });
  expect(res.status).toBe(202);
  return res.body.id;
}

it('jobs keep completing while every webhook slot hangs on a receiver that never answers', async () => {
  const ep = (await stack.request('POST', '/v1/webhook-endpoints', { url: `${receiver.url}/hang`, events: ['job.succeeded'] })).body;
  receiver.script('/hang', Array.from({ length: 50 }, () => 'hang' as const));
  // Fill both delivery slots (WEBHOOK_CONCURRENCY=2) with requests that will not be answered for 20 s.
  const first = [await submit(), await submit()];
  await until(() => receiver.hanging === 2, { what: 'two hanging deliveries' });

  const started = Date.now();
  const later = await Promise.all([submit(), submit(), submit()]);
  for (const id of later) await stack.waitForState(id, ['succeeded'], 15_000);
  const tookMs = Date.now() - started;
  // Still hanging: the pipeline did not wait for them.
  expect(receiver.hanging).toBe(2);
  expect(tookMs).toBeLessThan(15_000);
  const { rows } = await stack.db.query('SELECT job_id, status, attempt_count FROM webhook_deliveries WHERE job_id = ANY($1::uuid[])', [later]);
  expect(rows).toHaveLength(3);
  for (const r of rows) expect(r).toMatchObject({ status: 'pending', attempt_count: 0 });

  // The receiver drops the connections: those attempts fail, are recorded, and everything is retried.
  receiver.script('/hang', []);
  receiver.releaseHangs();
  await until(async () => {
    const res = await stack.request('GET', `/v1/webhook-deliveries?endpoint_id=${ep.id}&status=succeeded`);
    return res.body.data.length === 5;
  }, { what: 'all five deliveries', timeoutMs: 20_000 });
  const failedAttempts = (await stack.db.query("SELECT error FROM webhook_delivery_attempts WHERE status_code IS NULL")).rows;
  expect(failedAttempts.length).toBeGreaterThanOrEqual(2);
  for (const f of failedAttempts) expect(f.error).toBeTruthy();
  expect(first).toHaveLength(2);
});

it('the outbound call times out, does not follow redirects, and keeps at most 1 KiB of the answer', async () => {
  const server = http.createServer((req, res) => {
    if (req.url === '/slow') return; // never answers
    if (req.url === '/redirect') return void res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
    res.writeHead(500).end('x'.repeat(10_000));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const loopback = OutboundPolicy.fromLists('127.0.0.0/8');
  try {
    const slow = await sendWebhook(`${base}/slow`, {}, '{}', 300, loopback);
    expect(slow).toMatchObject({ statusCode: null, error: 'timed out after 300 ms' });
    expect(slow.durationMs).toBeGreaterThanOrEqual(250);
    expect(slow.durationMs).toBeLessThan(5000);
    const redirect = await sendWebhook(`${base}/redirect`, {}, '{}', 2000, loopback);
    expect(redirect.statusCode).toBe(302);
    expect(redirect.error).toContain('not followed');
    const big = await sendWebhook(`${base}/big`, {}, '{}', 2000, loopback);
    expect(big.statusCode).toBe(500);
    expect(big.responseSnippet).toHaveLength(RESPONSE_SNIPPET_BYTES);
    const refused = await sendWebhook(`http://127.0.0.1:${await freePort()}/`, {}, '{}', 2000, loopback);
    expect(refused).toMatchObject({ statusCode: null, error: 'ECONNREFUSED' });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
