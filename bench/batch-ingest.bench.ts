/**
 * Batch ingest: a --rows (default 1,000,000) NDJSON body streamed to POST /v1/batches on a real api
 * process (rows/s, the api's RSS before and its peak RSS after), against a bare `COPY` of the same rows
 * into the same `jobs` table in the same run (the floor: no HTTP, no parsing, no validation). Then the cost
 * of per-state counts: the grouped COUNT on 10k- and 1M-item batches, against keeping counters on the batch
 * row (conditional increments from --writers concurrent connections, as N workers would on every job
 * transition).
 *
 *   npm run bench:batch-ingest -- [--rows 1000000] [--writers 8]
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const ROWS = arg('rows', 1_000_000);
const WRITERS = arg('writers', 8);
const API_KEY = 'bench-key-0123456789';

const mib = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;
function procStatus(pid: number): { rssKb: number; hwmKb: number } {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
}

async function freePort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** The same rows twice: NDJSON for the API, COPY text for the bare baseline. */
async function writeFiles(dir: string, batchId: string): Promise<{ ndjson: string; copy: string; bytes: number }> {
  const ndjson = path.join(dir, 'batch.ndjson');
  const copy = path.join(dir, 'batch.copy');
  const a = fs.createWriteStream(ndjson);
  const b = fs.createWriteStream(copy);
  let chunkA = '';
  let chunkB = '';
  for (let i = 1; i <= ROWS; i++) {
    const url = `https://cdn.example.com/catalog/${String(i).padStart(7, '0')}.jpg`;
    const ext = `sku-${String(i).padStart(7, '0')}`;
    const options = i % 3 === 0 ? { only_mask: true } : {};
    chunkA += `${JSON.stringify({ image_url: url, external_id: ext, ...(i % 3 === 0 ? { options } : {}) })}\n`;
    chunkB += `${randomUUID()}\tbench\t${ext}\t${url}\t${JSON.stringify(options)}\t\\N\t\\N\t${batchId}\t${i}\t${ext}\n`;
    if (chunkA.length > 1 << 20) {
      if (!a.write(chunkA)) await once(a, 'drain');
      if (!b.write(chunkB)) await once(b, 'drain');
      chunkA = chunkB = '';
    }
  }
  a.end(chunkA);
  b.end(chunkB);
  await Promise.all([once(a, 'finish'), once(b, 'finish')]);
  return { ndjson, copy, bytes: fs.statSync(ndjson).size };
}

async function main(): Promise<void> {
  const dbName = `maskflow_bench_ingest_${process.pid}`;
  const dbUrl = `postgresql://postgres@127.0.0.1:5432/${dbName}`;
  execFileSync('bash', [path.join(root, 'scripts/s3/radosgw.sh'), 'start'], { stdio: 'ignore' });
  execFileSync(process.execPath, [path.join(root, 'dist/scripts/migrate.js'), 'deploy', dbUrl], { stdio: 'ignore' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskflow-batch-bench-'));
  const db = new pg.Pool({ connectionString: dbUrl, max: WRITERS + 2 });
  const port = await freePort();
  const s3Port = process.env.S3_TEST_PORT ?? '7480';
  const api = spawn(process.execPath, [path.join(root, 'dist/apps/api/src/main.js')], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: dbUrl,
      MIGRATE_ON_START: 'false',
      QUEUE_PREFIX: `{bench-${randomBytes(4).toString('hex')}}`,
      S3_ENDPOINT: `http://127.0.0.1:${s3Port}`,
      S3_BUCKET: 'maskflow-bench',
      PROVIDER: 'modelslab',
      MODELSLAB_API_KEY: 'unused',
      API_KEYS: API_KEY,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    const t0 = performance.now();
    const files = await writeFiles(dir, randomUUID());
    console.log(`batch ingest: ${ROWS} rows, ${(files.bytes / 1048576).toFixed(0)} MiB of NDJSON (generated in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);

    // Baseline: bare COPY of the same rows into jobs, one transaction.
    const client = await db.connect();
    const c0 = performance.now();
    await client.query('BEGIN');
    await pipeline(fs.createReadStream(files.copy), client.query(copyStreams.from('COPY jobs (id, tenant_id, track_id, image_url, options, callback_url, metadata, batch_id, batch_seq, external_id) FROM STDIN')));
    await client.query('COMMIT');
    const copyS = (performance.now() - c0) / 1000;
    client.release();
    await db.query('TRUNCATE jobs CASCADE');
    await db.query('VACUUM ANALYZE jobs');

    // The api, streamed over HTTP.
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/health/live`).then((r) => r.ok).catch(() => false);
      if (ok) break;
      if (i > 600) throw new Error('the api did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = procStatus(api.pid!);
    const a0 = performance.now();
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${base}/v1/batches`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/x-ndjson' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      fs.createReadStream(files.ndjson).pipe(req);
    });
    const apiS = (performance.now() - a0) / 1000;
    const after = procStatus(api.pid!);
    if (answer.status !== 202) throw new Error(`ingest answered ${answer.status}: ${answer.body.slice(0, 500)}`);
    const created = JSON.parse(answer.body) as { id: string; counts: { total: number } };
    if (created.counts.total !== ROWS) throw new Error(`ingest accepted ${created.counts.total} of ${ROWS} rows`);

    console.log(`  bare COPY into jobs:     ${copyS.toFixed(1)} s  ${(ROWS / copyS).toFixed(0)} rows/s`);
    console.log(`  POST /v1/batches NDJSON: ${apiS.toFixed(1)} s  ${(ROWS / apiS).toFixed(0)} rows/s  (stream, parse, validate, COPY, one transaction)`);
    console.log(`  ratio api / bare COPY:   ${(ROWS / apiS / (ROWS / copyS)).toFixed(2)} of COPY's rate (${(apiS / copyS).toFixed(2)}x the time)`);
    console.log(`  api RSS: ${mib(before.rssKb)} before, peak ${mib(after.hwmKb)} (peak before the ingest ${mib(before.hwmKb)}); body ${(files.bytes / 1048576).toFixed(0)} MiB`);

    // Counts: grouped COUNT (what GET /v1/batches/:id runs) vs counters on the batch row.
    const timeQuery = async (sql: string, params: unknown[], runs = 15) => {
      const ts: number[] = [];
      for (let i = 0; i < runs; i++) {
        const s = performance.now();
        await db.query(sql, params);
        ts.push(performance.now() - s);
      }
      ts.sort((x, y) => x - y);
      return ts[Math.floor(ts.length / 2)]!;
    };
    const COUNT = 'SELECT state, count(*) FROM jobs WHERE batch_id = $1 GROUP BY state';
    await db.query('VACUUM ANALYZE jobs');
    // Spread the big batch over states as a running batch would be.
    await db.query(`UPDATE jobs SET state = 'succeeded', completed_at = now() WHERE batch_id = $1 AND batch_seq % 10 < 4`, [created.id]);
    await db.query('VACUUM ANALYZE jobs');
    const countBig = await timeQuery(COUNT, [created.id]);
    const small = await new Promise<string>((resolve, reject) => {
      const body = Array.from({ length: 10_000 }, (_, i) => JSON.stringify({ image_url: `https://cdn.example.com/s/${i}.jpg` })).join('\n');
      fetch(`${base}/v1/batches`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/x-ndjson' }, body })
        .then(async (r) => resolve(((await r.json()) as { id: string }).id))
        .catch(reject);
    });
    await db.query('VACUUM ANALYZE jobs');
    const countSmall = await timeQuery(COUNT, [small]);
    const getSmall = await (async () => {
      const ts: number[] = [];
      for (let i = 0; i < 15; i++) {
        const s = performance.now();
        await (await fetch(`${base}/v1/batches/${small}`, { headers: { authorization: `Bearer ${API_KEY}` } })).json();
        ts.push(performance.now() - s);
      }
      return ts.sort((x, y) => x - y)[7]!;
    })();

    // Counters: 10,000 conditional increments on one batch row from WRITERS connections at once.
    await db.query(`ALTER TABLE batches ADD COLUMN IF NOT EXISTS bench_succeeded int NOT NULL DEFAULT 0`);
    const perWriter = Math.ceil(10_000 / WRITERS);
    const k0 = performance.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        const c = await db.connect();
        try {
          for (let i = 0; i < perWriter; i++) await c.query('UPDATE batches SET bench_succeeded = bench_succeeded + 1 WHERE id = $1 AND completed_at IS NULL', [small]);
        } finally {
          c.release();
        }
      }),
    );
    const counterMs = performance.now() - k0;
    const k1 = performance.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        const c = await db.connect();
        try {
          for (let i = 0; i < perWriter; i++) await c.query('SELECT 1 FROM batches WHERE id = $1', [w % 2 === 0 ? small : created.id]);
        } finally {
          c.release();
        }
      }),
    );
    const roundTripMs = performance.now() - k1;
    await db.query('ALTER TABLE batches DROP COLUMN bench_succeeded');
    console.log(`counts per state (median of 15): grouped COUNT ${countSmall.toFixed(2)} ms on a 10k-item batch (GET /v1/batches/:id ${getSmall.toFixed(1)} ms), ${countBig.toFixed(1)} ms on the ${ROWS}-item batch`);
    console.log(`  counters instead: ${WRITERS * perWriter} increments of one batch row from ${WRITERS} connections took ${counterMs.toFixed(0)} ms (${((counterMs / (WRITERS * perWriter)) * WRITERS).toFixed(2)} ms each, serialised on the row lock) vs ${roundTripMs.toFixed(0)} ms for as many plain reads: an extra hot-row write on every job transition`);
  } finally {
    api.kill('SIGTERM');
    await once(api, 'exit').catch(() => undefined);
    await db.end();
    fs.rmSync(dir, { recursive: true, force: true });
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
