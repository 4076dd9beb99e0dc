/**
 * Postgres is the source of truth: work lost from Redis is rebuilt by the reconciler, and a worker stopped
 * with SIGTERM hands its jobs back so another worker resumes them without submitting them twice.
 */
import { JobName } from '../../libs/contracts/src/index.js';
import { QueueService } from '../../libs/queue/src/index.js';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { startStack, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';

let emulator: ModelslabEmulator;
let images: ImageServer;
let stack: Stack | undefined;

beforeAll(async () => {
  images = await startImageServer();
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
