/**
 * The chaos suite's own infrastructure, which it may break without disturbing anything else: a Redis server
 * on a port of its own (no persistence, so a restart loses every queue), and an S3 gateway of its own
 * (scripts/s3/radosgw.sh on a free port and state directory) whose radosgw daemon it stops and starts.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort } from '../support/stack.js';
import { until } from '../support/until.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function redisAnswers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

export interface ChaosRedis {
  url: string;
  /** SIGKILL and start again on the same port: everything in it is gone. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startChaosRedis(): Promise<ChaosRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
    await until(() => redisAnswers(url), { timeoutMs: 10_000, intervalMs: 50, what: `redis-server on port ${port}` });
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url,
    async restart() {
      await stop();
      await start();
    },
    stop,
  };
}

export interface ChaosS3 {
  endpoint: string;
  /** Kills the radosgw daemon only: S3 is unreachable, the stored objects are kept. */
  stopGateway(): Promise<void>;
  startGateway(): Promise<void>;
  /** Stops the whole throw-away cluster and removes its state. */
  destroy(): Promise<void>;
}

export async function startChaosS3(): Promise<ChaosS3> {
  const port = await freePort();
  const env = { ...process.env, S3_TEST_PORT: String(port), S3_TEST_MON_PORT: String(await freePort()), S3_TEST_DIR: `/tmp/maskflow-s3-chaos-${port}`, S3_TEST_MEMSTORE_BYTES: String(1 << 30) };
  const script = path.join(root, 'scripts/s3/radosgw.sh');
  const call = (cmd: string) => run('bash', [script, cmd], { env, timeout: 180_000 });
  await call('start');
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stopGateway: async () => void (await call('gateway-stop')),
    startGateway: async () => void (await call('gateway-start')),
    destroy: async () => {
      await call('stop');
      await rm(`${env.S3_TEST_DIR}.lock`, { force: true });
    },
  };
}

/** Drops every connection to the database but the caller's own (Postgres restarted, failed over, a proxy reset). */
export async function dropDatabaseConnections(databaseUrl: string): Promise<number> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()) t',
    );
    return rows[0]!.n;
  } finally {
    await c.end();
  }
}
