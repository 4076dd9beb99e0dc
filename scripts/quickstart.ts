/**
 * Starts maskflow (dist/scripts/start.js) and sends every image in samples/ through it as a person would:
 * multipart upload, poll until done, download the cut-out. Without a ModelsLab key the provider is the
 * self-hosted engine; with QUICKSTART_PROVIDER=emulator it is the ModelsLab emulator used by the tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_API_KEY } from '../libs/config/src/index.js';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(dist, '..');
const port = process.env.PORT ?? '3000';
const api = `http://127.0.0.1:${port}`;
const apiKey = (process.env.API_KEYS ?? DEV_API_KEY).split(',')[0]!.trim();
const outDir = path.join(root, '.maskflow', 'quickstart-output');

async function until<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function main(): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: port };
  let closeEmulator: (() => Promise<void>) | undefined;
  let providerNote: string;
  if (process.env.MODELSLAB_API_KEY) {
    providerNote = 'ModelsLab (MODELSLAB_API_KEY is set)';
  } else if (process.env.QUICKSTART_PROVIDER === 'emulator' || !existsSync(path.join(dist, 'apps/engine/src/main.js'))) {
    const { startModelslabEmulator } = await import(path.join(dist, 'test/emulator/modelslab-emulator.js'));
    const emulator = await startModelslabEmulator({ apiKey: 'quickstart', maxInFlight: 5 });
    closeEmulator = () => emulator.close();
    Object.assign(env, { PROVIDER: 'modelslab', MODELSLAB_API_KEY: 'quickstart', MODELSLAB_BASE_URL: emulator.url, PUBLIC_BASE_URL: api });
    providerNote = `the ModelsLab EMULATOR at ${emulator.url} (test double: its cut-outs are synthetic, not real segmentation)`;
  } else {
    providerNote = 'the self-hosted segmentation engine (IS-Net, ONNX, on this CPU)';
    env.PUBLIC_BASE_URL ??= api;
  }
  console.log(`maskflow quickstart: provider = ${providerNote}`);
  const system: ChildProcess = spawn(process.execPath, [path.join(dist, 'scripts/start.js')], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const stopSystem = async () => {
    if (system.exitCode === null && system.signalCode === null) {
      system.kill('SIGTERM');
      await new Promise((r) => system.once('exit', r));
    }
    await closeEmulator?.();
  };
  process.on('SIGINT', () => void stopSystem().then(() => process.exit(130)));
  try {
    await until(async () => ((await fetch(`${api}/health/live`)).ok ? true : undefined), 180_000, 'the api to start');
    const samplesDir = path.join(root, 'samples');
    const files = (await readdir(samplesDir)).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort();
    await mkdir(outDir, { recursive: true });
    const started = Date.now();
    const jobs = await Promise.all(
      files.map(async (file) => {
        const form = new FormData();
        form.append('image', new Blob([new Uint8Array(await readFile(path.join(samplesDir, file)))]), file);
        form.append('track_id', `quickstart-${file}`);
        const res = await fetch(`${api}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: form });
        const body = (await res.json()) as { id: string; error?: unknown };
        if (res.status !== 202) throw new Error(`submitting ${file} answered ${res.status}: ${JSON.stringify(body)}`);
        console.log(`  submitted ${file} -> job ${body.id}`);
        return { file, id: body.id };
      }),
    );
    let failures = 0;
    for (const { file, id } of jobs) {
      const job = await until(
        async () => {
          const j = (await (await fetch(`${api}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${apiKey}` } })).json()) as any;
          return ['succeeded', 'failed', 'canceled'].includes(j.state) ? j : undefined;
        },
        600_000,
        `job ${id}`,
      );
      if (job.state !== 'succeeded') {
        failures++;
        console.log(`  ${file}: ${job.state} ${JSON.stringify(job.error)}`);
        continue;
      }
      const out = path.join(outDir, file.replace(/\.[^.]+$/, '.png'));
      await writeFile(out, Buffer.from(await (await fetch(job.outputs[0].url)).arrayBuffer()));
      console.log(`  ${file}: succeeded in ${((Date.parse(job.completed_at) - Date.parse(job.created_at)) / 1000).toFixed(1)} s, ${job.outputs[0].bytes} bytes, sha256 ${job.outputs[0].sha256.slice(0, 16)}... -> ${path.relative(process.cwd(), out)}`);
    }
    console.log(`maskflow quickstart: ${jobs.length - failures}/${jobs.length} images cut out in ${((Date.now() - started) / 1000).toFixed(1)} s; outputs in ${path.relative(process.cwd(), outDir)}/ (S3 bucket "maskflow", keys outputs/<job id>/0.png)`);
    if (process.argv.includes('--keep-running')) {
      console.log(`maskflow keeps running at ${api} (API key "${apiKey}"); Ctrl-C to stop`);
      await new Promise((r) => system.once('exit', r));
      return 0;
    }
    return failures === 0 ? 0 : 1;
  } finally {
    await stopSystem();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`maskflow quickstart failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
