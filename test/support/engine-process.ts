/** The self-hosted engine as a real process (compiled build), as `npm start` runs it. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './stack.js';
import { until } from './until.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = here.includes(`${path.sep}dist${path.sep}`) ? here.slice(0, here.indexOf(`${path.sep}dist${path.sep}`)) : path.resolve(here, '../..');

export interface EngineProcess {
  url: string;
  apiKey: string;
  close(): Promise<void>;
}

export async function startEngineProcess(env: Record<string, string> = {}): Promise<EngineProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const apiKey = 'engine-test-key';
  const child = spawn(process.execPath, [path.join(root, 'dist/apps/engine/src/main.js')], {
    env: { ...process.env, ENGINE_PORT: String(port), ENGINE_PUBLIC_URL: url, ENGINE_API_KEY: apiKey, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn', ENGINE_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8,::1/128', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  await until(
    async () => {
      if (exited()) throw new Error(`the engine exited with code ${child.exitCode}`);
      return (await fetch(`${url}/health`)).ok;
    },
    { timeoutMs: 180_000, intervalMs: 250, what: 'the engine to load its model' },
  );
  return {
    url,
    apiKey,
    close: async () => {
      if (exited()) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
