/**
 * Postgres is the source of truth: work lost from Redis is rebuilt by the reconciler, and a worker stopped
 * with SIGTERM hands its jobs back so another worker resumes them without submitting them twice.
 */
import { JobName } from '../../libs/contracts/src/index.js';
import { QueueService } from '../../libs/queue/src/index.js';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { startStack, truncateAll, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';

let emulator: ModelslabEmulator;
let images: ImageServer;
let stack: Stack | undefined;

beforeAll(async () => {
  images = await startImageServer();
});
// Workers reconcile the whole database: start each test from empty tables, so a job another test file left
// unfinished is not picked up (and submitted to this test's emulator) here.
beforeEach(async () => {
  await truncateAll();
});
afterEach(async () => {
  await stack?.close();
  await emulator?.close();
  stack = undefined;
});
afterAll(async () => {
  await images.close();
});

it('re-enqueues jobs that Postgres holds but Redis lost', async () => {
  emulator = await startModelslabEmulator({ apiKey: 'k', defaults: { answer: 'processing', latencyMs: 50, webhook: 'once', etaSeconds: 1 } });
  // No worker yet: the jobs wait in the queue...
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', workers: 0, env: { RECONCILE_QUIET_MS: '300', RECONCILE_INTERVAL_MS: '500' } });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl(`img-${i}.png`) })).body.id);
  // ...and then Redis loses them (flushed, failed over without persistence).
  const queues = new QueueService(stack.config);
  expect(await queues.queue(JobName.SubmitToProvider).count()).toBe(3);
  await queues.queue(JobName.SubmitToProvider).obliterate({ force: true });
  expect(await queues.queue(JobName.SubmitToProvider).count()).toBe(0);
  await queues.onApplicationShutdown();

  await stack.startWorker();
  for (const id of ids) expect((await stack.waitForState(id, ['succeeded', 'failed'], 30_000)).state).toBe('succeeded');
  // Each was submitted exactly once.
  const tracks = [...emulator.stats().submissionsByTrackId.values()];
  expect(tracks).toEqual([1, 1, 1]);
});

it('a worker stopped with SIGTERM hands its waiting job back; another resumes it without resubmitting', async () => {
  // A long provider job and no webhook: the worker is waiting (holding the slot) when it is told to stop.
  emulator = await startModelslabEmulator({ apiKey: 'k', defaults: { answer: 'processing', latencyMs: 4000, webhook: 'never', etaSeconds: 3 } });
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', workerProcesses: 1, env: { SHUTDOWN_GRACE_MS: '10000' } });
  const id = (await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl('img-0.png') })).body.id;
  await stack.waitForState(id, ['processing'], 30_000);
  const first = stack.workerChildren[0]!;
  const stoppedAt = Date.now();
  first.kill('SIGTERM');
  await new Promise((r) => first.once('exit', r));
  expect(Date.now() - stoppedAt).toBeLessThan(8000); // handed back, did not sit out the 4 s job or the grace period
  expect((await stack.job(id)).state).toBe('processing');
  // Handed back (delayed/waiting), not left active for the stalled-job check to find 30 s later.
  const queues = new QueueService(stack.config);
  const bullJob = (await queues.queue(JobName.SubmitToProvider).getJobs(['delayed', 'waiting', 'active']))[0]!;
  expect(['delayed', 'waiting']).toContain(await bullJob.getState());
  expect(bullJob.attemptsMade).toBe(0);
  await queues.onApplicationShutdown();

  stack.spawnWorker();
  const job = await stack.waitForState(id, ['succeeded', 'failed'], 30_000);
  expect(job.state).toBe('succeeded');
  expect(emulator.stats().submissions).toBe(1);
  expect(emulator.stats().fetches).toBeGreaterThanOrEqual(1);
  const { rows } = await stack.db.query('SELECT count(*)::int AS n FROM job_attempts WHERE job_id = $1', [id]);
  expect(rows[0].n).toBe(1);
});

it('SIGTERM under load: one of two workers stops taking work, hands back what waits at the provider and exits 0 in time; every job succeeds, none is resubmitted', async () => {
  // 100 jobs through a provider that takes 4 s each; SIGTERM once at least 30 wait at the provider.
  emulator = await startModelslabEmulator({ apiKey: 'k', maxInFlight: 200, defaults: { answer: 'processing', latencyMs: 4000, webhook: 'once', etaSeconds: 3 } });
  const graceMs = 8000;
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', maxInFlight: 100, workerProcesses: 2, env: { SHUTDOWN_GRACE_MS: String(graceMs), STORE_CONCURRENCY: '8', PROVIDER_TIMEOUT_MS: '20000' }, quietWorkerExits: true });
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const res = await stack!.request('POST', '/v1/jobs', { image_url: images.imageUrl(`img-${i % 8}.png`) });
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }),
  );
  await until(async () => (await stack!.db.query(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND state = 'processing'`, [ids])).rows[0].n >= 30, {
    timeoutMs: 60_000,
    what: 'at least 30 jobs waiting at the provider',
  });
  const victim = stack.workerChildren[0]!;
  const stoppedAt = Date.now();
  const exit = new Promise<{ code: number | null; signal: string | null }>((r) => victim.once('exit', (code, signal) => r({ code, signal })));
  victim.kill('SIGTERM');
  const { code, signal } = await exit;
  const tookMs = Date.now() - stoppedAt;
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  expect(tookMs).toBeLessThan(graceMs);
  for (const id of ids) expect((await stack.waitForState(id, ['succeeded', 'failed', 'canceled'], 60_000)).state).toBe('succeeded');
  // Nothing was submitted twice: one attempt per job, one submit per attempt.
  const { rows: attempts } = await stack.db.query(
    `SELECT state, coalesce(error_code, '-') AS code, count(*)::int AS n FROM job_attempts WHERE job_id = ANY($1::uuid[]) GROUP BY 1, 2`,
    [ids],
  );
  expect({ submissions: emulator.stats().submissions, attempts }).toEqual({ submissions: 100, attempts: [{ state: 'succeeded', code: '-', n: 100 }] });
});

it('the reconciler rebuilds lost queued, waiting-at-the-provider and storing work from Postgres, safely from two workers at once', async () => {
  // Results come only by polling (no webhook): jobs sit in `processing` until someone polls for them.
  emulator = await startModelslabEmulator({ apiKey: 'k', maxInFlight: 50, defaults: { answer: 'processing', latencyMs: 100, webhook: 'never', etaSeconds: 1 } });
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', maxInFlight: 50, workers: 1, env: { RECONCILE_QUIET_MS: '500', RECONCILE_INTERVAL_MS: '300', OUTPUT_DOWNLOAD_TIMEOUT_MS: '10000' } });
  // Slow output downloads keep some jobs in `storing` when Redis loses everything.
  emulator.setDecide((s) => (s.id % 3 === 0 ? { outputDelayMs: 1500 } : undefined));
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push((await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl(`img-${i % 8}.png`) })).body.id);
  const states = async () => {
    const { rows } = await stack!.db.query('SELECT state, count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) GROUP BY state', [ids]);
    return Object.fromEntries(rows.map((r: any) => [r.state, r.n])) as Record<string, number>;
  };
  await until(async () => {
    const s = await states();
    return (s.processing ?? 0) > 0 && (s.storing ?? 0) > 0;
  }, { timeoutMs: 30_000, what: 'jobs both at the provider and storing' });
  // Redis loses every queue while jobs are queued, at the provider and storing...
  // (only this test's keys: the machine's Redis is shared)
  const queues = new QueueService(stack.config);
  const keys: string[] = [];
  for await (const batch of queues.connection.scanStream({ match: `${stack.config.redis.prefix}*`, count: 1000 })) keys.push(...(batch as string[]));
  expect(keys.length).toBeGreaterThan(0);
  await queues.connection.del(...keys);
  await queues.onApplicationShutdown();
  // ...and two more workers (separate processes) join: three reconcilers race to rebuild the same work.
  stack.spawnWorker();
  stack.spawnWorker();
  for (const id of ids) expect((await stack.waitForState(id, ['succeeded', 'failed', 'canceled'], 60_000)).state).toBe('succeeded');
  // Every job was submitted exactly once (the waiting ones were polled, not resubmitted) and has its output.
  expect([...emulator.stats().submissionsByTrackId.values()].every((n) => n === 1)).toBe(true);
  const { rows: attempts } = await stack.db.query(
    `SELECT state, coalesce(error_code, '-') AS code, count(*)::int AS n FROM job_attempts WHERE job_id = ANY($1::uuid[]) GROUP BY 1, 2`,
    [ids],
  );
  expect({ submissions: emulator.stats().submissions, attempts }).toEqual({ submissions: 30, attempts: [{ state: 'succeeded', code: '-', n: 30 }] });
  const { rows } = await stack.db.query('SELECT count(*)::int AS n FROM job_outputs WHERE job_id = ANY($1::uuid[])', [ids]);
  expect(rows[0].n).toBe(30);
});

it('a job waiting at the provider past its deadline is polled once more before it is given up (and not resubmitted when its result is there)', async () => {
  // No webhook, and an eta far beyond the result deadline: the worker's next poll would come after the deadline.
  emulator = await startModelslabEmulator({ apiKey: 'k', defaults: { answer: 'processing', latencyMs: 100, webhook: 'never', etaSeconds: 30 } });
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', env: { PROVIDER_RESULT_TIMEOUT_MS: '2000' } });
  const id = (await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl('img-1.png') })).body.id;
  expect((await stack.waitForState(id, ['succeeded', 'failed'], 30_000)).state).toBe('succeeded');
  expect(emulator.stats().submissions).toBe(1);
  expect(emulator.stats().fetches).toBe(1);
});
