/**
 * The ModelsLab-compatible facade on maskflow, driven with the provider's documented request bodies
 * (modelslab-removebg_mask.md: the "Body" example and the OpenAPI RemoveBgMaskRequest fields), only `key`
 * (a maskflow key) and `image` (an address this test serves) changed. Answers must be the provider's shapes,
 * outputs our presigned S3 URLs, and the caller's webhook must get the provider-shaped payload with its
 * track_id. Also: our own ModelsLab client, pointed at maskflow, works unchanged.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ModelslabClient } from '../../libs/provider/src/index.js';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';

const ADMIN = 'admin-key-0123456789abcdef';

/** Verbatim from the provider's page ("Body"). */
const DOCUMENTED_BODY = `{    
    "key":"",    
    "seed":12345,    
    "image":"https://assets.modelslab.ai/generations/31d4567d-b60a-4d09-9650-987fc0aae2cf",    
    "post_process_mask": false,    
    "only_mask": false,    
    "alpha_matting":false,    
    "webhook": null,    
    "track_id": null  
}`;

let emulator: ModelslabEmulator;
let images: ImageServer;
let stack: Stack;
let hooks: { server: Server; url: string; calls: { headers: IncomingHttpHeaders; body: any }[] };
let key: string;
let otherKey: string;

async function startHookReceiver() {
  const calls: { headers: IncomingHttpHeaders; body: any }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, calls };
}

beforeAll(async () => {
  images = await startImageServer();
  emulator = await startModelslabEmulator({
    apiKey: 'k',
    maxInFlight: 5,
    defaults: { answer: 'processing', latencyMs: 100, webhook: 'once', etaSeconds: 1 },
    // img-7 is an image the provider refuses.
    decide: (r) => (String(r.body.image).endsWith('img-7.png') ? { error: { httpStatus: 400, message: 'The image could not be processed.' } } : undefined),
  });
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', env: { ADMIN_API_KEY: ADMIN, FACADE_WEBHOOK_INTERVAL_MS: '100' } });
  hooks = await startHookReceiver();
  const mk = async (tenant: string, extra = {}) =>
    (await stack.request('POST', '/v1/admin/api-keys', { name: tenant, tenant, ...extra }, { authorization: `Bearer ${ADMIN}` })).body.key as string;
  key = await mk('shop');
  otherKey = await mk('other-shop');
});

afterAll(async () => {
  await stack?.close();
  await emulator?.close();
  await images?.close();
  await new Promise((r) => hooks?.server.close(r));
});

async function post(p: string, body: unknown) {
  const res = await fetch(`${stack.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

function documented(overrides: Record<string, unknown>): Record<string, unknown> {
  return { ...JSON.parse(DOCUMENTED_BODY), ...overrides };
}

const PROCESSING_KEYS = ['eta', 'fetch_result', 'future_links', 'id', 'message', 'meta', 'output', 'proxy_links', 'status', 'tip'];
const SUCCESS_KEYS = ['generationTime', 'id', 'meta', 'output', 'proxy_links', 'status'];

async function fetchUntilDone(fetchResult: string, k = key): Promise<any> {
  return until(async () => {
    const res = await fetch(fetchResult, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: k }) });
    const body = (await res.json()) as any;
    return body.status === 'processing' ? undefined : body;
  }, { timeoutMs: 30_000, what: 'the facade request to finish' });
}

it('takes the documented body and answers processing, then success with presigned S3 outputs', async () => {
  const res = await post('/api/v6/image_editing/removebg_mask', documented({ key, image: images.imageUrl('img-1.png') }));
  expect(res.status).toBe(200);
  expect(Object.keys(res.body).sort()).toEqual(PROCESSING_KEYS);
  expect(res.body).toMatchObject({ status: 'processing', output: [], fetch_result: `${stack.url}/api/v6/image_editing/fetch/${res.body.id}` });
  expect(Number.isInteger(res.body.id)).toBe(true);
  expect(Number.isInteger(res.body.eta)).toBe(true);
  expect(res.body.meta).toMatchObject({ seed: 12345, only_mask: false, alpha_matting: false, post_process_mask: false, track_id: null, webhook: null });
  expect(JSON.stringify(res.body)).not.toContain(key);
  expect(res.headers.get('ratelimit-limit')).not.toBeNull();

  const done = await fetchUntilDone(res.body.fetch_result);
  expect(Object.keys(done).sort()).toEqual(SUCCESS_KEYS);
  expect(done).toMatchObject({ status: 'success', id: res.body.id });
  expect(done.output).toHaveLength(1);
  expect(done.proxy_links).toEqual(done.output);
  const url = new URL(done.output[0]);
  expect(url.origin).toBe(new URL(stack.config.s3.publicEndpoint).origin);
  expect(url.searchParams.get('X-Amz-Signature')).toBeTruthy();
  const png = Buffer.from(await (await fetch(done.output[0])).arrayBuffer());
  const { rows } = await stack.db.query('SELECT o.sha256 FROM facade_requests f JOIN job_outputs o ON o.job_id = f.job_id WHERE f.id = $1', [res.body.id]);
  expect(createHash('sha256').update(png).digest('hex')).toBe(rows[0].sha256);
  // The provider got the documented options through maskflow's pipeline.
  const atProvider = emulator.submissions.find((s) => s.body.image === images.imageUrl('img-1.png'))!;
  expect(atProvider.body).toMatchObject({ seed: 12345, only_mask: false, alpha_matting: false, post_process_mask: false });
});

it("calls the caller's webhook with its track_id, unsigned, in the provider's webhook shape", async () => {
  // Every field of the documented OpenAPI request body.
  const body = documented({
    key,
    image: images.imageUrl('img-2.png'),
    inverse_mask: true,
    base64: false,
    alpha_matting: true,
    alpha_matting_foreground_threshold: 240,
    alpha_matting_background_threshold: 20,
    alpha_matting_erode_size: 5,
    webhook: hooks.url,
    track_id: 4242,
  });
  const res = await post('/api/v6/image_editing/removebg_mask', body);
  expect(res.body.status).toBe('processing');
  const call = await until(() => hooks.calls.find((c) => c.body.track_id === 4242), { timeoutMs: 30_000, what: 'the webhook' });
  expect(Object.keys(call.body).sort()).toEqual(['generationTime', 'id', 'meta', 'output', 'status', 'track_id']);
  expect(call.body).toMatchObject({ status: 'success', id: res.body.id, track_id: 4242 });
  expect(call.headers['webhook-signature']).toBeUndefined();
  expect(new URL(call.body.output[0]).searchParams.get('X-Amz-Signature')).toBeTruthy();
  expect((await fetch(call.body.output[0])).status).toBe(200);
  const { rows } = await stack.db.query('SELECT webhook_state, webhook_attempts FROM facade_requests WHERE id = $1', [res.body.id]);
  expect(rows[0]).toEqual({ webhook_state: 'sent', webhook_attempts: 1 });
  // The maskflow job carries the caller's track_id.
  const { rows: jobs } = await stack.db.query('SELECT j.track_id, j.tenant_id FROM jobs j JOIN facade_requests f ON f.job_id = j.id WHERE f.id = $1', [res.body.id]);
  expect(jobs[0]).toEqual({ track_id: '4242', tenant_id: 'shop' });
  expect(emulator.submissions.find((s) => s.body.image === images.imageUrl('img-2.png'))!.body).toMatchObject({ inverse_mask: true, alpha_matting: true, alpha_matting_erode_size: 5 });
});

it('reports a failed request as failed, by fetch and by webhook', async () => {
  const res = await post('/api/v6/image_editing/removebg_mask', documented({ key, image: images.imageUrl('img-7.png'), webhook: hooks.url, track_id: 7 }));
  const done = await fetchUntilDone(res.body.fetch_result);
  expect(done).toMatchObject({ status: 'failed', id: res.body.id, track_id: 7 });
  expect(typeof done.message).toBe('string');
  const call = await until(() => hooks.calls.find((c) => c.body.track_id === 7), { timeoutMs: 30_000, what: 'the failure webhook' });
  expect(call.body).toEqual({ status: 'failed', id: res.body.id, message: done.message, track_id: 7 });
});

it('answers base64 outputs when asked', async () => {
  const res = await post('/api/v6/image_editing/removebg_mask', documented({ key, image: images.imageUrl('img-3.png'), base64: true }));
  const done = await fetchUntilDone(res.body.fetch_result);
  expect(done.status).toBe('success');
  expect(Buffer.from(done.output[0], 'base64').subarray(1, 4).toString()).toBe('PNG');
  expect(done.proxy_links[0]).toMatch(/^http/);
});

it("answers errors in the provider's shape, and another tenant's id like an unknown one", async () => {
  const noKey = await post('/api/v6/image_editing/removebg_mask', documented({ image: images.imageUrl('img-1.png') }));
  expect([noKey.status, noKey.body]).toEqual([401, { status: 'error', message: 'Invalid API key. Please provide a valid API key.' }]);
  const badOption = await post('/api/v6/image_editing/removebg_mask', documented({ key, image: images.imageUrl('img-1.png'), alpha_matting_erode_size: 9 }));
  expect(badOption.status).toBe(400);
  expect(badOption.body).toEqual({ status: 'error', message: expect.stringContaining('alpha_matting_erode_size') });
  const noImage = await post('/api/v6/image_editing/removebg_mask', { key });
  expect([noImage.status, noImage.body.status]).toEqual([400, 'error']);
  const badJson = await post('/api/v6/image_editing/removebg_mask', '{"key": ');
  expect([badJson.status, badJson.body]).toEqual([400, { status: 'error', message: 'The request body is not valid JSON.' }]);
  const badBase64 = await post('/api/v6/image_editing/removebg_mask', documented({ key, image: '@@not-base64@@' }));
  expect([badBase64.status, badBase64.body.status]).toEqual([400, 'error']);
  const wrongMethod = await fetch(`${stack.url}/api/v6/image_editing/removebg_mask`);
  expect([wrongMethod.status, ((await wrongMethod.json()) as any).status]).toEqual([405, 'error']);

  const mine = await post('/api/v6/image_editing/removebg_mask', documented({ key, image: images.imageUrl('img-4.png') }));
  const unknown = await post('/api/v6/image_editing/fetch/999999999', { key: otherKey });
  expect([unknown.status, unknown.body]).toEqual([404, { status: 'error', message: 'Request not found.' }]);
  const foreign = await post(`/api/v6/image_editing/fetch/${mine.body.id}`, { key: otherKey });
  expect([foreign.status, foreign.body]).toEqual([404, unknown.body]);
  // The env keys (tenant "default") do not see it either; the owner does.
  expect((await post(`/api/v6/image_editing/fetch/${mine.body.id}`, { key: TEST_API_KEY })).status).toBe(404);
  expect((await post(`/api/v6/image_editing/fetch/${mine.body.id}`, { key })).status).toBe(200);
  const fetchNoKey = await post(`/api/v6/image_editing/fetch/${mine.body.id}`, {});
  expect(fetchNoKey.status).toBe(401);
});

it("answers the key's rate limit as the provider answers 429, with retry_after", async () => {
  const limited = (await stack.request('POST', '/v1/admin/api-keys', { name: 'limited', tenant: 'shop', rate_limit: 2 }, { authorization: `Bearer ${ADMIN}` })).body.key;
  for (let i = 0; i < 2; i++) expect((await post('/api/v6/image_editing/fetch/1', { key: limited })).headers.get('ratelimit-limit')).toBe('2');
  const res = await post('/api/v6/image_editing/removebg_mask', documented({ key: limited, image: images.imageUrl('img-1.png') }));
  expect(res.status).toBe(429);
  expect(res.body).toEqual({ status: 'error', message: expect.stringContaining('Rate limit exceeded'), retry_after: expect.any(Number) });
  expect(Number(res.headers.get('retry-after'))).toBe(res.body.retry_after);
});

it('works with a ModelsLab client whose base URL was switched to maskflow', async () => {
  const client = new ModelslabClient('maskflow', stack.url, key, 5000);
  const submitted = await client.submit({ image: images.imageUrl('img-5.png'), options: { only_mask: true }, webhook: null, trackId: 99n });
  expect(submitted.result).toMatchObject({ kind: 'processing', requestId: expect.any(String) });
  const requestId = (submitted.result as { requestId: string }).requestId;
  const result = await until(async () => {
    const r = await client.fetchResult(requestId);
    return r.result.kind === 'processing' ? undefined : r.result;
  }, { timeoutMs: 30_000, what: 'the result through the client' });
  expect(result).toMatchObject({ kind: 'success', outputs: [expect.stringContaining('X-Amz-Signature')] });
});
