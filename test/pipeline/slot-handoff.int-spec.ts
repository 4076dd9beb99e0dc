/**
 * The provider slot hand-off, against the real Postgres and Redis: the result that resolves a job's current
 * attempt frees the job's slot at once and announces it on the slot-freed channel, whoever records it (the
 * webhook receiver, before the worker holding the slot has even woken up); a job waiting for a slot wakes
 * on that announcement. A duplicate, a stale result (an earlier attempt's late webhook) or an unknown
 * attempt frees nothing: the slot then belongs to whoever is in flight now.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfig } from '../../libs/config/src/index.js';
import { JobRepository, PrismaService } from '../../libs/db/src/index.js';
import { ResultReconciler } from '../../libs/pipeline/src/index.js';
import { AttemptEvents, ProviderSlots, QueueService, createRedis, slotFreedChannel } from '../../libs/queue/src/index.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/test-env.js';
import { until } from '../support/until.js';

const config = loadConfig({
  DATABASE_URL: TEST_DATABASE_URL,
  REDIS_URL: TEST_REDIS_URL,
  QUEUE_PREFIX: `{mft-${randomBytes(5).toString('hex')}}`,
  NODE_ENV: 'test',
  API_KEYS: 'k',
  PROVIDER_MAX_IN_FLIGHT: '1',
});
let prisma: PrismaService;
let jobs: JobRepository;
let queues: QueueService;
let events: AttemptEvents;
let slots: ProviderSlots;
let reconciler: ResultReconciler;
const announced: string[] = [];
const created: string[] = [];
let listener: ReturnType<typeof createRedis>;

beforeAll(async () => {
  prisma = new PrismaService(config);
  jobs = new JobRepository(prisma);
  queues = new QueueService(config);
  events = new AttemptEvents(config, queues);
  slots = new ProviderSlots(config, queues);
  reconciler = new ResultReconciler(jobs, queues, events, slots);
  listener = createRedis(TEST_REDIS_URL, 'subscriber', 'test');
  listener.on('message', (_c: string, m: string) => announced.push(m));
  await listener.subscribe(slotFreedChannel(config.redis.prefix));
});
afterAll(async () => {
  // Leave no job unfinished: another file's workers would reconcile (submit) it.
  await prisma.$executeRaw`UPDATE jobs SET state = 'canceled', completed_at = now() WHERE id = ANY(${created}::uuid[]) AND state NOT IN ('succeeded', 'failed', 'canceled')`;
  await listener.quit();
  await events.onApplicationShutdown();
  await queues.onApplicationShutdown();
  await prisma.$disconnect();
  await prisma.pool.end();
});
beforeEach(async () => {
  // An announcement of the previous test may still be on its way.
  await new Promise((r) => setTimeout(r, 150));
  announced.length = 0;
});
afterEach(async () => {
  // What a test left held goes without an announcement (the table's `since` marker stays: without
  // it the slots would be refused for a lease period, as after a Redis that lost its data).
  await queues.connection.del(`${config.redis.prefix}:provider-slots:global`, `${config.redis.prefix}:provider-slots:tenant:default`);
});

/** A job in flight at the provider: its attempt started and its slot taken. */
async function inFlight(): Promise<{ jobId: string; attemptId: bigint }> {
  const jobId = randomUUID();
  await jobs.create({ id: jobId, tenantId: 'default', trackId: jobId, options: {}, imageUrl: 'https://x.test/a.png' });
  created.push(jobId);
  const attempt = (await jobs.startAttempt(jobId, 'modelslab', randomUUID()))!;
  expect(await slots.acquire('default', jobId, `q-${jobId}`)).toBe('acquired');
  return { jobId, attemptId: attempt.id };
}

/** Pub/sub is asynchronous: wait for the announcements, then give any stray one time to arrive too. */
async function expectAnnounced(expected: string[]): Promise<void> {
  await until(() => announced.length >= expected.length, { timeoutMs: 5000, what: 'the slot-freed announcements' }).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 150));
  expect(announced).toEqual(expected);
}

const success = (n = 1) => ({ kind: 'success' as const, requestId: `r-${randomUUID()}`, outputs: [`https://x.test/out-${n}.png`] });
const events_ = async (attemptId: bigint) =>
  (await prisma.providerEvent.findMany({ where: { attemptId }, orderBy: { id: 'asc' } })).map((e) => `${e.source}:${e.outcome}`);

it('a webhook that resolves the current attempt frees the slot and announces it; a waiting job wakes and takes it', async () => {
  const { jobId, attemptId } = await inFlight();
  expect(await slots.acquire('default', 'the-next-job', 'q-next')).toBe('global_full');
  const armed = await events.armSlotWait();
  const woke = armed.wait(60_000).then(() => 'woken');

  const applied = await reconciler.apply(attemptId, success(), 'webhook', { status: 'success', track_id: attemptId.toString() });
  expect(applied).toMatchObject({ outcome: 'applied', jobId, tenantId: 'default', storeJob: { jobId, attemptId } });
  expect(await slots.inUse()).toBe(0);
  // The waiter wakes on the announcement, long before its 60 s recheck.
  expect(await Promise.race([woke, new Promise((r) => setTimeout(() => r('still waiting'), 10_000))])).toBe('woken');
  expect(await slots.acquire('default', 'the-next-job', 'q-next')).toBe('acquired');
  await expectAnnounced([jobId]);
  expect((await jobs.findById(jobId))!.state).toBe('storing');
  expect(await events_(attemptId)).toEqual(['webhook:applied']);
});

it('a duplicate result, a late result of an earlier attempt and an unknown attempt free nothing, and are recorded', async () => {
  const { jobId, attemptId: first } = await inFlight();
  await reconciler.apply(first, success(1), 'webhook', { n: 1 });
  await slots.release('default', jobId); // the worker's own release after the webhook's: no second announcement
  await expectAnnounced([jobId]);

  // The job runs again (a retry): a new attempt holds a new slot.
  await prisma.$executeRaw`UPDATE jobs SET state = 'queued' WHERE id = ${jobId}::uuid`;
  const second = (await jobs.startAttempt(jobId, 'modelslab', randomUUID()))!;
  expect(await slots.acquire('default', jobId, `q-${jobId}`)).toBe('acquired');
  announced.length = 0;

  expect(await reconciler.apply(first, success(1), 'webhook', { n: 'dup' })).toMatchObject({ outcome: 'duplicate' });
  expect(await reconciler.apply(9_999_999n, success(9), 'webhook', { n: 'unknown' })).toMatchObject({ outcome: 'unknown_attempt' });
  expect(await slots.inUse()).toBe(1);
  await expectAnnounced([]);
  expect(await events_(first)).toEqual(['webhook:applied', 'webhook:duplicate']);

  // The current attempt's result frees it; the job follows that attempt only.
  expect(await reconciler.apply(second.id, success(2), 'poll', { n: 2 })).toMatchObject({ outcome: 'applied', storeJob: { attemptId: second.id } });
  expect(await slots.inUse()).toBe(0);
  await expectAnnounced([jobId]);
});

it('a success for an attempt the job no longer follows is stale: recorded, the job unchanged, the slot kept', async () => {
  const { jobId, attemptId } = await inFlight();
  await jobs.cancel('default', jobId);
  const applied = await reconciler.apply(attemptId, success(), 'webhook', { late: true });
  expect(applied.outcome).toBe('stale');
  expect(applied.storeJob).toBeUndefined();
  expect((await jobs.findById(jobId))!.state).toBe('canceled');
  expect(await events_(attemptId)).toEqual(['webhook:stale']);
  expect(await slots.inUse()).toBe(1); // the worker holding it frees it when it sees the job canceled
  await expectAnnounced([]);
});

it('concurrent copies of one webhook: exactly one applies, one store step, one announcement', async () => {
  const { jobId, attemptId } = await inFlight();
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => reconciler.apply(attemptId, success(), 'webhook', { copy: i })));
  expect(results.filter((r) => r.outcome === 'applied')).toHaveLength(1);
  expect(results.filter((r) => r.storeJob)).toHaveLength(1);
  expect(results.filter((r) => r.outcome === 'duplicate')).toHaveLength(7);
  expect(await slots.inUse()).toBe(0);
  await expectAnnounced([jobId]);
  expect((await events_(attemptId)).sort()).toEqual([...Array(7).fill('webhook:duplicate'), 'webhook:applied'].sort());
});
