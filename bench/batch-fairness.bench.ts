/**
 * The wait of a single job behind a large batch. The ModelsLab emulator answers after --latency-ms with
 * --slots plan concurrency. Phase 1: --probe single jobs one at a time on an idle system. Phase 2: the same
 * while a --rows batch runs. For each single job: the wait from accepted to its first provider attempt, and
 * how many batch items started in that time; against the batch items queued ahead of it (what a FIFO
 * queue would make it wait for).
 *
 *   npm run bench:batch-fairness -- [--rows 100000] [--slots 5] [--latency-ms 200] [--probe 15]
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const ROWS = arg('rows', 100_000);
const SLOTS = arg('slots', 5);
const LATENCY_MS = arg('latency-ms', 200);
const PROBE = arg('probe', 15);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function main(): Promise<void> {
  const dbName = `maskflow_bench_fair_${process.pid}`;
  process.env.TEST_DATABASE_URL = `postgresql://postgres@127.0.0.1:5432/${dbName}`;
  process.env.LOG_LEVEL ??= 'error';
  execFileSync('bash', [path.join(root, 'scripts/s3/radosgw.sh'), 'start'], { stdio: 'ignore' });
  execFileSync(process.execPath, [path.join(root, 'dist/scripts/migrate.js'), 'deploy', process.env.TEST_DATABASE_URL], { stdio: 'ignore' });
  const { startModelslabEmulator } = await import('../test/emulator/modelslab-emulator.js');
  const { startStack } = await import('../test/support/stack.js');
  const { startImageServer } = await import('../test/support/image-server.js');
  const { until } = await import('../test/support/until.js');
  const emulator = await startModelslabEmulator({ apiKey: 'bench', maxInFlight: SLOTS * 2, defaults: { answer: 'processing', latencyMs: LATENCY_MS, webhook: 'once', etaSeconds: 1 } });
  const images = await startImageServer(8);
  const stack = await startStack({ providerUrl: emulator.url, providerKey: 'bench', maxInFlight: SLOTS, env: { LOG_LEVEL: 'error', STORE_CONCURRENCY: '8' } });
  const window = stack.config.batches.window;
  try {
    const probe = async (batchId?: string) => {
      const single = await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl('img-0.png') });
      const id = single.body.id as string;
      const ahead = batchId ? (await stack.db.query("SELECT count(*)::int AS n FROM jobs WHERE batch_id = $1 AND state = 'queued'", [batchId])).rows[0].n : 0;
      const started = await until(async () => (await stack.db.query('SELECT a.created_at AS s, j.created_at AS c FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE a.job_id = $1 AND a.attempt_no = 1', [id])).rows[0], { timeoutMs: 120_000 });
      const between = batchId
        ? (await stack.db.query('SELECT count(*)::int AS n FROM jobs j JOIN job_attempts a ON a.job_id = j.id AND a.attempt_no = 1 WHERE j.batch_id = $1 AND a.created_at > $2 AND a.created_at <= $3', [batchId, started.c, started.s])).rows[0].n
        : 0;
      await stack.waitForState(id, ['succeeded'], 120_000);
      return { waitMs: started.s.getTime() - started.c.getTime(), between, ahead };
    };
    const idle = [];
    for (let i = 0; i < PROBE; i++) idle.push(await probe());

    const body = Array.from({ length: ROWS }, (_, i) => JSON.stringify({ image_url: images.imageUrl(`img-${i % 8}.png`), external_id: `b-${i}` })).join('\n');
    const created = await stack.request('POST', '/v1/batches', body, { 'content-type': 'application/x-ndjson' });
    if (created.status !== 202) throw new Error(`batch answered ${created.status}`);
    const batchId = created.body.id as string;
    await until(async () => (await stack.request('GET', `/v1/batches/${batchId}`)).body.counts.succeeded >= SLOTS * 2, { timeoutMs: 120_000 });
    const busy = [];
    for (let i = 0; i < PROBE; i++) busy.push(await probe(batchId));
    const status = (await stack.request('GET', `/v1/batches/${batchId}`)).body;
    await stack.request('POST', `/v1/batches/${batchId}/cancel`);

    const w = (xs: { waitMs: number }[]) => xs.map((x) => x.waitMs);
    console.log(`single job behind a batch: ${ROWS}-row batch, ${SLOTS} provider slots, provider latency ${LATENCY_MS} ms, BATCH_WINDOW ${window}, ${PROBE} probes each`);
    console.log(`  idle system:        wait to first provider attempt p50 ${pct(w(idle), 50)} ms, max ${Math.max(...w(idle))} ms`);
    console.log(`  batch running:      wait p50 ${pct(w(busy), 50)} ms, max ${Math.max(...w(busy))} ms (one slot frees every ~${(LATENCY_MS / SLOTS).toFixed(0)} ms on average)`);
    console.log(`  batch items started ahead of the single job: max ${Math.max(...busy.map((b) => b.between))} (bound: ${SLOTS} slots); batch items queued ahead in Postgres: min ${Math.min(...busy.map((b) => b.ahead))} (a FIFO queue would start all of them first)`);
    console.log(`  batch meanwhile: ${status.counts.succeeded} succeeded, ${status.throughput_per_minute}/min, ETA ${status.eta_seconds} s`);
  } finally {
    await stack.close();
    await emulator.close();
    await images.close();
    const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
