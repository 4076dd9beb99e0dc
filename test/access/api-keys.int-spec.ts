/**
 * Managed API keys end to end over real HTTP, Postgres and Redis: the admin API and the CLI create, list and
 * revoke keys (shown once, stored hashed); a revocation reaches a second api replica within the cache TTL;
 * the per-key rate limit is shared by two api replicas; tenants never see each other's jobs.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApiApp } from '../../apps/api/src/api.app.js';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { freePort, startStack, TEST_API_KEY, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';

const ADMIN = 'admin-key-0123456789abcdef';
const CACHE_TTL_MS = 1000;

let emulator: ModelslabEmulator;
let images: ImageServer;
let stack: Stack;
let second: NestExpressApplication;
let secondUrl: string;

beforeAll(async () => {
  emulator = await startModelslabEmulator({ apiKey: 'k', maxInFlight: 10, defaults: { answer: 'processing', latencyMs: 50, webhook: 'once', etaSeconds: 1 } });
  images = await startImageServer();
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', env: { ADMIN_API_KEY: ADMIN, API_KEY_CACHE_TTL_MS: String(CACHE_TTL_MS) } });
  // A second api replica on the same Postgres and Redis (same config, another port).
  second = await createApiApp(stack.config);
  const port = await freePort();
  await second.listen(port, '127.0.0.1');
  secondUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await second?.close();
  await stack?.close();
  await emulator?.close();
  await images?.close();
});

async function call(base: string, method: string, p: string, key: string | undefined, body?: unknown) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* keep text */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

const admin = (method: string, p: string, body?: unknown) => call(stack.url, method, `/v1/admin/api-keys${p}`, ADMIN, body);

async function createKey(tenant: string, name: string, extra: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const res = await admin('POST', '', { name, tenant, ...extra });
  expect(res.status).toBe(201);
  return res.body;
}

describe('admin API', () => {
  it('needs the admin key, creates a key shown once and stored as a hash, lists and revokes it', async () => {
    expect((await call(stack.url, 'GET', '/v1/admin/api-keys', undefined)).status).toBe(401);
    const wrong = await call(stack.url, 'GET', '/v1/admin/api-keys', TEST_API_KEY);
    expect([wrong.status, wrong.body.error.code]).toEqual([401, 'unauthorized']);

    const created = await admin('POST', '', { name: 'ci', tenant: 'acme', rate_limit: 100 });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect(created.body).toMatchObject({ name: 'ci', tenant: 'acme', rate_limit: 100, revoked_at: null, last_used_at: null });
    expect(created.body.key).toMatch(new RegExp(`^mf_live_${created.body.id}_[A-Za-z0-9_-]{43}$`));
    const { rows } = await stack.db.query('SELECT * FROM api_keys WHERE id = $1', [created.body.id]);
    expect(JSON.stringify(rows[0])).not.toContain(created.body.key.split('_').at(-1));
    expect(rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);

    const got = await admin('GET', `/${created.body.id}`);
    expect(got.body).not.toHaveProperty('key');
    expect(got.body.id).toBe(created.body.id);
    const listed = await admin('GET', '?tenant=acme');
    expect(listed.body.data.map((k: { id: string }) => k.id)).toContain(created.body.id);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);

    // The key works, and its use is recorded.
    expect((await call(stack.url, 'GET', '/v1/jobs', created.body.key)).status).toBe(200);
    await until(async () => (await admin('GET', `/${created.body.id}`)).body.last_used_at, { what: 'last_used_at' });

    const revoked = await admin('DELETE', `/${created.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    expect((await admin('DELETE', '/aaaaaaaaaaaa')).status).toBe(404);
  });

  it('refuses bad input with codes', async () => {
    const unknown = await admin('POST', '', { name: 'x', tenant: 'acme', scope: 'all' });
    expect([unknown.status, unknown.body.error.code]).toEqual([400, 'unknown_field']);
    const badTenant = await admin('POST', '', { name: 'x', tenant: 'Not A Tenant' });
    expect([badTenant.status, badTenant.body.error.code, badTenant.body.error.details[0].field]).toEqual([422, 'validation_failed', 'tenant']);
    const badJson = await admin('POST', '', '{"name":');
    expect([badJson.status, badJson.body.error.code]).toEqual([400, 'invalid_json']);
  });

  it('is off when ADMIN_API_KEY is not set', async () => {
    const other = await createApiApp({ ...stack.config, access: { ...stack.config.access, adminApiKey: undefined } });
    const port = await freePort();
    await other.listen(port, '127.0.0.1');
    try {
      const res = await call(`http://127.0.0.1:${port}`, 'GET', '/v1/admin/api-keys', 'anything-at-all-here');
      expect([res.status, res.body.error.code]).toEqual([403, 'forbidden']);
    } finally {
      await other.close();
    }
  });
});

describe('revocation', () => {
  it('reaches another api replica within the cache TTL', async () => {
    const { id, key } = await createKey('acme', 'to-revoke');
    // Both replicas have the key cached as valid.
    expect((await call(stack.url, 'GET', '/v1/jobs', key)).status).toBe(200);
    expect((await call(secondUrl, 'GET', '/v1/jobs', key)).status).toBe(200);
    const revokedAt = Date.now();
    expect((await admin('DELETE', `/${id}`)).status).toBe(200);
    await until(async () => (await call(secondUrl, 'GET', '/v1/jobs', key)).status === 401, { timeoutMs: 10_000, intervalMs: 20, what: 'the second replica to refuse the key' });
    const took = Date.now() - revokedAt;
    expect(took).toBeLessThan(CACHE_TTL_MS + 1000);
    const refused = await call(stack.url, 'GET', '/v1/jobs', key);
    expect(refused.body.error).toEqual({ code: 'unauthorized', message: 'the API key is not valid' });
    // A key of the right shape with a wrong secret is refused too.
    const { key: live } = await createKey('acme', 'live');
    const forged = `${live.slice(0, live.lastIndexOf('_') + 1)}${'A'.repeat(43)}`;
    expect((await call(stack.url, 'GET', '/v1/jobs', forged)).status).toBe(401);
  });
});

describe('rate limit', () => {
  it('is shared by two api replicas, with RateLimit-* headers and 429 rate_limited + Retry-After', async () => {
    const { key } = await createKey('acme', 'limited', { rate_limit: 5 });
    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call(i % 2 === 0 ? stack.url : secondUrl, 'GET', '/v1/jobs', key);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-limit')).toBe('5');
      expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
      expect(Number(res.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(60);
      remaining.push(Number(res.headers.get('ratelimit-remaining')));
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    for (const base of [stack.url, secondUrl]) {
      const res = await call(base, 'GET', '/v1/jobs', key);
      expect(res.status).toBe(429);
      expect(res.body.error.code).toBe('rate_limited');
      expect(res.body.error.details).toMatchObject({ limit: 5, window_seconds: 60 });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(res.headers.get('ratelimit-remaining')).toBe('0');
    }
    // Other keys have their own budget; error answers (404) carry the headers too.
    const { key: other } = await createKey('acme', 'other', { rate_limit: 5 });
    const res = await call(secondUrl, 'GET', '/v1/jobs/00000000-0000-4000-8000-000000000000', other);
    expect(res.status).toBe(404);
    expect(res.headers.get('ratelimit-remaining')).toBe('4');
    // The env keys get the default limit.
    expect((await call(stack.url, 'GET', '/v1/jobs', TEST_API_KEY)).headers.get('ratelimit-limit')).toBe(String(stack.config.access.rateLimit.requests));
  });
});

describe('tenant isolation', () => {
  it("answers another tenant's job ids with the normal 404 and never lists them", async () => {
    const { key: a } = await createKey('tenant-a', 'a');
    const { key: b } = await createKey('tenant-b', 'b');
    const created = await call(stack.url, 'POST', '/v1/jobs', a, { image_url: images.imageUrl('img-1.png'), track_id: 'iso-1', metadata: { secret: 'only-a' } });
    expect(created.status).toBe(202);
    const id = created.body.id;
    expect((await call(stack.url, 'GET', `/v1/jobs/${id}`, a)).status).toBe(200);
    const unknownId = '00000000-0000-4000-8000-000000000000';
    const unknown = await call(stack.url, 'GET', `/v1/jobs/${unknownId}`, b);
    for (const key of [b, TEST_API_KEY]) {
      for (const [method, p] of [['GET', `/v1/jobs/${id}`], ['POST', `/v1/jobs/${id}/cancel`], ['POST', `/v1/jobs/${id}/retry`]] as const) {
        const res = await call(secondUrl, method, p, key);
        expect(res.status).toBe(404);
        expect(JSON.stringify(res.body)).not.toContain('only-a');
        expect(res.body).toEqual(JSON.parse(JSON.stringify(unknown.body).replace(unknownId, id)));
      }
      const list = await call(stack.url, 'GET', '/v1/jobs?track_id=iso-1', key);
      expect(list.body.data).toEqual([]);
    }
    // The owner still sees it, and B's cancel did not touch it.
    const own = await call(stack.url, 'GET', '/v1/jobs?track_id=iso-1', a);
    expect(own.body.data.map((j: { id: string }) => j.id)).toEqual([id]);
    const done = await until(async () => {
      const j = (await call(stack.url, 'GET', `/v1/jobs/${id}`, a)).body;
      return ['succeeded', 'failed', 'canceled'].includes(j.state) ? j : undefined;
    });
    expect(done.state).toBe('succeeded');
    // An idempotency key is per tenant: B reusing A's key makes B's own job.
    const k = { 'Idempotency-Key': 'shared-key' };
    const first = await fetch(`${stack.url}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${a}`, 'content-type': 'application/json', ...k }, body: JSON.stringify({ image_url: images.imageUrl('img-2.png') }) });
    const again = await fetch(`${stack.url}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${b}`, 'content-type': 'application/json', ...k }, body: JSON.stringify({ image_url: images.imageUrl('img-2.png') }) });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect((await again.json()).id).not.toBe((await first.json()).id);
  });
});

describe('the maskflow CLI', () => {
  const cli = path.resolve('dist/apps/cli/src/main.js');
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [cli, ...args], { env: { ...process.env, ...stack.env, LOG_LEVEL: 'silent' } }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('creates, lists and revokes keys that the api accepts and then refuses', async () => {
    const created = await run(['keys', 'create', '--name', 'from-cli', '--tenant', 'cli-tenant', '--rate-limit', '50', '--json']);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout);
    expect(key).toMatchObject({ name: 'from-cli', tenant: 'cli-tenant', rate_limit: 50 });
    expect((await call(stack.url, 'GET', '/v1/jobs', key.key)).headers.get('ratelimit-limit')).toBe('50');
    const listed = await run(['keys', 'list', '--tenant', 'cli-tenant']);
    expect(listed.stdout).toContain(key.id);
    expect(listed.stdout).not.toContain(key.key);
    const revoked = await run(['keys', 'revoke', key.id]);
    expect([revoked.code, revoked.stdout]).toEqual([0, expect.stringContaining(`revoked key ${key.id}`)]);
    await until(async () => (await call(stack.url, 'GET', '/v1/jobs', key.key)).status === 401, { timeoutMs: 5000, what: 'the revoked key to be refused' });
    const usage = await run(['keys', 'create', '--name', 'x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: maskflow keys create');
    expect((await run(['nope'])).code).toBe(2);
  });
});

describe('one error shape', () => {
  it('answers unknown routes 404 and known routes with the wrong method 405 with Allow', async () => {
    const none = await call(stack.url, 'GET', '/nowhere', undefined);
    expect([none.status, none.body.error.code]).toEqual([404, 'not_found']);
    const wrong = await call(stack.url, 'PUT', '/v1/jobs', TEST_API_KEY, {});
    expect([wrong.status, wrong.body.error.code]).toEqual([405, 'method_not_allowed']);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD, POST');
    const del = await call(stack.url, 'DELETE', '/v1/jobs/00000000-0000-4000-8000-000000000000', TEST_API_KEY);
    expect([del.status, del.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect(del.body.error.details.allow).toEqual(['GET', 'HEAD']);
  });
});
