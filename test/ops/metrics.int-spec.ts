/**
 * /metrics on the api (cluster-wide gauges and its own counters) and on the worker's METRICS_PORT: jobs run
 * through the emulator with known outcomes, then both are scraped and every counter must have moved by
 * exactly the expected amount (parsed from the text format, as Prometheus reads it).
 */
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { sampleValue, scrape, type Sample } from '../support/prometheus-text.js';
import { freePort, startStack, truncateAll, type Stack } from '../support/stack.js';
import { TEST_DATABASE_URL } from '../support/test-env.js';
import pg from 'pg';
import { until } from '../support/until.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let emulator: ModelslabEmulator;
let images: ImageServer;
let receiver: WebhookReceiver;
let stack: Stack;
let workerMetrics: string;
const transientErrors = new Map<string, number>();

/** Workers act on the whole database (reconciler, batch feeder, webhook dispatcher): start from empty tables. */
async function emptyTables(): Promise<void> {
  await truncateAll();
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  await c.query('TRUNCATE webhook_delivery_attempts, webhook_deliveries, webhook_events, webhook_endpoints, tenant_webhook_secrets, facade_requests');
  await c.end();
}

beforeAll(async () => {
  await emptyTables();
  images = await startImageServer();
  receiver = await startWebhookReceiver();
  emulator = await startModelslabEmulator({
    apiKey: 'k',
    maxInFlight: 20,
    defaults: { answer: 'success', latencyMs: 20, etaSeconds: 0 },
    decide: (r) => {
      const image = String(r.body.image);
      if (image.endsWith('img-2.png')) return { answer: 'processing', latencyMs: 50 };
      if (image.endsWith('img-3.png')) return { error: { httpStatus: 400, message: 'bad image' } };
      if (image.endsWith('img-4.png') && !transientErrors.has(image)) {
        transientErrors.set(image, 1);
        return { error: { httpStatus: 503, message: 'overloaded' } };
      }
      // Held at the provider for the whole test: one provider slot stays in use.
      if (image.endsWith('img-7.png')) return { answer: 'processing', latencyMs: 600_000, etaSeconds: 600 };
      return undefined;
    },
  });
  const metricsPort = await freePort();
  workerMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', webhooks: false, maxInFlight: 4, env: { METRICS_PORT: String(metricsPort), METRICS_CACHE_MS: '0' } });
});

afterAll(async () => {
  await stack?.close();
  await emulator?.close();
  await images?.close();
  await receiver?.close();
});

const api = () => scrape(`${stack.url}/metrics`);
const v = sampleValue;

it('counts provider answers, stage latencies, webhook deliveries and S3 bytes by the right amounts', async () => {
  const before = await api();
  const worker0 = await scrape(workerMetrics);
  const ep = await stack.request('POST', '/v1/webhook-endpoints', { url: `${receiver.url}/ok`, events: ['job.succeeded', 'job.failed'] });
  expect(ep.status).toBe(201);
  receiver.script('/gone', [410]);

  const hold = (await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl('img-7.png') })).body;
  const ids: string[] = [];
  for (const n of [0, 1, 2, 3, 4]) ids.push((await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl(`img-${n}.png`) })).body.id);
  ids.push((await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl('img-5.png'), callback_url: `${receiver.url}/gone` })).body.id);
  const done = await Promise.all(ids.map((id) => stack.waitForState(id, ['succeeded', 'failed'], 30_000)));
  expect(done.map((j) => j.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'failed', 'succeeded', 'succeeded']);
  await stack.waitForState(hold.id, ['processing']);

  // Deliveries are counted after they are recorded: wait for the last one, then compare exactly.
  const delta = (after: Sample[], name: string, labels: Record<string, string> = {}) => v(after, name, labels) - v(worker0, name, labels);
  const w = await until(async () => {
    const s = await scrape(workerMetrics);
    return delta(s, 'maskflow_webhook_deliveries_total', { outcome: 'delivered' }) >= 6 && delta(s, 'maskflow_webhook_deliveries_total', { outcome: 'gone' }) >= 1 ? s : undefined;
  }, { what: 'webhook deliveries to be counted' });

  const answers = (operation: string, cls: string) => delta(w, 'maskflow_provider_answers_total', { provider: 'modelslab', operation, class: cls });
  expect(answers('submit', 'success')).toBe(4); // img-0, img-1, img-5, img-4's second attempt
  expect(answers('submit', 'processing')).toBe(2); // img-2, img-7
  expect(answers('submit', '4xx')).toBe(1); // img-3
  expect(answers('submit', '5xx')).toBe(1); // img-4's first attempt
  expect(answers('submit', '429')).toBe(0);
  expect(answers('fetch', 'success')).toBe(1); // img-2's result, by polling

  const count = (stage: string) => delta(w, 'maskflow_stage_duration_seconds_count', { stage });
  expect(count('queued')).toBe(8); // every attempt: 7 jobs + img-4's retry
  expect(count('provider')).toBe(5); // attempts whose result came (the 5 successes)
  expect(count('store')).toBe(5);
  expect(count('end_to_end')).toBe(5);
  // The histogram is consistent: every observation in the +Inf bucket, and a positive sum.
  expect(delta(w, 'maskflow_stage_duration_seconds_bucket', { stage: 'end_to_end', le: '+Inf' })).toBe(5);
  expect(delta(w, 'maskflow_stage_duration_seconds_sum', { stage: 'end_to_end' })).toBeGreaterThan(0);

  expect(delta(w, 'maskflow_webhook_deliveries_total', { outcome: 'delivered' })).toBe(6); // 5 succeeded + 1 failed, to the endpoint
  expect(delta(w, 'maskflow_webhook_deliveries_total', { outcome: 'gone' })).toBe(1); // img-5's callback_url answered 410
  expect(delta(w, 'maskflow_webhook_deliveries_total', { outcome: 'retry' })).toBe(0);

  const stored = done.flatMap((j) => j.outputs as { bytes: number }[]).reduce((a, o) => a + o.bytes, 0);
  expect(stored).toBeGreaterThan(0);
  expect(delta(w, 'maskflow_s3_bytes_written_total')).toBe(stored);

  // The api's cluster-wide gauges.
  const after = await api();
  const jobs = (state: string) => v(after, 'maskflow_jobs', { state }) - v(before, 'maskflow_jobs', { state });
  expect([jobs('succeeded'), jobs('failed'), jobs('processing'), jobs('queued')]).toEqual([5, 1, 1, 0]);
  expect(v(after, 'maskflow_provider_slots_in_use')).toBe(1); // img-7, held at the provider
  expect(v(after, 'maskflow_provider_slots_limit')).toBe(4);
  expect(v(after, 'maskflow_queue_jobs', { queue: 'submit-to-provider', state: 'active' })).toBe(1);
  expect(v(after, 'maskflow_queue_jobs', { queue: 'submit-to-provider', state: 'waiting' })).toBe(0);
  expect(v(after, 'maskflow_queue_oldest_waiting_seconds', { queue: 'submit-to-provider' })).toBe(0);
  expect(v(after, 'maskflow_cluster_state_up')).toBe(1);
  // The api's answers by route pattern: 7 jobs created, every GET of a job counted under one route.
  const http = (labels: Record<string, string>) => v(after, 'maskflow_http_requests_total', labels) - v(before, 'maskflow_http_requests_total', labels);
  expect(http({ method: 'POST', route: '/v1/jobs', status: '202' })).toBe(7);
  expect(http({ method: 'POST', route: '/v1/webhook-endpoints', status: '201' })).toBe(1);
  expect(http({ method: 'GET', route: '/v1/jobs/:id', status: '200' })).toBeGreaterThanOrEqual(7);
  expect(after.some((x) => x.name === 'maskflow_http_requests_total' && x.labels.route!.includes(hold.id))).toBe(false);
  // The api wrote no output; an upload is counted by the api that stored it.
  expect(v(after, 'maskflow_s3_bytes_written_total')).toBe(0);
  const png = images.png('img-6.png');
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(png)]), 'img-6.png');
  expect((await stack.request('POST', '/v1/jobs', form)).status).toBe(202);
  expect(v(await api(), 'maskflow_s3_bytes_written_total')).toBe(png.length);
  // Process metrics are there too.
  expect(v(w, 'process_resident_memory_bytes')).toBeGreaterThan(0);
});

it('reports queue depth and the age of the oldest waiting job when no worker takes them', async () => {
  const idle = await startStack({ providerUrl: emulator.url, providerKey: 'k', webhooks: false, workers: 0, env: { METRICS_CACHE_MS: '0' } });
  try {
    const t0 = Date.now();
    for (const n of [0, 1, 2]) expect((await idle.request('POST', '/v1/jobs', { image_url: images.imageUrl(`img-${n}.png`) })).status).toBe(202);
    const s = await until(async () => {
      const m = await scrape(`${idle.url}/metrics`);
      return v(m, 'maskflow_queue_oldest_waiting_seconds', { queue: 'submit-to-provider' }) >= 0.3 ? m : undefined;
    }, { what: 'the oldest waiting job to age' });
    expect(v(s, 'maskflow_queue_jobs', { queue: 'submit-to-provider', state: 'waiting' })).toBe(3);
    expect(v(s, 'maskflow_queue_oldest_waiting_seconds', { queue: 'submit-to-provider' })).toBeLessThanOrEqual((Date.now() - t0) / 1000 + 0.1);
    expect(v(s, 'maskflow_queue_jobs', { queue: 'store-outputs', state: 'waiting' })).toBe(0);
    expect(v(s, 'maskflow_provider_slots_in_use')).toBe(0);
  } finally {
    await idle.close();
  }
});

it('reuses the cluster state for METRICS_CACHE_MS, so scrapes do not each query Postgres and Redis', async () => {
  const cached = await startStack({ providerUrl: emulator.url, providerKey: 'k', webhooks: false, workers: 0, env: { METRICS_CACHE_MS: '60000' } });
  try {
    const first = await scrape(`${cached.url}/metrics`);
    expect((await cached.request('POST', '/v1/jobs', { image_url: images.imageUrl('img-1.png') })).status).toBe(202);
    const second = await scrape(`${cached.url}/metrics`);
    expect(v(second, 'maskflow_jobs', { state: 'queued' })).toBe(v(first, 'maskflow_jobs', { state: 'queued' }));
    expect(v(second, 'maskflow_queue_jobs', { queue: 'submit-to-provider', state: 'waiting' })).toBe(0);
  } finally {
    await cached.close();
  }
});
