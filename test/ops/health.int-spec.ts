/**
 * GET /health/live and /health/ready against the real stack: ready is 200 with every dependency up, and 503
 * `not_ready` naming exactly what is down when the S3 endpoint's port is closed (a real TCP forwarder to
 * radosgw that the test shuts) or the provider is gone; it recovers when the port opens again.
 */
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startStack, type Stack } from '../support/stack.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { TEST_S3 } from '../support/test-env.js';

let emulator: ModelslabEmulator;
let s3Proxy: TcpProxy;
let stack: Stack;

beforeAll(async () => {
  emulator = await startModelslabEmulator({ apiKey: 'k' });
  const s3 = new URL(TEST_S3.endpoint);
  s3Proxy = await startTcpProxy(s3.hostname, Number(s3.port));
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', webhooks: false, workers: 0, env: { S3_ENDPOINT: s3Proxy.url, HEALTH_CHECK_TIMEOUT_MS: '1500' } });
});

afterAll(async () => {
  await stack?.close();
  await s3Proxy?.close();
  await emulator?.close();
});

const ready = async () => {
  const res = await fetch(`${stack.url}/health/ready`);
  return { status: res.status, body: (await res.json()) as any };
};

it('echoes a sane X-Request-Id and replaces anything else with a UUID', async () => {
  const given = await fetch(`${stack.url}/health/live`, { headers: { 'x-request-id': 'lb-7f3a:01' } });
  expect(given.headers.get('x-request-id')).toBe('lb-7f3a:01');
  const odd = await fetch(`${stack.url}/v1/jobs/x`, { headers: { 'x-request-id': 'a b<script>' } });
  expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(odd.status).toBe(401);
});

it('is live without authentication', async () => {
  const res = await fetch(`${stack.url}/health/live`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
});

it('is ready with Postgres, Redis, S3 and the provider up, and reports each', async () => {
  const { status, body } = await ready();
  expect(status).toBe(200);
  expect(body.status).toBe('ok');
  expect(Object.keys(body.details).sort()).toEqual(['postgres', 'provider', 'redis', 's3']);
  for (const check of Object.values(body.details) as any[]) {
    expect(check.status).toBe('up');
    expect(typeof check.responseTime).toBe('number');
  }
  expect(body.details.provider).toMatchObject({ kind: 'modelslab', url: emulator.url });
  expect(body.details.s3.bucket).toBe(TEST_S3.bucket);
});

it('answers 503 naming S3 when its endpoint is a closed port, and recovers when it opens again', async () => {
  await s3Proxy.close();
  const started = Date.now();
  const down = await ready();
  expect(Date.now() - started).toBeLessThan(5000);
  expect(down.status).toBe(503);
  expect(down.body.error.code).toBe('not_ready');
  expect(down.body.error.message).toBe('not ready: s3 down');
  expect(down.body.error.details.s3.status).toBe('down');
  expect(down.body.error.details.s3.message).toMatch(/ECONNREFUSED|timeout|socket|connect/i);
  for (const name of ['postgres', 'redis', 'provider']) expect(down.body.error.details[name].status).toBe('up');
  // No secret of the S3 configuration in the answer.
  expect(JSON.stringify(down.body)).not.toContain(TEST_S3.secretAccessKey);
  // Liveness does not depend on S3.
  expect((await fetch(`${stack.url}/health/live`)).status).toBe(200);

  await s3Proxy.reopen();
  expect((await ready()).status).toBe(200);
});

it('answers 503 naming the provider when the provider is unreachable', async () => {
  await emulator.close();
  const down = await ready();
  expect(down.status).toBe(503);
  expect(down.body.error.message).toBe('not ready: provider down');
  expect(down.body.error.details.provider.status).toBe('down');
  expect(down.body.error.details.provider.message).toContain('unreachable');
  expect(down.body.error.details.s3.status).toBe('up');
});
