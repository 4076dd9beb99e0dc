/**
 * Nothing lost: CHAOS_JOBS (default 1000) jobs through the API, worker processes, Postgres, Redis and S3 while
 * the provider misbehaves (duplicate, missing and out-of-order webhooks, 5xx, hangs, 429 bursts with
 * retry_after, slow output downloads) and the infrastructure fails under it (workers SIGKILLed mid-job and
 * restarted, Redis restarted empty, S3 down for seconds, every Postgres connection dropped). Then, from
 * Postgres, S3, the emulator's and the webhook receiver's own records: every job ended in one terminal state,
 * none was submitted more than its retry policy allows, the plan's concurrency was never exceeded, every
 * stored object has its recorded sha256, and every consumer webhook arrived (duplicates with one webhook-id).
 *
 *   npm run test:chaos            (also part of `npm test`)
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { ChildProcess } from 'node:child_process';
import { JobName } from '../../libs/contracts/src/index.js';
import { QueueService, bullJobId } from '../../libs/queue/src/index.js';
import { startModelslabEmulator, type Behaviour, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { startStack, truncateAll, type Stack } from '../support/stack.js';
import { TEST_DATABASE_URL, TEST_S3 } from '../support/test-env.js';
import { until } from '../support/until.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { dropDatabaseConnections, startChaosRedis, startChaosS3, type ChaosRedis, type ChaosS3 } from './chaos-environment.js';

const JOBS = Number(process.env.CHAOS_JOBS ?? 1000);
const WORKER_PROCESSES = 3;
const MAX_IN_FLIGHT = 16;
const MAX_ATTEMPTS = 6;
const SEED = Number(process.env.CHAOS_SEED ?? 20261202);

/** A small seeded PRNG, so a failing run can be replayed with CHAOS_SEED. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const faults = {
  duplicateWebhook: 0,
  neverWebhook: 0,
  staleWebhookAfterResult: 0,
  webhookBeforeSubmitAnswer: 0,
  provider5xx: 0,
  providerHang: 0,
  rateLimited429: 0,
  slowOutputDownload: 0,
  workerSigkill: 0,
  redisRestart: 0,
  s3Outage: 0,
  postgresConnectionsDropped: 0,
  consumerWebhook5xx: 0,
};

let emulator: ModelslabEmulator;
let images: ImageServer;
let receiver: WebhookReceiver;
let redis: ChaosRedis;
let s3: ChaosS3;
let stack: Stack;
let summary: string[] = [];
/** Until when the emulator answers every submit with 429 + retry_after (a burst). */
let burstUntil = 0;

beforeAll(async () => {
  // Workers reconcile the whole database: a job another test file left unfinished would be submitted to this
  // emulator and break the "every submit belongs to one of our attempts" check.
  await truncateAll();
  [redis, s3, images, receiver] = await Promise.all([startChaosRedis(), startChaosS3(), startImageServer(8), startWebhookReceiver()]);
  const random = mulberry32(SEED);
  // The emulator's own limit is well above ours: if maskflow ever had more in flight, its maximum shows it.
  emulator = await startModelslabEmulator({ apiKey: 'chaos-key', maxInFlight: MAX_IN_FLIGHT + 64, retryAfterSeconds: 1, defaults: { answer: 'processing', latencyMs: 60, etaSeconds: 1, webhook: 'once', webhookDelayMs: 150 } });
  emulator.setDecide((): Partial<Behaviour> => {
    if (Date.now() < burstUntil) {
      faults.rateLimited429++;
      return { rateLimitRetryAfter: 1 };
    }
    const r = random();
    const b: Partial<Behaviour> = { latencyMs: 20 + Math.floor(random() * 120) };
    if (r < 0.05) {
      faults.provider5xx++;
      return { error: { httpStatus: random() < 0.5 ? 500 : 503, message: 'emulated provider failure' } };
    }
    if (r < 0.07) {
      faults.providerHang++;
      return { hang: true };
    }
    if (r < 0.17) {
      faults.duplicateWebhook++;
      b.webhook = 'twice';
    } else if (r < 0.27) {
      faults.neverWebhook++;
      b.webhook = 'never';
    } else if (r < 0.32) {
      faults.staleWebhookAfterResult++;
      b.webhook = 'stale';
    } else if (r < 0.37) {
      faults.webhookBeforeSubmitAnswer++;
      b.latencyMs = 0;
      b.answerDelayMs = 150;
    }
    if (random() < 0.05) {
      faults.slowOutputDownload++;
      b.outputDelayMs = 1000;
    }
    return b;
  });
  stack = await startStack({
    providerUrl: emulator.url,
    providerKey: 'chaos-key',
    maxInFlight: MAX_IN_FLIGHT,
    workerProcesses: WORKER_PROCESSES,
    workerLogLevel: process.env.TEST_LOG_LEVEL ?? 'fatal',
    quietWorkerExits: true,
    env: {
      REDIS_URL: redis.url,
      S3_ENDPOINT: s3.endpoint,
      PROVIDER_TIMEOUT_MS: '4000',
      PROVIDER_RESULT_TIMEOUT_MS: '30000',
      PROVIDER_POLL_MAX_INTERVAL_MS: '1000',
      PROVIDER_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      PROVIDER_BACKOFF_MS: '100',
      OUTPUT_DOWNLOAD_TIMEOUT_MS: '15000',
      STORE_CONCURRENCY: '8',
      STORE_MAX_ATTEMPTS: '10',
      RECONCILE_INTERVAL_MS: '1000',
      RECONCILE_QUIET_MS: '3000',
      WORKER_LOCK_MS: '10000',
      SHUTDOWN_GRACE_MS: '5000',
      WEBHOOK_RETRY_SCHEDULE: '200ms,500ms,1s,2s,3s,5s,5s,5s',
      WEBHOOK_RETRY_JITTER: '0.1',
      WEBHOOK_TIMEOUT_MS: '2000',
      WEBHOOK_DISPATCH_INTERVAL_MS: '250',
      RATE_LIMIT_REQUESTS: '0',
    },
  });
}, 180_000);

afterAll(async () => {
  closing = true;
  await stack?.close();
  await emulator?.close();
  await receiver?.close();
  await images?.close();
  await redis?.stop();
  await s3?.destroy();
  // The suite's last lines: what it survived.
  if (summary.length > 0) process.stdout.write(`\n${summary.join('\n')}\n`);
}, 120_000);

interface Accepted {
  n: number;
  id: string;
}

/** POSTs every job with an Idempotency-Key, retrying what failed (a dropped connection, a 5xx) until it is accepted. */
async function submitAll(accepted: Accepted[]): Promise<void> {
  let next = 0;
  const loop = async () => {
    while (next < JOBS) {
      const n = next++;
      const body = { image_url: images.imageUrl(`img-${n % 8}.png`), callback_url: `${receiver.url}/cb/${n}`, metadata: { n } };
      const res = await until(
        async () => {
          const r = await stack.request('POST', '/v1/jobs', body, { 'idempotency-key': `chaos-${SEED}-${n}` }).catch(() => null);
          return r && (r.status === 202 || r.status === 200) ? r : null;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: `job ${n} to be accepted` },
      );
      accepted.push({ n, id: res.body.id });
    }
  };
  await Promise.all(Array.from({ length: 6 }, loop));
}

/** What the jobs that did not finish look like in Postgres and Redis (for a failure message). */
async function describeUnfinished(ids: string[]): Promise<string> {
  const { rows } = await stack.db.query(
    `SELECT j.id, j.state, j.run_no, j.attempt_count, j.updated_at, a.state AS attempt_state, a.provider_request_id
     FROM jobs j LEFT JOIN job_attempts a ON a.id = j.current_attempt_id
     WHERE j.id = ANY($1::uuid[]) AND j.state NOT IN ('succeeded', 'failed', 'canceled') ORDER BY j.updated_at LIMIT 10`,
    [ids],
  );
  const queues = new QueueService(stack.config);
  try {
    const lines = [`alive workers: ${stack.workerChildren.filter(alive).length}`];
    for (const r of rows) {
      const name = r.state === 'storing' ? JobName.StoreOutputs : JobName.SubmitToProvider;
      const bullId = name === JobName.StoreOutputs ? undefined : bullJobId(name, { jobId: r.id, trackId: r.id }, r.run_no);
      const bull = bullId ? await queues.queue(name).getJob(bullId) : undefined;
      lines.push(`${r.id} ${r.state} attempt=${r.attempt_state}/${r.provider_request_id} attempts=${r.attempt_count} updated=${r.updated_at.toISOString()} bull=${bull ? `${await bull.getState()} made=${bull.attemptsMade} ${bull.failedReason ?? ''}` : 'none'}`);
    }
    return lines.join('\n');
  } finally {
    await queues.onApplicationShutdown();
  }
}

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
/** Worker processes that exited without being killed by the suite (a crash is a finding). */
const unexpectedExits: string[] = [];
const killedBySuite = new Set<ChildProcess>();
function watchWorkers(): void {
  for (const c of stack.workerChildren) {
    if ((c as ChildProcess & { watched?: boolean }).watched) continue;
    (c as ChildProcess & { watched?: boolean }).watched = true;
    c.once('exit', (code, signal) => {
      if (!killedBySuite.has(c) && !closing) unexpectedExits.push(`worker ${c.pid} exited (code ${code}, signal ${signal})`);
    });
  }
}
let closing = false;

async function terminalCount(ids: string[]): Promise<number> {
  const { rows } = await stack.db.query(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND state IN ('succeeded', 'failed', 'canceled')`, [ids]);
  return rows[0].n;
}

it(`survives the faults with ${JOBS} jobs: nothing lost, nothing done twice`, async () => {
  // One consumer in ten answers its first webhook with a 503: the retry must carry the same webhook-id.
  const scriptRandom = mulberry32(SEED + 1);
  for (let n = 0; n < JOBS; n++) {
    if (scriptRandom() < 0.1) {
      receiver.script(`/cb/${n}`, [503]);
      faults.consumerWebhook5xx++;
    }
  }
  const started = Date.now();
  const timeline: string[] = [];
  const mark = (what: string) => timeline.push(`${((Date.now() - started) / 1000).toFixed(1)}s ${what}`);
  const accepted: Accepted[] = [];
  watchWorkers();
  const submitting = submitAll(accepted);
  const progressAtLeast = async (fraction: number) => {
    await until(async () => unexpectedExits.length === 0 && accepted.length >= Math.min(JOBS, 50) && (await terminalCount(accepted.map((a) => a.id))) >= Math.floor(JOBS * fraction), {
      timeoutMs: 180_000,
      intervalMs: 200,
      what: `${Math.round(fraction * 100)}% of the jobs to finish`,
    }).catch((err: Error) => {
      throw new Error(`${err.message}; ${unexpectedExits.join('; ') || 'no worker crashed'}`);
    });
  };
  const killWorker = async (k: number) => {
    const victims = stack.workerChildren.filter(alive);
    const victim = victims[k % victims.length]!;
    const exited = new Promise((r) => victim.once('exit', r));
    killedBySuite.add(victim);
    victim.kill('SIGKILL');
    await exited;
    faults.workerSigkill++;
    stack.spawnWorker();
    watchWorkers();
  };
  const dropPostgres = async () => {
    faults.postgresConnectionsDropped += await dropDatabaseConnections(TEST_DATABASE_URL);
  };
  const burst = (ms: number) => {
    burstUntil = Date.now() + ms;
  };

  await progressAtLeast(0.05);
  mark('5%');
  await killWorker(0);
  await dropPostgres();
  await progressAtLeast(0.15);
  mark('15%');
  burst(1500);
  await progressAtLeast(0.25);
  mark('25%');
  // S3 down for 3 seconds while outputs are being stored.
  await s3.stopGateway();
  faults.s3Outage++;
  const downAt = Date.now();
  await until(() => Date.now() - downAt >= 3000, { timeoutMs: 5000, what: 'the S3 outage to last 3 s' });
  await s3.startGateway();
  await progressAtLeast(0.35);
  mark('35%');
  await killWorker(1);
  await progressAtLeast(0.45);
  // Redis restarts empty: every queue is gone; the reconcilers rebuild them from Postgres.
  mark('45%');
  await redis.restart();
  faults.redisRestart++;
  await dropPostgres();
  await progressAtLeast(0.6);
  mark('60%');
  burst(1500);
  await killWorker(2);
  await progressAtLeast(0.75);
  mark('75%');
  await dropPostgres();
  await submitting;
  mark('all accepted');
  expect(accepted).toHaveLength(JOBS);
  const ids = accepted.map((a) => a.id);
  await until(async () => (await terminalCount(ids)) === JOBS, { timeoutMs: 300_000, intervalMs: 500, what: 'every job to reach a terminal state' }).catch(async (err: Error) => {
    throw new Error(`${err.message}\n${await describeUnfinished(ids)}`);
  });
  const elapsedS = (Date.now() - started) / 1000;
  mark('all terminal');

  expect(unexpectedExits).toEqual([]);

  // 1. Every accepted job is in exactly one terminal state: succeeded (none failed, none stuck, none lost).
  const { rows: jobs } = await stack.db.query(
    `SELECT id, state, error_code, attempt_count FROM jobs WHERE idempotency_key LIKE $1`,
    [`chaos-${SEED}-%`],
  );
  expect(jobs).toHaveLength(JOBS);
  expect(new Set(jobs.map((j: any) => j.id))).toEqual(new Set(ids));
  const notSucceeded = jobs.filter((j: any) => j.state !== 'succeeded');
  expect(notSucceeded.map((j: any) => `${j.id} ${j.state} ${j.error_code}`)).toEqual([]);

  // 2. Submissions: every submit the emulator saw belongs to an attempt we recorded, each attempt was sent
  //    at most once, and no job spent more submits than PROVIDER_MAX_ATTEMPTS (+ attempts abandoned because
  //    their worker died mid-submit, which BullMQ restarts without counting); the plan's concurrency was never
  //    exceeded by the emulator's own measurement.
  const { rows: attempts } = await stack.db.query(
    `SELECT a.id::text AS id, a.job_id, a.state, a.error_code FROM job_attempts a WHERE a.job_id = ANY($1::uuid[])`,
    [ids],
  );
  const attemptJob = new Map<string, string>(attempts.map((a: any) => [a.id, a.job_id]));
  const abandonedByJob = new Map<string, number>();
  for (const a of attempts) if (a.state === 'abandoned') abandonedByJob.set(a.job_id, (abandonedByJob.get(a.job_id) ?? 0) + 1);
  const submitsPerTrack = new Map<string, number>();
  const spentByJob = new Map<string, number>();
  for (const s of emulator.submissions) {
    const track = String(s.trackId);
    expect(attemptJob.has(track)).toBe(true);
    submitsPerTrack.set(track, (submitsPerTrack.get(track) ?? 0) + 1);
    if (s.outcome !== 'rate_limited') spentByJob.set(attemptJob.get(track)!, (spentByJob.get(attemptJob.get(track)!) ?? 0) + 1);
  }
  expect(Math.max(...submitsPerTrack.values())).toBe(1);
  const overspent = [...spentByJob].filter(([job, n]) => n > MAX_ATTEMPTS + (abandonedByJob.get(job) ?? 0));
  expect(overspent).toEqual([]);
  const stats = emulator.stats();
  expect(stats.maxInFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT);
  expect(stats.maxInFlight).toBeGreaterThan(0);

  // 3. Every stored output is in S3 with the sha256 we recorded (computed from the object itself).
  const { rows: outputs } = await stack.db.query(`SELECT job_id, s3_key, sha256, bytes FROM job_outputs WHERE job_id = ANY($1::uuid[])`, [ids]);
  expect(new Set(outputs.map((o: any) => o.job_id)).size).toBe(JOBS);
  let checked = 0;
  const queue = [...outputs];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let o = queue.pop(); o; o = queue.pop()) {
        const obj = await stack.s3.send(new GetObjectCommand({ Bucket: TEST_S3.bucket, Key: o.s3_key }));
        const bytes = Buffer.from(await obj.Body!.transformToByteArray());
        expect({ key: o.s3_key, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length }).toEqual({ key: o.s3_key, sha256: o.sha256, bytes: Number(o.bytes) });
        checked++;
      }
    }),
  );

  // 4. Every consumer webhook arrived (answered 2xx at least once), and every copy of it carried one webhook-id.
  await until(() => accepted.every((a) => receiver.on(`/cb/${a.n}`).some((r) => r.answered === 200)), { timeoutMs: 60_000, intervalMs: 250, what: 'every consumer webhook to be delivered' });
  let consumerDuplicates = 0;
  for (const a of accepted) {
    const got = receiver.on(`/cb/${a.n}`);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const delivered = got.find((r) => r.answered === 200)!;
    expect(delivered.json.type).toBe('job.succeeded');
    expect(delivered.json.data.id).toBe(a.id);
    consumerDuplicates += got.length - 1;
  }

  const { rows: absorbed } = await stack.db.query(
    `SELECT outcome, count(*)::int AS n FROM provider_events WHERE job_id = ANY($1::uuid[]) AND outcome IN ('duplicate', 'stale') GROUP BY outcome`,
    [ids],
  );
  const retries = jobs.reduce((sum: number, j: any) => sum + Math.max(0, j.attempt_count - 1), 0);
  summary = [
    `chaos: ${JOBS} jobs accepted, ${JOBS - notSucceeded.length} succeeded, ${notSucceeded.length} not, in ${elapsedS.toFixed(1)} s (seed ${SEED}, ${WORKER_PROCESSES} worker processes)`,
    `chaos: faults injected: ${Object.entries(faults).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    `chaos: provider: ${stats.submissions} submits (${stats.rateLimited} answered 429, ${stats.hung} hung, ${stats.errors} errors), ${stats.fetches} polls, max in flight ${stats.maxInFlight}/${MAX_IN_FLIGHT}`,
    `chaos: retries: ${retries} extra provider attempts, ${[...abandonedByJob.values()].reduce((a, b) => a + b, 0)} attempts abandoned (their worker was killed or lost its database connection mid-submit)`,
    `chaos: duplicates absorbed: ${absorbed.map((r: any) => `${r.n} ${r.outcome} provider results`).join(', ') || 'none'}; ${consumerDuplicates} consumer webhook re-deliveries (same webhook-id)`,
    `chaos: S3 objects verified by sha256: ${checked}`,
    `chaos: timeline: ${timeline.join(', ')}`,
  ];
}, 240_000 + JOBS * 600);
