/**
 * The plan limit across a Redis restart: when Redis comes back empty while jobs are in flight, their holders
 * put their slots back, and no new slot is given out until they had the time to, so the provider never sees
 * more than PROVIDER_MAX_IN_FLIGHT requests. Against the real Redis (only this test's keys are removed).
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../libs/config/src/index.js';
import { ProviderSlots, QueueService } from '../../libs/queue/src/index.js';
import { TEST_REDIS_URL } from '../support/test-env.js';
import { until } from '../support/until.js';

const prefix = `{mft-${randomBytes(5).toString('hex')}}`;
// WORKER_LOCK_MS 3000: leases of 3 s, renewed every second; after a loss, 2 s without new slots.
const config = loadConfig({ REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, PROVIDER_MAX_IN_FLIGHT: '3', WORKER_LOCK_MS: '3000' });
let queues: QueueService;
let slots: ProviderSlots;

beforeAll(() => {
  queues = new QueueService(config);
  slots = new ProviderSlots(config, queues);
});
afterAll(async () => {
  await queues.onApplicationShutdown();
});

async function loseEverything(): Promise<void> {
  const keys: string[] = [];
  for await (const batch of queues.connection.scanStream({ match: `${prefix}*`, count: 1000 })) keys.push(...(batch as string[]));
  if (keys.length > 0) await queues.connection.del(...keys);
}

it('after Redis lost the slot table, holders reclaim their slots before any new job gets one', async () => {
  // A fresh table gives slots at once.
  expect(await slots.acquire('t', 'held-1', 'q1')).toBe('acquired');
  expect(await slots.acquire('t', 'held-2', 'q2')).toBe('acquired');
  await loseEverything();
  expect(await slots.inUse()).toBe(0);
  // A new job asks first: refused, although the (empty) table has room...
  const lostAt = Date.now();
  expect(await slots.acquire('t', 'new-1', 'q3')).toBe('global_full');
  // ...while the holders put their slots back (a renewal that finds its lease gone reclaims it)...
  expect(await slots.renew('t', 'held-1')).toBe(false);
  await slots.reclaim('t', 'held-1');
  await slots.reclaim('t', 'held-2');
  expect(await slots.inUse()).toBe(2);
  // ...and a resumed wait of a held job (re-enqueued by the reconciler) finds its slot.
  expect(await slots.acquire('t', 'held-1', 'q1')).toBe('acquired');
  expect(await slots.acquire('t', 'new-1', 'q3')).toBe('global_full');
  // Once the grace is over new jobs get slots again, within the limit that counts the reclaimed ones.
  await until(async () => (await slots.acquire('t', 'new-1', 'q3')) === 'acquired', { timeoutMs: 10_000, what: 'the grace period to end' });
  expect(Date.now() - lostAt).toBeGreaterThanOrEqual(1500);
  expect(await slots.acquire('t', 'new-2', 'q4')).toBe('global_full');
  expect(await slots.inUse()).toBe(3);
});

it('a fresh table (first start) does not wait', async () => {
  const fresh = new ProviderSlots(loadConfig({ REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: `{mft-${randomBytes(5).toString('hex')}}`, PROVIDER_MAX_IN_FLIGHT: '3' }), queues);
  expect(await fresh.acquire('t', 'first', 'q')).toBe('acquired');
});
