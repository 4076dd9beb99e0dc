/**
 * A tenant's share of the provider's concurrency: tenant A floods 50 jobs, tenant B then submits 3. With
 * PROVIDER_MAX_IN_FLIGHT=4 and TENANT_MAX_SHARE=0.75 (3 slots), B's jobs start and finish while A's
 * backlog is still queued, A never holds more than 3 slots, and the provider never sees more than 4.
 */
import { Redis } from 'ioredis';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { startStack, truncateAll, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';

const ADMIN = 'admin-key-0123456789abcdef';
let emulator: ModelslabEmulator;
let images: ImageServer;
let stack: Stack;

beforeAll(async () => {
  // The workers reconcile the whole database: start from empty tables, so no job another file left
  // unfinished is submitted to this file's emulator (its counts are exact).
  await truncateAll();
  images = await startImageServer();
  emulator = await startModelslabEmulator({ apiKey: 'k', maxInFlight: 4, defaults: { answer: 'processing', latencyMs: 250, webhook: 'once', etaSeconds: 5 } });
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', maxInFlight: 4, workers: 2, env: { ADMIN_API_KEY: ADMIN, TENANT_MAX_SHARE: '0.75' } });
});

afterAll(async () => {
  await stack?.close();
  await emulator?.close();
  await images?.close();
});

async function keyFor(tenant: string): Promise<string> {
  const res = await stack.request('POST', '/v1/admin/api-keys', { name: tenant, tenant }, { authorization: `Bearer ${ADMIN}` });
  expect(res.status).toBe(201);
  return res.body.key;
}

async function submit(key: string, n: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, (_, j) =>
        stack.request('POST', '/v1/jobs', { image_url: images.imageUrl(`img-${(i + j) % 8}.png`), track_id: `${tag}-${i + j}` }, { authorization: `Bearer ${key}` }),
      ),
    );
    for (const res of batch) {
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
  }
  return ids;
}

/** The most attempts of `ids` at the provider at once, from the attempts' [created, resolved] intervals. */
async function maxOverlap(ids: string[]): Promise<number> {
  const { rows } = await stack.db.query('SELECT created_at, resolved_at FROM job_attempts WHERE job_id = ANY($1::uuid[])', [ids]);
  const edges = rows.flatMap((r) => [[r.created_at.getTime(), 1], [r.resolved_at.getTime(), -1]] as [number, number][]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (now += d));
  return max;
}

it("lets tenant B's jobs through while tenant A's flood waits for its share", async () => {
  expect(stack.config.access.tenantMaxInFlight).toBe(3);
  const [a, b] = [await keyFor('tenant-a'), await keyFor('tenant-b')];
  const aIds = await submit(a, 50, 'a');
  const bIds = await submit(b, 3, 'b');
  const succeeded = async (ids: string[]) =>
    (await stack.db.query("SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND state = 'succeeded'", [ids])).rows[0].n as number;

  await until(async () => (await succeeded(bIds)) === 3, { timeoutMs: 60_000, what: "B's 3 jobs to succeed" });
  // A's backlog had not drained: many of A's jobs had not even been sent to the provider yet.
  const { rows: notStarted } = await stack.db.query('SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND attempt_count = 0', [aIds]);
  expect(notStarted[0].n).toBeGreaterThanOrEqual(20);

  await until(async () => (await succeeded(aIds)) === 50, { timeoutMs: 120_000, what: "A's 50 jobs to succeed" });
  const stats = emulator.stats();
  expect(stats.maxInFlight).toBeLessThanOrEqual(4);
  expect(stats.rateLimited).toBe(0);
  expect(stats.submissions).toBe(53);
  // A used its share fully and never more; B's jobs started before A's last ones.
  expect(await maxOverlap(aIds)).toBe(3);
  const { rows } = await stack.db.query(
    `SELECT (SELECT max(a.created_at) FROM job_attempts a WHERE a.job_id = ANY($2::uuid[])) AS b_last_start,
            (SELECT max(a.created_at) FROM job_attempts a WHERE a.job_id = ANY($1::uuid[])) AS a_last_start`,
    [aIds, bIds],
  );
  expect(rows[0].b_last_start.getTime()).toBeLessThan(rows[0].a_last_start.getTime());
  // Every slot was given back.
  const redis = new Redis(stack.config.redis.url);
  try {
    const prefix = `${stack.config.redis.prefix}:provider-slots`;
    expect(await redis.zcard(`${prefix}:global`)).toBe(0);
    expect(await redis.zcard(`${prefix}:tenant:tenant-a`)).toBe(0);
  } finally {
    redis.disconnect();
  }
});
