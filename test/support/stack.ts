/**
 * A whole maskflow for one test: the API (real HTTP on a free port) and worker(s) against the machine's
 * Postgres and Redis and the run's S3 server, with a queue prefix of its own. Workers run in this process,
 * or as separate OS processes (`workerProcesses`), which needs the compiled build (npm test builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { INestApplicationContext } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import pg from 'pg';
import { createApiApp } from '../../apps/api/src/api.app.js';
import { createWorkerApp } from '../../apps/worker/src/worker.app.js';
import { loadConfig, type AppConfig } from '../../libs/config/src/index.js';
import { createS3Client } from '../../libs/storage/src/index.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, TEST_S3 } from './test-env.js';
import { until } from './until.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// The repository root, from test/support or from its compiled copy in dist/test/support (benchmarks).
const root = here.includes(`${path.sep}dist${path.sep}`) ? here.slice(0, here.indexOf(`${path.sep}dist${path.sep}`)) : path.resolve(here, '../..');
export const TEST_API_KEY = 'test-api-key-0123456789';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface StackOptions {
  providerUrl: string;
  providerKey: string;
  maxInFlight?: number;
  webhooks?: boolean;
  workers?: number;
  workerProcesses?: number;
  /** Run the api as its own OS process, as deployed (benchmarks: the test process's own load stays apart). */
  apiProcess?: boolean;
  env?: Record<string, string>;
  /** LOG_LEVEL of spawned worker processes (default TEST_LOG_LEVEL, else warn). */
  workerLogLevel?: string;
  /** Do not report worker processes that the test kills itself (chaos). */
  quietWorkerExits?: boolean;
}

export interface Stack {
  url: string;
  config: AppConfig;
  env: Record<string, string>;
  db: pg.Pool;
  s3: ReturnType<typeof createS3Client>;
  request(method: string, p: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  job(id: string): Promise<any>;
  waitForState(id: string, states: string[], timeoutMs?: number): Promise<any>;
  close(): Promise<void>;
  workerChildren: ChildProcess[];
  /** Starts one more worker as a separate OS process. */
  spawnWorker(): ChildProcess;
  /** Starts one more worker in this process. */
  startWorker(): Promise<INestApplicationContext>;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const port = await freePort();
  const prefix = `{mft-${randomBytes(5).toString('hex')}}`;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: TEST_DATABASE_URL,
    MIGRATE_ON_START: 'false',
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    S3_ENDPOINT: TEST_S3.endpoint,
    S3_BUCKET: TEST_S3.bucket,
    S3_ACCESS_KEY_ID: TEST_S3.accessKeyId,
    S3_SECRET_ACCESS_KEY: TEST_S3.secretAccessKey,
    PROVIDER: 'modelslab',
    MODELSLAB_API_KEY: opts.providerKey,
    MODELSLAB_BASE_URL: opts.providerUrl,
    PROVIDER_MAX_IN_FLIGHT: String(opts.maxInFlight ?? 5),
    PROVIDER_BACKOFF_MS: '200',
    PROVIDER_TIMEOUT_MS: '5000',
    API_KEYS: TEST_API_KEY,
    SHUTDOWN_GRACE_MS: '5000',
    // Several workers share a test process: no metrics listener unless a test asks for one.
    METRICS_PORT: '0',
    ...(opts.webhooks === false ? {} : { PUBLIC_BASE_URL: `http://127.0.0.1:${port}` }),
    // The test servers (images, webhook receivers) live on loopback; SSRF tests pass OUTBOUND_ALLOW_CIDRS: ''.
    OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8,::1/128',
    ...opts.env,
  };
  const config = loadConfig(env);
  let api: { close(): Promise<void> };
  if (opts.apiProcess) {
    const child = spawn(process.execPath, [path.join(root, 'dist/apps/api/src/main.js')], {
      env: { ...process.env, ...env, LOG_LEVEL: opts.workerLogLevel ?? process.env.TEST_LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exitedEarly = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`api process exited (code ${code})`))));
    await Promise.race([
      exitedEarly,
      until(() => fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.ok, () => false), { timeoutMs: 60_000, what: 'the api process to listen' }),
    ]);
    exitedEarly.catch(() => undefined);
    api = {
      close: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      },
    };
  } else {
    const app: NestExpressApplication = await createApiApp(config);
    await app.listen(port, '127.0.0.1');
    api = app;
  }
  const workers: INestApplicationContext[] = [];
  for (let i = 0; i < (opts.workers ?? (opts.workerProcesses ? 0 : 1)); i++) workers.push(await createWorkerApp(config));
  const workerChildren: ChildProcess[] = [];
  let closing = false;
  const spawnWorker = () => {
    const child = spawn(process.execPath, [path.join(root, 'dist/apps/worker/src/main.js')], {
      env: { ...process.env, ...env, LOG_LEVEL: opts.workerLogLevel ?? process.env.TEST_LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('exit', (code, signal) => {
      if (!closing && !opts.quietWorkerExits) console.error(`worker process ${child.pid} exited unexpectedly (code ${code}, signal ${signal})`);
    });
    workerChildren.push(child);
    return child;
  };
  for (let i = 0; i < (opts.workerProcesses ?? 0); i++) spawnWorker();
  const db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 4 });
  db.on('error', () => undefined);
  const s3 = createS3Client(config.s3);
  const url = `http://127.0.0.1:${port}`;

  const request: Stack['request'] = async (method, p, body, headers = {}) => {
    const res = await fetch(`${url}${p}`, {
      method,
      headers: { authorization: `Bearer ${TEST_API_KEY}`, ...(body !== undefined && !(body instanceof FormData) ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : body instanceof FormData ? body : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* keep text */
    }
    return { status: res.status, body: parsed as any, headers: res.headers };
  };
  const job = async (id: string) => (await request('GET', `/v1/jobs/${id}`)).body;
  return {
    url,
    config,
    env,
    db,
    s3,
    request,
    job,
    workerChildren,
    spawnWorker,
    async startWorker() {
      const w = await createWorkerApp(config);
      workers.push(w);
      return w;
    },
    waitForState: (id, states, timeoutMs = 20_000) =>
      until(async () => {
        const j = await job(id);
        return states.includes(j.state) ? j : undefined;
      }, { timeoutMs, what: `job ${id} to reach ${states.join('|')}` }),
    async close() {
      closing = true;
      const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
      for (const c of workerChildren) if (!exited(c)) c.kill('SIGTERM');
      await Promise.all(workerChildren.map((c) => (exited(c) ? Promise.resolve() : new Promise((r) => c.once('exit', r)))));
      for (const w of workers) await w.close();
      await api.close();
      await db.end();
      s3.destroy();
    },
  };
}

/** Empties the tables between tests (queues are isolated by prefix). */
export async function truncateAll(): Promise<void> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  await c.query('TRUNCATE jobs, job_attempts, job_outputs, provider_events, api_keys, tenants, batches RESTART IDENTITY CASCADE');
  await c.end();
}
