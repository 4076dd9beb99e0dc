/**
 * The ModelsLab emulator over real HTTP: global fetch against it, and a tiny receiver server in the test
 * that serves input images and records webhook calls. No fixed sleeps: conditions are polled with a timeout.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import sharp from 'sharp';
import { SUBMIT_PATH, startModelslabEmulator, type EmulatorOptions, type ModelslabEmulator } from './modelslab-emulator.js';

const KEY = 'test-key';

interface ProviderAnswer {
  status: string;
  id?: number;
  message?: string;
  messege?: string;
  output?: string[];
  proxy_links?: string[];
  future_links?: string[];
  fetch_result?: string;
  eta?: number;
  tip?: string;
  retry_after?: number;
  generationTime?: number;
  track_id?: number | null;
  meta?: Record<string, unknown>;
}

interface HookCall {
  name: string;
  body: ProviderAnswer;
  at: number;
}

/** Serves GET /images/{name} and records POST /hooks/{name}; answers hooks with `hookStatus`. */
interface Receiver {
  url: string;
  images: Map<string, Buffer>;
  calls: HookCall[];
  hookStatus: number;
  callsTo(name: string): HookCall[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const receiver = { images: new Map<string, Buffer>(), calls: [] as HookCall[], hookStatus: 200 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const [, kind, name] = (req.url ?? '').split('/');
      if (req.method === 'GET' && kind === 'images' && name && receiver.images.has(name)) {
        const png = receiver.images.get(name)!;
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }).end(png);
      } else if (req.method === 'POST' && kind === 'hooks' && name) {
        receiver.calls.push({ name, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ProviderAnswer, at: Date.now() });
        res.writeHead(receiver.hookStatus).end();
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}`,
    callsTo: (name: string) => receiver.calls.filter((c) => c.name === name),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

async function until<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 4000): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function shape(color: string, left: number, top: number, w = 64, h = 48): Promise<Buffer> {
  const block = await sharp({ create: { width: 20, height: 16, channels: 3, background: color } }).png().toBuffer();
  return sharp({ create: { width: w, height: h, channels: 3, background: 'white' } })
    .composite([{ input: block, left, top }])
    .png()
    .toBuffer();
}

let emu: ModelslabEmulator;
let rx: Receiver;
let red: Buffer; // 64x48, red 20x16 block at (22,16) on white
let blue: Buffer; // 64x48, blue block at (4,4)
let wide: Buffer; // 80x30

async function start(options: EmulatorOptions = {}): Promise<ModelslabEmulator> {
  emu = await startModelslabEmulator({ apiKey: KEY, firstId: 1, ...options });
  return emu;
}

async function post(url: string, body: unknown): Promise<{ http: number; json: ProviderAnswer }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { http: res.status, json: (await res.json()) as ProviderAnswer };
}

const submit = (body: Record<string, unknown>) => post(`${emu.url}${SUBMIT_PATH}`, { key: KEY, ...body });
const poll = (id: number | string, key = KEY) => post(`${emu.url}/api/v6/image_editing/fetch/${id}`, { key });

async function download(url: string): Promise<{ http: number; type: string | null; length: string | null; body: Buffer }> {
  const res = await fetch(url);
  return { http: res.status, type: res.headers.get('content-type'), length: res.headers.get('content-length'), body: Buffer.from(await res.arrayBuffer()) };
}

async function rawPixels(png: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const meta = await sharp(png).metadata();
  const img = meta.channels === 1 ? sharp(png).extractChannel(0) : sharp(png);
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: meta.channels! };
}

beforeAll(async () => {
  [red, blue, wide] = await Promise.all([shape('red', 22, 16), shape('blue', 4, 4), shape('green', 30, 7, 80, 30)]);
});

beforeEach(async () => {
  rx = await startReceiver();
  rx.images.set('red.png', red);
  rx.images.set('blue.png', blue);
  rx.images.set('wide.png', wide);
});

afterEach(async () => {
  await emu?.close();
  await rx.close();
});

describe('synchronous success', () => {
  it('downloads the URL image and serves a real RGBA PNG at its size, alpha cut out of the background', async () => {
    await start({ defaults: { answer: 'success', latencyMs: 20 } });
    const { http: status, json } = await submit({ image: `${rx.url}/images/red.png`, track_id: 5, seed: 9 });
    expect(status).toBe(200);
    expect(json).toMatchObject({ status: 'success', id: 1, meta: { only_mask: false, inverse_mask: false, seed: 9, track_id: 5, image: `${rx.url}/images/red.png` } });
    expect(json.generationTime).toBeGreaterThanOrEqual(0.02);
    expect(json.output).toEqual([`${emu.url}/outputs/1/0.png`]);
    expect(json.proxy_links).toEqual(json.output);

    const file = await download(json.output![0]!);
    expect(file).toMatchObject({ http: 200, type: 'image/png', length: String(file.body.length) });
    const px = await rawPixels(file.body);
    expect(px).toMatchObject({ width: 64, height: 48, channels: 4 });
    const at = (x: number, y: number) => [...px.data.subarray((y * 64 + x) * 4, (y * 64 + x) * 4 + 4)];
    expect(at(31, 23)).toEqual([255, 0, 0, 255]); // inside the red block: kept, opaque
    expect(at(0, 0)[3]).toBe(0); // the white background: transparent
    expect(at(60, 44)[3]).toBe(0);

    expect((await poll(1)).json).toMatchObject({ status: 'success', id: 1, output: json.output });
    expect(emu.stats()).toMatchObject({ submissions: 1, inFlight: 0, maxInFlight: 1 });
    expect(emu.submissions[0]).toMatchObject({ id: 1, trackId: 5, outcome: 'success' });
  });

  it('only_mask gives a 1-channel mask equal to the alpha; inverse_mask its complement; base64 input with or without data: prefix', async () => {
    await start({ defaults: { answer: 'success', latencyMs: 0 } });
    const b64 = wide.toString('base64');
    const [rgba, mask, inverse] = await Promise.all([
      submit({ image: b64 }),
      submit({ image: `data:image/png;base64,${b64}`, only_mask: true }),
      submit({ image: b64, only_mask: true, inverse_mask: true }),
    ]);
    for (const a of [rgba, mask, inverse]) expect(a.json.status).toBe('success');
    const [pRgba, pMask, pInv] = await Promise.all([rgba, mask, inverse].map(async (a) => rawPixels((await download(a.json.output![0]!)).body)));
    expect(pRgba).toMatchObject({ width: 80, height: 30, channels: 4 });
    expect(pMask).toMatchObject({ width: 80, height: 30, channels: 1 });
    expect(pInv).toMatchObject({ width: 80, height: 30, channels: 1 });
    const alpha = Buffer.from(Array.from({ length: 80 * 30 }, (_, i) => pRgba.data[i * 4 + 3]!));
    expect(pMask.data.equals(alpha)).toBe(true);
    expect(new Set(pMask.data).size).toBeGreaterThan(1); // a real mask, not a constant
    for (let i = 0; i < pMask.data.length; i++) {
      if (pMask.data[i]! + pInv.data[i]! !== 255) throw new Error(`pixel ${i}: ${pMask.data[i]} + ${pInv.data[i]} != 255`);
    }
  });

  it('is deterministic per input and gives different bytes for different inputs', async () => {
    await start({ defaults: { answer: 'success', latencyMs: 0 } });
    const outputs = await Promise.all(
      [red, red, blue].map(async (img) => (await download((await submit({ image: img.toString('base64'), only_mask: true })).json.output![0]!)).body),
    );
    expect(outputs[0]!.equals(outputs[1]!)).toBe(true);
    expect(outputs[0]!.equals(outputs[2]!)).toBe(false);
  });

  it('answers with base64 PNGs in `output` when base64: true', async () => {
    await start({ defaults: { answer: 'success', latencyMs: 0 } });
    const { json } = await submit({ image: `${rx.url}/images/red.png`, base64: true });
    expect(json.status).toBe('success');
    expect(json.output![0]).not.toMatch(/^http/);
    const png = Buffer.from(json.output![0]!, 'base64');
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 64, height: 48, channels: 4 });
    expect(json.proxy_links![0]).toBe(`${emu.url}/outputs/${json.id}/0.png`);
    expect((await download(json.proxy_links![0]!)).body.equals(png)).toBe(true);
  });

  it('calls the webhook after a sync success only when webhookOnSuccess is set', async () => {
    await start({ defaults: { answer: 'success', latencyMs: 0 } });
    const off = await submit({ image: `${rx.url}/images/red.png`, webhook: `${rx.url}/hooks/off`, track_id: 1 });
    expect(off.json.status).toBe('success');
    expect(emu.stats()).toMatchObject({ webhooksPending: 0, webhooksSent: 0 });

    emu.setDefaults({ webhookOnSuccess: true });
    const on = await submit({ image: `${rx.url}/images/red.png`, webhook: `${rx.url}/hooks/on`, track_id: 2 });
    const [call] = await until(() => rx.callsTo('on').length > 0 && rx.callsTo('on'), 'the webhook');
    expect(call!.body).toMatchObject({ status: 'success', id: on.json.id, track_id: 2, output: on.json.output });
    expect(rx.callsTo('off')).toHaveLength(0);
  });

  it('delays the output body by outputDelayMs', async () => {
    await start({ defaults: { answer: 'success', latencyMs: 0, outputDelayMs: 200 } });
    const { json } = await submit({ image: `${rx.url}/images/red.png` });
    const t0 = Date.now();
    const file = await download(json.output![0]!);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(file.body.length).toBe(Number(file.length));
  });
});

describe('processing answers, webhooks and polling', () => {
  it('webhook once: processing answer, fetch says processing until ready, then one webhook and fetch success', async () => {
    await start({ defaults: { latencyMs: 300, etaSeconds: 3 } });
    const t0 = Date.now();
    const { http: status, json } = await submit({ image: `${rx.url}/images/red.png`, webhook: `${rx.url}/hooks/once`, track_id: 42 });
    expect(status).toBe(200);
    expect(json).toMatchObject({ status: 'processing', id: 1, eta: 3, output: [], proxy_links: [], fetch_result: `${emu.url}/api/v6/image_editing/fetch/1` });
    expect(json.tip).toEqual(expect.any(String));
    expect(json.message).toEqual(expect.any(String));
    expect(json.future_links).toEqual([`${emu.url}/outputs/1/0.png`]);

    expect((await post(json.fetch_result!, { key: KEY })).json).toMatchObject({ status: 'processing', id: 1 });
    expect((await download(json.future_links![0]!)).http).toBe(404);
    expect(emu.stats().inFlight).toBe(1);

    const [call] = await until(() => rx.callsTo('once').length > 0 && rx.callsTo('once'), 'the webhook');
    expect(call!.at - t0).toBeGreaterThanOrEqual(290);
    expect(call!.body).toMatchObject({ status: 'success', id: 1, track_id: 42, output: json.future_links, meta: { track_id: 42 } });
    expect(call!.body.generationTime).toBeGreaterThanOrEqual(0.3);

    await until(() => emu.stats().webhooksPending === 0, 'no webhook pending');
    expect(rx.callsTo('once')).toHaveLength(1);
    expect(emu.stats()).toMatchObject({ webhooksSent: 1, webhookFailures: 0, inFlight: 0 });
    expect((await poll(1)).json).toMatchObject({ status: 'success', id: 1, output: json.future_links });
    expect(await sharp((await download(json.future_links![0]!)).body).metadata()).toMatchObject({ width: 64, height: 48, channels: 4 });
  });

  it('webhook twice: the same payload arrives two times, webhookDelayMs apart', async () => {
    await start({ defaults: { latencyMs: 20, webhook: 'twice', webhookDelayMs: 80 } });
    await submit({ image: `${rx.url}/images/red.png`, webhook: `${rx.url}/hooks/twice`, track_id: 7 });
    const calls = await until(() => rx.callsTo('twice').length >= 2 && rx.callsTo('twice'), 'two webhooks');
    expect(calls[1]!.body).toEqual(calls[0]!.body);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(60);
    await until(() => emu.stats().webhooksPending === 0, 'no webhook pending');
    expect(rx.callsTo('twice')).toHaveLength(2);
    expect(emu.stats().webhooksSent).toBe(2);
  });

  it('webhook never: the result is only found by polling', async () => {
    await start({ defaults: { latencyMs: 50, webhook: 'never' } });
    const { json } = await submit({ image: `${rx.url}/images/red.png`, webhook: `${rx.url}/hooks/never`, track_id: 8 });
    await until(async () => (await poll(json.id!)).json.status === 'success', 'fetch success');
    expect(emu.stats()).toMatchObject({ webhooksPending: 0, webhooksSent: 0 });
    expect(rx.calls).toHaveLength(0);
  });

  it('webhook late: the result is ready (fetch success) well before the webhook', async () => {
    await start({ defaults: { latencyMs: 30, webhook: 'late', webhookDelayMs: 300 } });
    const { json } = await submit({ image: `${rx.url}/images/red.png`, webhook: `${rx.url}/hooks/late`, track_id: 9 });
    await until(async () => (await poll(json.id!)).json.status === 'success', 'fetch success');
    const readyAt = Date.now();
    expect(rx.callsTo('late')).toHaveLength(0);
    expect(emu.stats().webhooksPending).toBe(1);
    const [call] = await until(() => rx.callsTo('late').length > 0 && rx.callsTo('late'), 'the late webhook');
    expect(call!.at - readyAt).toBeGreaterThanOrEqual(200);
    expect(call!.body).toMatchObject({ status: 'success', id: json.id, track_id: 9 });
  });

  it('counts webhook failures (receiver answers 500, receiver down) and keeps serving', async () => {
    await start({ defaults: { latencyMs: 0 } });
    rx.hookStatus = 500;
    await submit({ image: `${rx.url}/images/red.png`, webhook: `${rx.url}/hooks/err`, track_id: 1 });
    await submit({ image: `${rx.url}/images/red.png`, webhook: 'http://127.0.0.1:1/hooks/down', track_id: 2 });
    await until(() => emu.stats().webhookFailures === 2, 'two webhook failures');
    expect(emu.stats()).toMatchObject({ webhooksSent: 2, webhooksPending: 0 });
    expect(rx.callsTo('err')).toHaveLength(1);
    expect((await submit({ image: `${rx.url}/images/red.png` })).json.status).toBe('processing');
  });
});

describe('failed jobs', () => {
  it('fail: true -> failed webhook and failed fetch, no output file', async () => {
    await start({ defaults: { latencyMs: 30, fail: true } });
    const { json } = await submit({ image: `${rx.url}/images/red.png`, webhook: `${rx.url}/hooks/fail`, track_id: 77 });
    expect(json.status).toBe('processing');
    const [call] = await until(() => rx.callsTo('fail').length > 0 && rx.callsTo('fail'), 'the failed webhook');
    expect(call!.body).toEqual({ status: 'failed', id: json.id, message: expect.any(String), track_id: 77 });
    const polled = (await poll(json.id!)).json;
    expect(polled).toMatchObject({ status: 'failed', id: json.id, message: call!.body.message });
    expect((await download(json.future_links![0]!)).http).toBe(404);
  });

  it('an undecodable or missing input image fails the job with a message, sync or async, without crashing', async () => {
    await start({ defaults: { latencyMs: 0 } });
    const garbage = Buffer.from('this is not an image at all').toString('base64');
    const bad = await submit({ image: garbage, webhook: `${rx.url}/hooks/garbage` });
    const missing = await submit({ image: `${rx.url}/images/nope.png`, webhook: `${rx.url}/hooks/missing` });
    const [g] = await until(() => rx.callsTo('garbage').length > 0 && rx.callsTo('garbage'), 'garbage webhook');
    const [m] = await until(() => rx.callsTo('missing').length > 0 && rx.callsTo('missing'), 'missing webhook');
    expect(g!.body).toMatchObject({ status: 'failed', id: bad.json.id, message: expect.stringMatching(/decoded/) });
    expect(m!.body).toMatchObject({ status: 'failed', id: missing.json.id, message: expect.stringMatching(/HTTP 404/) });

    emu.setDefaults({ answer: 'success' });
    const sync = await submit({ image: garbage });
    expect(sync).toEqual({ http: 200, json: { status: 'error', id: sync.json.id, message: expect.stringMatching(/decoded/) } });
    expect(emu.submissions.at(-1)!.outcome).toBe('failed');
    expect((await submit({ image: `${rx.url}/images/red.png` })).json.status).toBe('success');
  });
});

describe('concurrency', () => {
  it('answers 429 with retry_after above maxInFlight; a burst of 20 never has more than the limit in flight', async () => {
    // The latency is long so the whole burst arrives while the first three are in flight, however busy the machine.
    await start({ maxInFlight: 3, retryAfterSeconds: 2, defaults: { latencyMs: 4000, webhook: 'never' } });
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => submit({ image: `${rx.url}/images/red.png`, track_id: i })));
    const accepted = burst.filter((a) => a.http === 200);
    const limited = burst.filter((a) => a.http === 429);
    expect(accepted).toHaveLength(3);
    expect(accepted.every((a) => a.json.status === 'processing')).toBe(true);
    expect(limited).toHaveLength(17);
    for (const a of limited) expect(a.json).toEqual({ status: 'error', message: expect.stringMatching(/^Rate limit exceeded/), retry_after: 2 });
    expect(emu.stats()).toMatchObject({ submissions: 20, rateLimited: 17, inFlight: 3, maxInFlight: 3 });

    // still in flight until the results are ready, not until the answer was sent
    expect((await submit({ image: `${rx.url}/images/red.png` })).http).toBe(429);
    await until(() => emu.stats().inFlight === 0, 'results ready');
    expect((await submit({ image: `${rx.url}/images/red.png` })).http).toBe(200);
    expect(emu.submissions.filter((s) => s.outcome === 'rate_limited')).toHaveLength(18);
    expect(emu.stats().submissionsByTrackId.get(0)).toBe(1);
  });

  it('sync answers hold their slot until answered; setMaxInFlight changes the limit', async () => {
    await start({ maxInFlight: 2, defaults: { answer: 'success', latencyMs: 3000 } });
    emu.setMaxInFlight(4);
    const burst = await Promise.all(Array.from({ length: 20 }, () => submit({ image: `${rx.url}/images/blue.png` })));
    expect(burst.filter((a) => a.json.status === 'success')).toHaveLength(4);
    expect(burst.filter((a) => a.http === 429)).toHaveLength(16);
    expect(emu.stats()).toMatchObject({ maxInFlight: 4, inFlight: 0 });
  });
});

describe('errors', () => {
  it('401 for a bad or missing key, on submit and fetch', async () => {
    await start();
    const wrong = await post(`${emu.url}${SUBMIT_PATH}`, { key: 'nope', image: `${rx.url}/images/red.png` });
    expect(wrong).toEqual({ http: 401, json: { status: 'error', message: expect.any(String) } });
    expect(wrong.json.message).not.toContain('nope');
    expect((await post(`${emu.url}${SUBMIT_PATH}`, { image: `${rx.url}/images/red.png` })).http).toBe(401);
    const { json } = await submit({ image: `${rx.url}/images/red.png` });
    expect((await poll(json.id!, 'nope')).http).toBe(401);
    expect(emu.stats()).toMatchObject({ errors: 2, submissions: 3 });
  });

  it('400 for a missing image, bad option types or ranges, a bad webhook URL, a non-JSON body', async () => {
    await start();
    const image = `${rx.url}/images/red.png`;
    const cases: Record<string, unknown>[] = [
      {},
      { image: '' },
      { image: 12 },
      { image: 'not base64 !!' },
      { image, only_mask: 'yes' },
      { image, track_id: 'abc' },
      { image, track_id: 1.5 },
      { image, alpha_matting_erode_size: 9 },
      { image, alpha_matting_foreground_threshold: 241 },
      { image, webhook: 'not a url' },
    ];
    for (const body of cases) {
      const a = await submit(body);
      expect({ body, http: a.http, status: a.json.status, message: typeof a.json.message }).toEqual({ body, http: 400, status: 'error', message: 'string' });
    }
    expect((await post(`${emu.url}${SUBMIT_PATH}`, '{not json')).http).toBe(400);
    expect((await submit({ image, webhook: null, track_id: null, seed: null })).http).toBe(200);
  });

  it('forced errors scripted per request: 500, then 402, then HTTP 200 status error (misspelled), then success', async () => {
    const script = [
      { error: { httpStatus: 500, message: 'Server error' } },
      { error: { httpStatus: 402, message: 'Insufficient credits' } },
      { error: { httpStatus: 503, message: 'Out of capacity', bodyStatus200: true }, useMisspelledMessege: true },
    ];
    let calls = 0;
    await start({ defaults: { answer: 'success', latencyMs: 0 }, decide: (rec) => (rec.trackId === 1 ? script[calls++] : undefined) });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await submit({ image: `${rx.url}/images/red.png`, track_id: 1 }));
    expect(answers[0]).toEqual({ http: 500, json: { status: 'error', message: 'Server error' } });
    expect(answers[1]).toEqual({ http: 402, json: { status: 'error', message: 'Insufficient credits' } });
    expect(answers[2]).toEqual({ http: 200, json: { status: 'error', messege: 'Out of capacity' } });
    expect(answers[3]!.json.status).toBe('success');
    expect(emu.stats()).toMatchObject({ errors: 3, inFlight: 0, maxInFlight: 1 });
    expect(emu.stats().submissionsByTrackId.get(1)).toBe(4);
    expect(emu.submissions.map((s) => s.outcome)).toEqual(['forced_error', 'forced_error', 'forced_error', 'success']);

    emu.setDecide(undefined);
    emu.setDefaults({ error: { httpStatus: 403, message: 'Forbidden' } });
    expect((await submit({ image: `${rx.url}/images/red.png` })).http).toBe(403);
  });

  it('unknown fetch ids and output files are 404 errors', async () => {
    await start();
    expect(await poll(999)).toEqual({ http: 404, json: { status: 'error', message: expect.any(String) } });
    expect((await poll('abc')).http).toBe(404);
    expect((await download(`${emu.url}/outputs/999/0.png`)).http).toBe(404);
    expect(emu.stats().fetches).toBe(2);
  });
});

describe('lifecycle', () => {
  it('close() cancels pending webhooks, work and slow downloads promptly', async () => {
    await start({ defaults: { latencyMs: 0, webhook: 'late', webhookDelayMs: 5000 } });
    const { json } = await submit({ image: `${rx.url}/images/red.png`, webhook: `${rx.url}/hooks/late`, track_id: 1 });
    await until(async () => (await poll(json.id!)).json.status === 'success', 'fetch success');
    emu.setDefaults({ answer: 'success', outputDelayMs: 5000 });
    const slow = await submit({ image: `${rx.url}/images/red.png` });
    const download = await fetch(slow.json.output![0]!); // headers arrived, the body is 5 s away
    const body = download.arrayBuffer();
    emu.setDefaults({ answer: 'processing', latencyMs: 5000 });
    await submit({ image: `${rx.url}/images/red.png` });
    expect(emu.stats()).toMatchObject({ inFlight: 1, webhooksPending: 1 });
    const t0 = Date.now();
    await emu.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(body).rejects.toThrow();
    expect(rx.calls).toHaveLength(0);
    await expect(fetch(`${emu.url}${SUBMIT_PATH}`, { method: 'POST', body: '{}' })).rejects.toThrow();
  });

  it('the CLI starts it from env vars and prints its base URL', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/emulator/main.ts'], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: { ...process.env, EMULATOR_PORT: '0', EMULATOR_API_KEY: 'cli-key', EMULATOR_MAX_IN_FLIGHT: '2', EMULATOR_LATENCY_MS: '10' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const lines = createInterface({ input: child.stdout! });
      const url = await Promise.race([
        new Promise<string>((resolve) => lines.once('line', resolve)),
        exited.then((code) => Promise.reject(new Error(`the CLI exited with ${code}`))),
      ]);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const ok = await post(`${url}${SUBMIT_PATH}`, { key: 'cli-key', image: red.toString('base64') });
      expect(ok.json.status).toBe('processing');
      expect((await post(`${url}${SUBMIT_PATH}`, { key: KEY, image: red.toString('base64') })).http).toBe(401);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
