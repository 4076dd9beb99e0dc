/**
 * Pipeline throughput and added latency against the ModelsLab emulator answering after a fixed latency L
 * with plan concurrency N. The ceiling is N/L jobs/s; the target is >= 95% of it with zero 429s.
 *
 *   npm run bench:pipeline -- [--jobs 300] [--latency-ms 500] [--slots 5] [--workers 2] [--probe 40] [--submit-concurrency 32]
 *
 * The api, the --workers worker processes and the emulator each run in their own OS process, as deployed (the
 * image server and the clients live in this one). Phase 0 (baseline): the best a bare client can do against the same emulator in
 * the same run - N loops, each submitting with a webhook to a local receiver, waiting for it and downloading
 * the output; no queue, no database, no S3. Warm-up: 2N jobs through the pipeline, not measured. Phase 1
 * (throughput): submit --jobs through the API, --submit-concurrency requests at a time; jobs/s from the first submit to the last success, as
 * a ratio of the bare client's jobs/s and of the theoretical N/L (target >= 0.95). Phase 2 (added latency):
 * --probe jobs one at a time on an idle system; added latency = (succeeded - created) - L, p50/p99.
 * BENCH_DUMP=<file> writes every attempt's timings (and the emulator's receive times) as JSON, for analysis.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { concurrencyLimit } from '../libs/common/src/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const JOBS = arg('jobs', 300);
const LATENCY_MS = arg('latency-ms', 500);
const SLOTS = arg('slots', 5);
const WORKERS = arg('workers', 2);
const PROBE = arg('probe', 40);
const SUBMIT_CONCURRENCY = arg('submit-concurrency', 32);

/**
 * The emulator in its own process, as a real provider is: a burst of submissions from this process (which
 * also plays the client) must not delay the provider's own timers and webhooks. Read through its control server.
 */
async function startEmulatorProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, [path.join(root, 'dist/test/emulator/main.js')], { env: { ...process.env, ...env, EMULATOR_CONTROL: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const [url, control] = await new Promise<string[]>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      if (lines.length > 2) resolve(lines.slice(0, 2));
    });
    child.once('exit', (code) => reject(new Error(`the emulator exited (code ${code})`)));
  });
  const get = async (p: string, method = 'GET') => (await fetch(`${control}${p}`, { method })).json();
  return {
    url: url!,
    stats: () => get('/stats') as Promise<{ submissions: number; rateLimited: number; maxInFlight: number }>,
    resetStats: () => get('/reset-stats', 'POST'),
    submissions: () => get('/submissions') as Promise<[number | null, number][]>,
    close: () => child.kill('SIGTERM'),
  };
}

/** N loops of submit -> webhook -> download, straight at the emulator: the bare client's jobs/s. */
async function bareClient(providerUrl: string, imageUrl: (i: number) => string, jobs: number, slots: number): Promise<number> {
  const waiting = new Map<number, (output: string) => void>();
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.writeHead(200).end();
      const hook = JSON.parse(body) as { track_id?: number | string; output?: string[] };
      waiting.get(Number(hook.track_id))?.(hook.output?.[0] ?? '');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const webhook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  let next = 0;
  const t0 = performance.now();
  const loop = async () => {
    while (next < jobs) {
      const i = next++;
      const done = new Promise<string>((resolve) => waiting.set(i, resolve));
      for (;;) {
        const answer = (await (
          await fetch(`${providerUrl}/api/v6/image_editing/removebg_mask`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ key: 'bench', image: imageUrl(i), webhook, track_id: i }),
          })
        ).json()) as { status: string; output?: string[]; retry_after?: number; message?: string };
        if (answer.status === 'success') {
          waiting.get(i)!(answer.output?.[0] ?? '');
          break;
        }
        if (answer.status === 'processing') break;
        if (answer.retry_after === undefined) throw new Error(`bare client: the emulator answered ${JSON.stringify(answer)}`);
        await new Promise((r) => setTimeout(r, (answer.retry_after ?? 1) * 1000));
      }
      const output = await done;
      waiting.delete(i);
      if (output) await (await fetch(output)).arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: slots }, loop));
  const seconds = (performance.now() - t0) / 1000;
  receiver.close();
  return jobs / seconds;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const dbName = `maskflow_bench_${process.pid}`;
  process.env.TEST_DATABASE_URL = `postgresql://postgres@127.0.0.1:5432/${dbName}`;
  process.env.LOG_LEVEL ??= 'error';
  execFileSync('bash', [path.join(root, 'scripts/s3/radosgw.sh'), 'start'], { stdio: 'ignore' });
  execFileSync(process.execPath, [path.join(root, 'dist/scripts/migrate.js'), 'deploy', process.env.TEST_DATABASE_URL], { stdio: 'ignore' });
  const { startStack } = await import('../test/support/stack.js');
  const { startImageServer } = await import('../test/support/image-server.js');
  const { until } = await import('../test/support/until.js');

  const emulator = await startEmulatorProcess({
    EMULATOR_API_KEY: 'bench',
    EMULATOR_MAX_IN_FLIGHT: String(SLOTS),
    EMULATOR_LATENCY_MS: String(LATENCY_MS),
    EMULATOR_ANSWER: 'processing',
    EMULATOR_ETA_SECONDS: String(Math.ceil((LATENCY_MS * 4) / 1000)),
  });
  const images = await startImageServer(8);
  const stack = await startStack({ providerUrl: emulator.url, providerKey: 'bench', maxInFlight: SLOTS, workerProcesses: WORKERS, apiProcess: true, env: { LOG_LEVEL: 'error', STORE_CONCURRENCY: '8' } });
  try {
    // Phase 0: the bare client's throughput against the same emulator, same latency and slots.
    const bare = await bareClient(emulator.url, (i) => images.imageUrl(`img-${i % 8}.png`), JOBS, SLOTS);
    const count = async (ids: string[]) =>
      (await stack.db.query("SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND state = 'succeeded'", [ids])).rows[0].n as number;

    // Warm-up, not measured (as a deployed service is warm): 2N jobs through every process of the pipeline.
    const warm = await Promise.all(Array.from({ length: 2 * SLOTS }, async (_, i) => (await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl(`img-${i % 8}.png`) })).body.id as string));
    await until(async () => (await count(warm)) === warm.length, { timeoutMs: 120_000, intervalMs: 100, what: 'the warm-up jobs' });
    await emulator.resetStats(); // the provider figures below are the measured phase's alone

    // Phase 1: throughput.
    const t0 = performance.now();
    // As a bulk client does (the CLI's --concurrency): at most SUBMIT_CONCURRENCY requests open at once.
    const submitting = concurrencyLimit(SUBMIT_CONCURRENCY);
    const ids = await Promise.all(
      Array.from({ length: JOBS }, (_, i) =>
        submitting.run(async () => (await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl(`img-${i % 8}.png`) })).body.id as string),
      ),
    );
    const accepted = performance.now() - t0;
    await until(async () => (await count(ids)) === JOBS, { timeoutMs: 30 * 60_000, intervalMs: 100, what: 'all jobs' });
    const elapsed = (performance.now() - t0) / 1000;
    const achieved = JOBS / elapsed;
    const ceiling = SLOTS / (LATENCY_MS / 1000);
    const stats = await emulator.stats();

    // Where a cycle's time goes: each submit after the first N took the slot the (k-N)-th result freed.
    const { rows: att } = await stack.db.query(
      `SELECT a.id::text AS aid, extract(epoch FROM a.created_at) * 1000 AS started, extract(epoch FROM a.resolved_at) * 1000 AS resolved,
              extract(epoch FROM j.completed_at) * 1000 AS stored
       FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE a.job_id = ANY($1::uuid[])`,
      [ids],
    );
    const starts = att.map((a) => Number(a.started)).sort((a, b) => a - b);
    const frees = att.map((a) => Number(a.resolved)).sort((a, b) => a - b);
    const handoff = starts.slice(SLOTS).map((s, k) => s - frees[k]!).sort((a, b) => a - b);
    const atProvider = att.map((a) => Number(a.resolved) - Number(a.started)).sort((a, b) => a - b);
    const store = att.map((a) => Number(a.stored) - Number(a.resolved)).sort((a, b) => a - b);
    if (process.env.BENCH_DUMP) (await import('node:fs')).writeFileSync(process.env.BENCH_DUMP, JSON.stringify({ t0: Date.now() - (performance.now() - t0), accepted, att, subs: await emulator.submissions() }));

    // Phase 2: added latency on an idle system.
    const added: number[] = [];
    for (let i = 0; i < PROBE; i++) {
      const id = (await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl(`img-${i % 8}.png`) })).body.id as string;
      const job = await stack.waitForState(id, ['succeeded', 'failed'], 60_000);
      added.push(Date.parse(job.completed_at) - Date.parse(job.created_at) - LATENCY_MS);
    }
    added.sort((a, b) => a - b);

    console.log(`pipeline throughput: ${JOBS} jobs, L=${LATENCY_MS} ms, N=${SLOTS} slots, ${WORKERS} worker processes`);
    console.log(`  accepted all ${JOBS} in ${accepted.toFixed(0)} ms (${(JOBS / (accepted / 1000)).toFixed(0)} jobs/s through POST /v1/jobs)`);
    console.log(`  bare client (same emulator, same run): ${bare.toFixed(2)} jobs/s`);
    console.log(`  maskflow achieved ${achieved.toFixed(2)} jobs/s; ratio to the bare client ${(achieved / bare).toFixed(3)} (target >= 0.95); to the ceiling N/L = ${ceiling.toFixed(2)}: ${(achieved / ceiling).toFixed(3)}`);
    console.log(`  provider: ${stats.submissions} submissions, ${stats.rateLimited} answered 429 (target 0), max in flight ${stats.maxInFlight}/${SLOTS}`);
    console.log(`  per cycle (ms, p50/p99): slot freed -> next submit ${pct(handoff, 50).toFixed(0)}/${pct(handoff, 99).toFixed(0)}; submit -> result recorded ${pct(atProvider, 50).toFixed(0)}/${pct(atProvider, 99).toFixed(0)} (L=${LATENCY_MS}); result -> stored ${pct(store, 50).toFixed(0)}/${pct(store, 99).toFixed(0)}`);
    console.log(`  added latency per job (idle, ${PROBE} jobs): p50 ${pct(added, 50)} ms, p99 ${pct(added, 99)} ms, max ${added.at(-1)} ms`);
  } finally {
    await stack.close();
    emulator.close();
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
