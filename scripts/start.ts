/**
 * `npm start`: the api and the worker as two processes (plus the self-hosted engine when it is the provider
 * and nothing answers at ENGINE_URL yet). Ctrl-C or SIGTERM stops them in order; if one dies, all stop.
 * The configuration is checked here first, so a bad variable stops start-up with its name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, createLogger, loadConfig, type AppConfig } from '../libs/config/src/index.js';
import { migrateDeploy } from '../libs/db/src/migrator.js';

const log = createLogger('start');
const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Managed {
  name: string;
  child: ChildProcess;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.status < 500;
  } catch {
    return false;
  }
}

async function waitFor(url: string, ms: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`it exited with code ${child.exitCode}`);
    if (await answers(url)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

function isLocal(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]';
}

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78);
    }
    throw err;
  }
  if (config.migrateOnStart) {
    const applied = await migrateDeploy(config.databaseUrl);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
  }
  const children: Managed[] = [];
  const childEnv = { ...process.env, MIGRATE_ON_START: 'false' };
  const run = (name: string, script: string, env: NodeJS.ProcessEnv = childEnv): ChildProcess => {
    const child = spawn(process.execPath, [path.join(dist, script)], { env, stdio: 'inherit' });
    children.push({ name, child });
    return child;
  };

  if (config.provider.kind === 'engine' && isLocal(config.provider.baseUrl) && !(await answers(`${config.provider.baseUrl}/health`))) {
    const port = new URL(config.provider.baseUrl).port || '80';
    const engine = run('engine', 'apps/engine/src/main.js', { ...childEnv, ENGINE_PORT: port, ENGINE_PUBLIC_URL: config.provider.baseUrl });
    log.info({ url: config.provider.baseUrl }, 'starting the self-hosted engine (loading the model)');
    await waitFor(`${config.provider.baseUrl}/health`, 120_000, engine);
  }
  run('api', 'apps/api/src/main.js');
  run('worker', 'apps/worker/src/main.js');

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    // api and worker first (they finish or hand back their work), the engine last.
    for (const group of [children.filter((c) => c.name !== 'engine'), children.filter((c) => c.name === 'engine')]) {
      const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
      for (const { child } of group) if (!exited(child)) child.kill('SIGTERM');
      await Promise.all(group.map(({ child }) => (exited(child) ? Promise.resolve() : new Promise((r) => child.once('exit', r)))));
    }
    process.exit(code);
  };
  for (const { name, child } of children) {
    child.once('exit', (code, signal) => {
      if (stopping) return;
      log.error({ process: name, code, signal }, 'a maskflow process exited; stopping the others');
      void stop(code === 0 ? 1 : (code ?? 1));
    });
  }
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  await waitFor(`http://127.0.0.1:${config.http.port}/health/live`, 60_000, children.find((c) => c.name === 'api')!.child);
  log.info({ api: `http://127.0.0.1:${config.http.port}`, provider: config.provider.kind }, 'maskflow is up (Ctrl-C to stop)');
}

main().catch((err: unknown) => {
  log.fatal({ err }, 'start-up failed');
  process.exit(1);
});
