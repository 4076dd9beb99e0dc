/**
 * Structured logs without secrets: the api and a worker run as OS processes with LOG_LEVEL=debug and their
 * output captured; jobs (one succeeding through the provider webhook, one failing with a provider error that
 * echoes the provider key), facade requests and refused requests go through. No secret value may appear in
 * the captured logs or in any answer's error, while requestId, jobId and trackId are there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { freePort, truncateAll } from '../support/stack.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, TEST_S3 } from '../support/test-env.js';
import { until } from '../support/until.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const secret = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;
const PROVIDER_KEY = secret('provider-key');
const STATIC_KEY = secret('static-api-key');
const ADMIN_KEY = secret('admin-key');

let emulator: ModelslabEmulator;
let images: ImageServer;
let receiver: WebhookReceiver;
let api: ChildProcess;
let worker: ChildProcess;
let url: string;
let output = '';
const answers: string[] = [];

function start(entry: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [path.join(root, entry)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function call(method: string, p: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${p}`, {
    method,
    headers: { authorization: `Bearer ${STATIC_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  answers.push(text);
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  // Workers act on the whole database: no other test's leftovers.
  await truncateAll();
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  await c.query('TRUNCATE webhook_delivery_attempts, webhook_deliveries, webhook_events, webhook_endpoints, tenant_webhook_secrets, facade_requests');
  await c.end();
  images = await startImageServer();
  receiver = await startWebhookReceiver();
  emulator = await startModelslabEmulator({
    apiKey: PROVIDER_KEY,
    defaults: { answer: 'processing', latencyMs: 30, etaSeconds: 0, webhook: 'once' },
    // img-3 fails at the provider with a message that echoes the key (it must not reach logs or job errors).
    decide: (r) => (String(r.body.image).endsWith('img-3.png') ? { error: { httpStatus: 401, message: `Invalid key ${PROVIDER_KEY}, check it` } } : undefined),
  });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: TEST_DATABASE_URL,
    MIGRATE_ON_START: 'false',
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: `{mft-${randomBytes(5).toString('hex')}}`,
    S3_ENDPOINT: TEST_S3.endpoint,
    S3_BUCKET: TEST_S3.bucket,
    S3_ACCESS_KEY_ID: TEST_S3.accessKeyId,
    S3_SECRET_ACCESS_KEY: TEST_S3.secretAccessKey,
    PROVIDER: 'modelslab',
    MODELSLAB_API_KEY: PROVIDER_KEY,
    MODELSLAB_BASE_URL: emulator.url,
    PUBLIC_BASE_URL: url,
    API_KEYS: STATIC_KEY,
    ADMIN_API_KEY: ADMIN_KEY,
    PROVIDER_BACKOFF_MS: '200',
    METRICS_PORT: '0',
    SHUTDOWN_GRACE_MS: '3000',
    WEBHOOK_DISPATCH_INTERVAL_MS: '200',
    FACADE_WEBHOOK_INTERVAL_MS: '200',
  };
  const running = (child: ChildProcess, what: string) => {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}: ${output.slice(-2000)}`);
  };
  api = start('dist/apps/api/src/main.js', env);
  await until(async () => {
    running(api, 'the api process');
    return (await fetch(`${url}/health/live`)).ok;
  }, { timeoutMs: 60_000, what: 'the api process to listen' });
  worker = start('dist/apps/worker/src/main.js', env);
  await until(() => {
    running(worker, 'the worker process');
    return output.includes('"worker started"');
  }, { timeoutMs: 60_000, what: 'the worker process to start' });
});

afterAll(async () => {
  await stop(worker);
  await stop(api);
  await emulator?.close();
  await images?.close();
  await receiver?.close();
});

it('logs requestId, jobId and trackId, and no secret in any log line or error answer', async () => {
  const secrets = new Map<string, string>([
    ['provider key', PROVIDER_KEY],
    ['static API key', STATIC_KEY],
    ['admin key', ADMIN_KEY],
    ['S3 secret key', TEST_S3.secretAccessKey],
  ]);
  // A managed key, a webhook endpoint's signing secret and the callback signing secret.
  const created = await call('POST', '/v1/admin/api-keys', { name: 'logs', tenant: 'logs-tenant' }, { authorization: `Bearer ${ADMIN_KEY}` });
  expect(created.status).toBe(201);
  const managedKey: string = created.body.key;
  secrets.set('managed key', managedKey).set('managed key secret part', managedKey.slice(-43));
  const managed = { authorization: `Bearer ${managedKey}` };
  const ep = await call('POST', '/v1/webhook-endpoints', { url: `${receiver.url}/events`, events: ['job.succeeded', 'job.failed'] }, managed);
  expect(ep.body.secret).toMatch(/^whsec_/);
  secrets.set('endpoint whsec secret', ep.body.secret);
  secrets.set('callback whsec secret', (await call('GET', '/v1/webhook-secret', undefined, managed)).body.secret);

  // A job that succeeds (provider webhook to our receiver URL with its token), with a request id of ours.
  const ok = await call('POST', '/v1/jobs', { image_url: images.imageUrl('img-1.png'), track_id: 'sku-logs-1' }, { ...managed, 'x-request-id': 'req-logs-0001' });
  expect(ok.status).toBe(202);
  expect(ok.headers.get('x-request-id')).toBe('req-logs-0001');
  // A job that fails at the provider; the answer carries a generated request id.
  const bad = await call('POST', '/v1/jobs', { image_url: images.imageUrl('img-3.png'), track_id: 'sku-logs-fail', callback_url: `${receiver.url}/callback` }, managed);
  expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  // The facade, with the key in the body.
  const facade = await call('POST', '/api/v6/image_editing/removebg_mask', { key: managedKey, image: images.imageUrl('img-2.png'), track_id: 4242 }, { 'x-request-id': 'req-logs-facade' });
  expect(facade.body.status).toBe('processing');
  // Refused requests: a wrong Bearer key, a wrong facade key, and a wrong provider-webhook token.
  const wrongBearer = secret('wrong-bearer');
  const wrongFacade = secret('wrong-facade');
  secrets.set('wrong bearer key', wrongBearer).set('wrong facade key', wrongFacade);
  expect((await call('GET', '/v1/jobs', undefined, { authorization: `Bearer ${wrongBearer}` })).status).toBe(401);
  expect((await call('POST', '/api/v6/image_editing/fetch/1', { key: wrongFacade })).status).toBe(401);

  const okJob = await until(async () => {
    const j = (await call('GET', `/v1/jobs/${ok.body.id}`, undefined, managed)).body;
    return j.state === 'succeeded' ? j : undefined;
  }, { what: 'the job to succeed' });
  const badJob = await until(async () => {
    const j = (await call('GET', `/v1/jobs/${bad.body.id}`, undefined, managed)).body;
    return j.state === 'failed' ? j : undefined;
  }, { what: 'the job to fail' });
  expect(badJob.error.code).toBe('provider_unauthorized');
  expect(badJob.error.message).toContain('Invalid key [redacted]');
  const fetched = await until(async () => {
    const f = (await call('POST', `/api/v6/image_editing/fetch/${facade.body.id}`, { key: managedKey })).body;
    return f.status === 'success' ? f : undefined;
  }, { what: 'the facade request to succeed' });
  // Presigned URLs' signatures and credentials.
  for (const u of [...okJob.outputs.map((o: { url: string }) => o.url), ...fetched.output]) {
    const q = new URL(u).searchParams;
    secrets.set(`signature of ${u.slice(-20)}`, q.get('X-Amz-Signature')!).set(`credential of ${u.slice(-20)}`, q.get('X-Amz-Credential')!);
  }
  // Provider webhook tokens (the secret part of the URLs the provider calls back).
  const db = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await db.connect();
  const tokens = await db.query<{ webhook_token: string }>('SELECT webhook_token FROM job_attempts WHERE job_id = ANY($1::uuid[])', [[ok.body.id, bad.body.id, fetched.meta.maskflow_job_id]]);
  await db.end();
  expect(tokens.rows.length).toBeGreaterThanOrEqual(3);
  tokens.rows.forEach((r, i) => secrets.set(`webhook token ${i}`, r.webhook_token));
  // Both terminal events reached the endpoint (so the worker logged the deliveries).
  await until(() => receiver.on('/events').length >= 2 && receiver.on('/callback').length >= 1, { what: 'the consumer webhooks' });

  await stop(worker);
  await stop(api);
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const json = lines.map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      return null;
    }
  });
  expect(json.filter(Boolean).length).toBeGreaterThan(20);

  for (const [what, value] of secrets) {
    expect(value.length).toBeGreaterThanOrEqual(8);
    expect({ what, inLogs: output.includes(value) }).toEqual({ what, inLogs: false });
    expect({ what, inAnswers: answers.some((a) => a.includes('"error"') && a.includes(value)) }).toEqual({ what, inAnswers: false });
  }
  // The provider key is also absent from the job's error, the only answer a provider message reaches.
  expect(JSON.stringify(badJob)).not.toContain(PROVIDER_KEY);

  const has = (pred: (l: Record<string, any>) => boolean) => json.some((l) => l !== null && pred(l));
  // The access log and a service log inside the request carry the request id (also through the facade).
  expect(has((l) => l.msg === 'request' && l.requestId === 'req-logs-0001' && l.path === '/v1/jobs' && l.status === 202)).toBe(true);
  expect(has((l) => l.msg === 'facade request accepted' && l.requestId === 'req-logs-facade')).toBe(true);
  // The provider's webhook is in the access log with its token replaced.
  expect(has((l) => l.msg === 'request' && /^\/webhooks\/modelslab\/\d+\/\[redacted\]$/.test(l.path))).toBe(true);
  // Worker lines carry the job and track ids, including the provider call made inside the step.
  expect(has((l) => l.msg === 'outputs stored' && l.jobId === ok.body.id && l.trackId === 'sku-logs-1')).toBe(true);
  expect(has((l) => l.msg === 'provider request' && l.jobId === bad.body.id && l.trackId === 'sku-logs-fail' && l.body?.key === '[redacted]')).toBe(true);
  expect(has((l) => l.msg?.startsWith?.('provider refused the job') && l.jobId === bad.body.id)).toBe(true);
  expect(has((l) => l.msg === 'webhook delivered' && typeof l.deliveryId === 'string')).toBe(true);
});
