/** The provider slot script against the real Redis: global limit, tenant share, renewal, leases, parking. */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../libs/config/src/index.js';
import { ProviderSlots, QueueService } from '../../libs/queue/src/index.js';
import { TEST_REDIS_URL } from '../support/test-env.js';
import { until } from '../support/until.js';

const config = loadConfig({ REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: `{mft-${randomBytes(5).toString('hex')}}`, PROVIDER_MAX_IN_FLIGHT: '3', TENANT_MAX_IN_FLIGHT: '2' });
let queues: QueueService;
let slots: ProviderSlots;

beforeAll(() => {
  queues = new QueueService(config);
  slots = new ProviderSlots(config, queues);
});
afterAll(async () => {
  await queues.onApplicationShutdown();
});

it('takes a slot only within the global limit and the tenant share, atomically under concurrency', async () => {
  // 10 jobs of tenant a and 10 of b race for 3 slots, at most 2 per tenant.
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => slots.acquire(i % 2 ? 'b' : 'a', `job-${i}`, `q-${i}`)));
  expect(answers.filter((a) => a === 'acquired')).toHaveLength(3);
  expect(await slots.inUse()).toBe(3);
  expect((await slots.inUse('a')) + (await slots.inUse('b'))).toBe(3);
  expect(Math.max(await slots.inUse('a'), await slots.inUse('b'))).toBe(2);
  const holders = answers.map((a, i) => (a === 'acquired' ? `job-${i}` : null)).filter(Boolean) as string[];
  // Holding again (a resumed wait) renews instead of counting twice.
  const first = holders[0]!;
  const tenant = Number(first.split('-')[1]) % 2 ? 'b' : 'a';
  expect(await slots.acquire(tenant, first, 'q')).toBe('acquired');
  expect(await slots.inUse()).toBe(3);
  expect(await slots.renew(tenant, first)).toBe(true);
  for (const h of holders) await slots.release(Number(h.split('-')[1]) % 2 ? 'b' : 'a', h);
  expect(await slots.inUse()).toBe(0);
  expect(await slots.renew(tenant, first)).toBe(false);
});

it("says which limit is full, and hands the tenant's longest-parked job out on release", async () => {
  expect(await slots.acquire('a', 'a1', 'qa1')).toBe('acquired');
  expect(await slots.acquire('a', 'a2', 'qa2')).toBe('acquired');
  expect(await slots.acquire('a', 'a3', 'qa3')).toBe('tenant_full');
  await slots.park('a', 'qa3');
  await slots.park('a', 'qa4');
  expect(await slots.acquire('b', 'b1', 'qb1')).toBe('acquired');
  expect(await slots.acquire('b', 'b2', 'qb2')).toBe('global_full');
  expect(await slots.release('a', 'a1')).toBe('qa3');
  expect(await slots.release('b', 'b1')).toBeNull();
  // A parked job that gets its slot leaves the waiting set.
  expect(await slots.acquire('a', 'a4', 'qa4')).toBe('acquired');
  expect(await slots.release('a', 'a2')).toBeNull();
  await slots.release('a', 'a4');
});

it('gives back the slots of a worker that stopped renewing once their lease lapses', async () => {
  slots.leaseMs = 300;
  try {
    expect(await slots.acquire('c', 'dead-1', 'q')).toBe('acquired');
    expect(await slots.acquire('c', 'dead-2', 'q')).toBe('acquired');
    expect(await slots.acquire('c', 'live', 'q')).toBe('tenant_full');
    await until(async () => (await slots.acquire('c', 'live', 'q')) === 'acquired', { timeoutMs: 5000, what: 'the lapsed leases to free' });
    expect(await slots.inUse('c')).toBe(1);
  } finally {
    slots.leaseMs = 30_000;
  }
});
