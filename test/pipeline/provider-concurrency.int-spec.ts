/**
 * Provider slots are global: two worker *processes* share PROVIDER_MAX_IN_FLIGHT, counted from submit until
 * the result arrives, and the emulator's own in-flight maximum proves the limit was never exceeded.
 */
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { startStack, truncateAll, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';

let emulator: ModelslabEmulator | undefined;
let images: ImageServer;
let stack: Stack | undefined;

beforeAll(async () => {
  // The workers reconcile the whole database: start from empty tables, so no job another file left
  // unfinished is submitted to this file's emulator (its counts are exact).
  await truncateAll();
  images = await startImageServer();
});
afterEach(async () => {
  await stack?.close();
  await emulator?.close();
  stack = undefined;
  emulator = undefined;
});
afterAll(async () => {
  await images.close();
});

async function submitMany(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await stack!.request('POST', '/v1/jobs', { image_url: images.imageUrl(`img-${i % 8}.png`), track_id: `c-${i}` });
    expect(res.status).toBe(202);
    ids.push(res.body.id);
  }
  return ids;
}

async function statesOf(ids: string[]): Promise<Record<string, number>> {
  const { rows } = await stack!.db.query('SELECT state::text, count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) GROUP BY state', [ids]);
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

it('keeps the provider slots full and never above the limit, with two worker processes', async () => {
  emulator = await startModelslabEmulator({ apiKey: 'k', maxInFlight: 4, defaults: { answer: 'processing', latencyMs: 400, webhook: 'once', etaSeconds: 5 } });
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', maxInFlight: 4, workerProcesses: 2 });
  const ids = await submitMany(24);
  await until(async () => (await statesOf(ids)).succeeded === 24, { timeoutMs: 60_000, what: '24 jobs to succeed' });
  const stats = emulator.stats();
  expect(stats.rateLimited).toBe(0);
  expect(stats.maxInFlight).toBe(4); // full, and never more
  expect(stats.submissions).toBe(24);
  // Both processes took work.
  const { rows } = await stack.db.query('SELECT count(*)::int AS n FROM job_attempts WHERE job_id = ANY($1::uuid[])', [ids]);
  expect(rows[0].n).toBe(24);
});

it('rides out a 429 storm: honours retry_after without spending attempts, never above the plan', async () => {
  // The plan allows 2 but we were told 6 (say, another client shares the key): the provider answers 429.
  emulator = await startModelslabEmulator({ apiKey: 'k', maxInFlight: 2, retryAfterSeconds: 1, defaults: { answer: 'processing', latencyMs: 300, webhook: 'once', etaSeconds: 5 } });
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', maxInFlight: 6, workerProcesses: 2, env: { PROVIDER_MAX_ATTEMPTS: '2' } });
  const ids = await submitMany(12);
  await until(async () => (await statesOf(ids)).succeeded === 12, { timeoutMs: 90_000, what: '12 jobs to succeed' });
  const stats = emulator.stats();
  expect(stats.rateLimited).toBeGreaterThan(0);
  expect(stats.maxInFlight).toBeLessThanOrEqual(2);
  // Rate-limited submissions did not count against PROVIDER_MAX_ATTEMPTS=2: nothing failed.
  expect(await statesOf(ids)).toEqual({ succeeded: 12 });
  const { rows } = await stack.db.query("SELECT count(*)::int AS n FROM job_attempts WHERE job_id = ANY($1::uuid[]) AND error_code = 'provider_rate_limited'", [ids]);
  expect(rows[0].n).toBe(stats.rateLimited);
});
