/**
 * End to end with real segmentation: the self-hosted engine (a separate process, IS-Net on the CPU) as the
 * provider, and as the fallback when ModelsLab fails for provider-side reasons.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type OutputInfo } from 'sharp';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import { startStack, type Stack } from '../support/stack.js';

const samples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../samples');
// The engine answers a submit while it decodes and segments other images on the same two cores: on a busy
// machine that can take longer than the stack's 5 s default, which would make these tests retry, not fail.
const ENGINE_ANSWER_MS = '60000';
let engine: EngineProcess;
let stack: Stack | undefined;
let emulator: ModelslabEmulator | undefined;

beforeAll(async () => {
  engine = await startEngineProcess();
}, 200_000);
afterEach(async () => {
  await stack?.close();
  await emulator?.close();
  stack = undefined;
  emulator = undefined;
});
afterAll(async () => {
  await engine?.close();
});

async function upload(file: string, options: Record<string, unknown> = {}): Promise<string> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(await readFile(path.join(samples, file)))]), file);
  form.append('options', JSON.stringify(options));
  const res = await stack!.request('POST', '/v1/jobs', form);
  expect(res.status).toBe(202);
  return res.body.id;
}

async function download(job: any): Promise<Buffer> {
  return Buffer.from(await (await fetch(job.outputs[0].url)).arrayBuffer());
}

async function output(job: any): Promise<{ data: Buffer; info: OutputInfo }> {
  return sharp(await download(job)).raw().toBuffer({ resolveWithObject: true });
}

it('cuts out a real photo through the whole pipeline, with the engine as the provider', async () => {
  stack = await startStack({ providerUrl: engine.url, providerKey: engine.apiKey, env: { PROVIDER: 'engine', ENGINE_URL: engine.url, ENGINE_API_KEY: engine.apiKey, PROVIDER_TIMEOUT_MS: ENGINE_ANSWER_MS } });
  const cutout = await upload('cat.jpg');
  const mask = await upload('cat.jpg', { only_mask: true });
  const job = await stack.waitForState(cutout, ['succeeded', 'failed'], 180_000);
  expect(job).toMatchObject({ state: 'succeeded', provider: 'engine', error: null });
  const { data, info } = await output(job);
  const meta = await sharp(path.join(samples, 'cat.jpg')).metadata();
  expect([info.width, info.height, info.channels]).toEqual([meta.width, meta.height, 4]);
  let opaque = 0;
  let clear = 0;
  for (let i = 3; i < data.length; i += 4) {
    if (data[i]! > 200) opaque++;
    else if (data[i]! < 55) clear++;
  }
  const pixels = info.width * info.height;
  // A cat in a photo: a real part of the picture is kept, a real part is removed.
  expect(opaque / pixels).toBeGreaterThan(0.15);
  expect(clear / pixels).toBeGreaterThan(0.15);

  const maskJob = await stack.waitForState(mask, ['succeeded', 'failed'], 180_000);
  expect(maskJob.state).toBe('succeeded');
  // The PNG itself is single-channel (sharp's raw() would expand grey to 3 channels, so read the header).
  expect((await sharp(await download(maskJob)).metadata()).channels).toBe(1);
});

it('falls back to the engine when ModelsLab fails for provider-side reasons (402, 5xx)', async () => {
  emulator = await startModelslabEmulator({ apiKey: 'k' });
  let calls = 0;
  emulator.setDecide(() => (++calls % 2 === 1 ? { error: { httpStatus: 402, message: 'Insufficient credits' } } : { error: { httpStatus: 503, message: 'down' } }));
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', env: { PROVIDER_FALLBACK: 'engine', ENGINE_URL: engine.url, ENGINE_API_KEY: engine.apiKey, PROVIDER_TIMEOUT_MS: ENGINE_ANSWER_MS } });
  const a = await upload('coffee.jpg');
  const b = await upload('astronaut.jpg');
  for (const id of [a, b]) {
    const job = await stack.waitForState(id, ['succeeded', 'failed'], 180_000);
    expect(job).toMatchObject({ state: 'succeeded', provider: 'engine-fallback', error: null, attempts: 2 });
    const { rows } = await stack.db.query('SELECT provider, state::text, error_code FROM job_attempts WHERE job_id = $1 ORDER BY attempt_no', [id]);
    expect(rows.map((r) => r.provider)).toEqual(['modelslab', 'engine-fallback']);
    expect(['provider_payment_required', 'provider_unavailable']).toContain(rows[0].error_code);
    expect(rows[1].state).toBe('succeeded');
  }
});
