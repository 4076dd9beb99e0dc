/**
 * Batches at size, against real servers: a 10,000-row NDJSON batch end to end through the emulator with
 * two worker processes (two feeders), and fairness: single jobs and a second batch submitted behind a large batch start
 * within a bounded number of job starts (counted, not timed).
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { JobName } from '../../libs/contracts/src/index.js';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { TEST_API_KEY, startStack, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';

const ndjson = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('a 10,000-row NDJSON batch end to end', () => {
  let emulator: ModelslabEmulator;
  let images: ImageServer;
  let stack: Stack;

  beforeAll(async () => {
    emulator = await startModelslabEmulator({ apiKey: 'emu-key', maxInFlight: 200, defaults: { answer: 'success', latencyMs: 2 } });
    images = await startImageServer(16);
    stack = await startStack({
      providerUrl: emulator.url,
      providerKey: 'emu-key',
      maxInFlight: 48,
      // Two worker processes: two feeders racing on every batch, and the work spread over the cores.
      workerProcesses: 2,
      env: { BATCH_WINDOW: '200', BATCH_FEED_INTERVAL_MS: '100', STORE_CONCURRENCY: '24' },
    });
  });

  afterAll(async () => {
    await stack?.close();
    await emulator?.close();
    await images?.close();
  });

  it('every item succeeds, outputs are in S3, Redis holds a window at most', async () => {
    const queue = new Queue(JobName.SubmitToProvider, { connection: { host: new URL(stack.config.redis.url).hostname, port: Number(new URL(stack.config.redis.url).port || 6379) }, prefix: stack.config.redis.prefix });
    const N = 10_000;
    const rows = Array.from({ length: N }, (_, i) => ({ image_url: images.imageUrl(`img-${i % 16}.png`), external_id: `sku-${String(i).padStart(5, '0')}` }));
    const res = await stack.request('POST', '/v1/batches', ndjson(rows), { 'content-type': 'application/x-ndjson' });
    expect(res.status).toBe(202);
    expect(res.body.counts.total).toBe(N);
    const id = res.body.id as string;
    try {
      let maxQueued = 0;
      const done = await until(
        async () => {
          const b = (await stack.request('GET', `/v1/batches/${id}`)).body;
          const q = await queue.getJobCounts('wait', 'prioritized', 'active', 'delayed');
          maxQueued = Math.max(maxQueued, q.wait + q.prioritized + q.active + q.delayed);
          return b.completed_at ? b : undefined;
        },
        { timeoutMs: 15 * 60_000, intervalMs: 500, what: 'the 10,000-item batch to complete' },
      );
      expect(done.state).toBe('completed');
      expect(done.counts).toMatchObject({ total: N, succeeded: N, failed: 0, canceled: 0, queued: 0 });
      // Redis never held more than the window, give or take the submit jobs whose item already finished in
      // Postgres while BullMQ had not yet moved them to completed (at most one per provider slot, 48 here).
      // Without the window it would hold all 10,000 at once.
      expect(maxQueued).toBeLessThanOrEqual(200 + 48);
      // The results stream lists every item once, in line order, each with a presigned output.
      const r = await fetch(`${stack.url}/v1/batches/${id}/results`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
      const lines = (await r.text()).trim().split('\n').map((l) => JSON.parse(l));
      expect(lines).toHaveLength(N);
      expect(lines.every((l, i) => l.line === i + 1 && l.external_id === rows[i]!.external_id && l.state === 'succeeded' && l.outputs.length === 1)).toBe(true);
      for (const l of lines.filter((_, i) => i % 500 === 0)) {
        const head = await stack.s3.send(new HeadObjectCommand({ Bucket: stack.config.s3.bucket, Key: `outputs/${l.job_id}/0.png` }));
        expect(head.ContentLength).toBe(l.outputs[0].bytes);
        const viaUrl = await fetch(l.outputs[0].url);
        expect(viaUrl.status).toBe(200);
        await viaUrl.arrayBuffer();
      }
    } finally {
      await queue.close();
    }
  }, 20 * 60_000);
});

describe('fairness', () => {
  let emulator: ModelslabEmulator;
  let images: ImageServer;
  let stack: Stack;
  const SLOTS = 2;
  const WINDOW = 10;

  beforeAll(async () => {
    emulator = await startModelslabEmulator({ apiKey: 'emu-key', maxInFlight: 10, defaults: { answer: 'processing', latencyMs: 60, etaSeconds: 1 } });
    images = await startImageServer(4);
    stack = await startStack({ providerUrl: emulator.url, providerKey: 'emu-key', maxInFlight: SLOTS, env: { BATCH_WINDOW: String(WINDOW), BATCH_FEED_INTERVAL_MS: '50' } });
  });

  afterAll(async () => {
    await stack?.close();
    await emulator?.close();
    await images?.close();
  });

  /** How many jobs of `batchId` had their first attempt opened in (from, to]. */
  async function startsBetween(batchId: string, from: Date, to: Date): Promise<number> {
    const { rows } = await stack.db.query(
      `SELECT count(*)::int AS n FROM jobs j JOIN job_attempts a ON a.job_id = j.id AND a.attempt_no = 1
       WHERE j.batch_id = $1 AND a.created_at > $2 AND a.created_at <= $3`,
      [batchId, from, to],
    );
    return rows[0].n;
  }

  async function firstAttemptAt(jobId: string): Promise<Date> {
    return until(async () => (await stack.db.query('SELECT created_at FROM job_attempts WHERE job_id = $1 AND attempt_no = 1', [jobId])).rows[0]?.created_at as Date | undefined, {
      what: `job ${jobId} to start`,
      timeoutMs: 60_000,
    });
  }

  it('single jobs and a second batch behind a large batch start within a bounded number of job starts', async () => {
    const big = await stack.request(
      'POST',
      '/v1/batches',
      ndjson(Array.from({ length: 3000 }, (_, i) => ({ image_url: images.imageUrl(`img-${i % 4}.png`), external_id: `big-${i}` }))),
      { 'content-type': 'application/x-ndjson' },
    );
    expect(big.status).toBe(202);
    const bigId = big.body.id as string;
    await until(async () => (await stack.request('GET', `/v1/batches/${bigId}`)).body.counts.succeeded >= 10, { what: 'the big batch to be under way' });

    const redisUrl = new URL(stack.config.redis.url);
    const q = new Queue(JobName.SubmitToProvider, { connection: { host: redisUrl.hostname, port: Number(redisUrl.port || 6379) }, prefix: stack.config.redis.prefix });
    try {
        for (let round = 0; round < 3; round++) {
          const single = await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl('img-0.png'), track_id: `single-${round}` });
          expect(single.status).toBe(202);
          const created = new Date((await stack.db.query('SELECT created_at FROM jobs WHERE id = $1', [single.body.id])).rows[0].created_at);
          const started = await firstAttemptAt(single.body.id);
          const queuedAhead = (await stack.db.query("SELECT count(*)::int AS n FROM jobs WHERE batch_id = $1 AND state = 'queued'", [bigId])).rows[0].n;
          // Thousands of batch items were waiting; at most the slots that freed while the single job was being
          // enqueued went to batch items before it.
          expect(queuedAhead).toBeGreaterThan(2000);
          expect(await startsBetween(bigId, created, started)).toBeLessThanOrEqual(SLOTS);
          await stack.waitForState(single.body.id, ['succeeded']);
          // Redis holds the window, not the batch.
          const c = await q.getJobCounts('wait', 'prioritized', 'active', 'delayed');
          expect(c.wait + c.prioritized + c.active + c.delayed).toBeLessThanOrEqual(WINDOW + 1);
        }

        // A second, small batch posted behind the big one: it gets its own window at the next feed, so its
        // first item starts after at most one window of the big batch's items.
        const small = await stack.request('POST', '/v1/batches', { items: Array.from({ length: 5 }, (_, i) => ({ image_url: images.imageUrl(`img-${i % 4}.png`) })) });
        const smallCreated = new Date(small.body.created_at);
        const { rows } = await stack.db.query('SELECT id FROM jobs WHERE batch_id = $1 ORDER BY batch_seq LIMIT 1', [small.body.id]);
        const smallStarted = await firstAttemptAt(rows[0].id);
        expect(await startsBetween(bigId, smallCreated, smallStarted)).toBeLessThanOrEqual(WINDOW + SLOTS);
        await until(async () => (await stack.request('GET', `/v1/batches/${small.body.id}`)).body.completed_at, { what: 'the small batch to complete', timeoutMs: 60_000 });
        const bigNow = (await stack.request('GET', `/v1/batches/${bigId}`)).body;
        expect(bigNow.completed_at).toBeNull();
        expect(bigNow.counts.queued).toBeGreaterThan(2000);
    } finally {
      await q.close();
      await stack.request('POST', `/v1/batches/${bigId}/cancel`);
    }
  }, 5 * 60_000);
});
