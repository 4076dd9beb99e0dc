/**
 * The engine over real HTTP with the real model: the ModelsLab contract (sync success, processing + fetch,
 * webhook, base64, 429, key), each option's effect, bad inputs, input formats and EXIF, and a quality floor.
 *
 * Engines run as child processes started the way maskflow starts them (main.ts, ENGINE_* env): onnxruntime-node
 * cannot run inside jest's VM-module sandbox (its native outputs are Float32Arrays of another realm, which
 * onnxruntime-common's instanceof check rejects), and this also tests main.ts itself.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { buildComposite, type CompositeSpec } from '../../../eval/composite-set.js';
import { iou } from '../../../eval/metrics.js';

const FIXTURES = path.resolve('test/fixtures/engine');
const fixture = (name: string) => readFile(path.join(FIXTURES, name));
const API = '/api/v6/image_editing';

interface TestEngine {
  url: string;
  close(): Promise<void>;
}
let engine: TestEngine;

/** Starts `main.ts` with ENGINE_* overrides on a free port; resolves once it logs "engine ready". */
function startEngine(over: Record<string, string> = {}): Promise<TestEngine> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/engine/src/main.ts'], {
    env: { ...process.env, ENGINE_PORT: '0', LOG_LEVEL: 'info', ENGINE_SYNC_WAIT_MS: '60000', ENGINE_THREADS: '2', ENGINE_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8,::1/128', ...over },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`engine did not start: ${stderr}`)), 90_000);
    child.once('exit', (code) => reject(new Error(`engine exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const log = JSON.parse(line) as { msg?: string; url?: string };
      if (log.msg !== 'engine ready' || !log.url) return;
      clearTimeout(timer);
      resolve({
        url: log.url,
        close: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}

async function post(base: string, route: string, body: unknown): Promise<{ http: number; json: Record<string, any> }> {
  const res = await fetch(base + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { http: res.status, json: (await res.json()) as Record<string, any> };
}

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Submits an image and returns the PNG produced (decoded raw pixels + channel count). */
async function cutout(image: Buffer, options: Record<string, unknown> = {}) {
  const { http, json } = await post(engine.url, `${API}/removebg_mask`, { key: 'k', image: image.toString('base64'), ...options });
  expect(http).toBe(200);
  expect(json.status).toBe('success');
  const res = await fetch(json.output[0]);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('image/png');
  const png = Buffer.from(await res.arrayBuffer());
  const meta = await sharp(png).metadata();
  // sharp decodes a 1-channel PNG to 3 channels unless one is extracted: keep what the file really holds.
  const decoder = meta.channels === 1 ? sharp(png).extractChannel(0) : sharp(png);
  const { data, info } = await decoder.raw().toBuffer({ resolveWithObject: true });
  return { json, png, meta, data, info };
}

function channel(data: Buffer, channels: number, c: number): Uint8Array {
  const out = new Uint8Array(data.length / channels);
  for (let i = 0; i < out.length; i++) out[i] = data[i * channels + c]!;
  return out;
}

beforeAll(async () => {
  engine = await startEngine();
}, 120_000);

afterAll(async () => {
  await engine?.close();
});

describe('HTTP contract', () => {
  it('answers success synchronously with an output URL it serves, and /health is ready', async () => {
    const health = await fetch(`${engine.url}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe('ok');
    const { json, meta } = await cutout(await fixture('chelsea.jpg'), { track_id: 7, seed: 12345 });
    expect(json).toMatchObject({ status: 'success', id: expect.any(Number), proxy_links: [expect.any(String)] });
    expect(typeof json.generationTime).toBe('number');
    expect(json.output[0]).toBe(`${engine.url}/outputs/${json.id}/0.png`);
    expect(json.meta).toMatchObject({ seed: 12345, track_id: 7, width: 360 });
    expect(meta).toMatchObject({ format: 'png', channels: 4, width: 360, height: 239 }); // chelsea.jpg is 360x239
    const again = await post(engine.url, `${API}/fetch/${json.id}`, { key: 'k' });
    expect(again.json).toMatchObject({ status: 'success', id: json.id, output: json.output });
  });

  it('answers base64 outputs when base64 is true, data: prefix accepted', async () => {
    const img = await fixture('chelsea.jpg');
    const { http, json } = await post(engine.url, `${API}/removebg_mask`, { key: 'k', image: `data:image/jpeg;base64,${img.toString('base64')}`, base64: true });
    expect(http).toBe(200);
    expect(json.status).toBe('success');
    const png = Buffer.from(json.output[0], 'base64');
    expect((await sharp(png).metadata()).format).toBe('png');
  });

  it('answers processing with eta, fetch_result and future_links when busy; fetch and the webhook deliver the result', async () => {
    const calls: any[] = [];
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        calls.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const busy = await startEngine({ ENGINE_SYNC_WAIT_MS: '0', ENGINE_QUEUE_LIMIT: '2' });
    try {
      const a = await post(busy.url, `${API}/removebg_mask`, { key: 'k', image: (await fixture('coffee.jpg')).toString('base64'), webhook: hook, track_id: 41 });
      const b = await post(busy.url, `${API}/removebg_mask`, { key: 'k', image: (await fixture('rocket.jpg')).toString('base64'), webhook: hook, track_id: 42, only_mask: true });
      const c = await post(busy.url, `${API}/removebg_mask`, { key: 'k', image: (await fixture('astronaut.jpg')).toString('base64') });
      for (const p of [a, b]) {
        expect(p.http).toBe(200);
        expect(p.json).toMatchObject({ status: 'processing', output: [], id: expect.any(Number), eta: expect.any(Number) });
        expect(p.json.fetch_result).toBe(`${busy.url}${API}/fetch/${p.json.id}`);
        expect(p.json.future_links).toEqual([`${busy.url}/outputs/${p.json.id}/0.png`]);
      }
      expect(b.json.eta).toBeGreaterThanOrEqual(a.json.eta);
      expect(c.http).toBe(429);
      expect(c.json).toMatchObject({ status: 'error', retry_after: expect.any(Number) });
      expect(c.json.message).toMatch(/rate limit|queue is full/i);

      const done = await until(async () => {
        const f = await post(busy.url, `${API}/fetch/${b.json.id}`, { key: 'k' });
        return f.json.status === 'success' ? f.json : undefined;
      });
      expect(done.output).toEqual(b.json.future_links);
      const mask = await sharp(Buffer.from(await (await fetch(done.output[0])).arrayBuffer())).metadata();
      expect(mask.channels).toBe(1);
      await until(() => (calls.length >= 2 ? true : undefined));
      const byTrack = Object.fromEntries(calls.map((c) => [c.track_id, c]));
      expect(byTrack[41]).toMatchObject({ status: 'success', id: a.json.id, output: a.json.future_links, generationTime: expect.any(Number), meta: expect.any(Object) });
      expect(byTrack[42]).toMatchObject({ status: 'success', id: b.json.id });
    } finally {
      await busy.close();
      receiver.close();
    }
  });

  it('calls the webhook with status failed for an image that fails in the queue', async () => {
    const calls: any[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => { calls.push(JSON.parse(body)); res.writeHead(200).end(); });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const busy = await startEngine({ ENGINE_SYNC_WAIT_MS: '0' });
    try {
      const jpeg = await fixture('coffee.jpg');
      const truncated = jpeg.subarray(0, Math.floor(jpeg.length * 0.6));
      const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
      const p = await post(busy.url, `${API}/removebg_mask`, { key: 'k', image: truncated.toString('base64'), webhook: hook, track_id: 9 });
      expect(p.json.status).toBe('processing');
      const call = await until(() => calls[0]);
      expect(call).toMatchObject({ status: 'failed', id: p.json.id, track_id: 9 });
      expect(call.message).toMatch(/truncated/);
      const f = await post(busy.url, `${API}/fetch/${p.json.id}`, { key: 'k' });
      expect(f.json).toMatchObject({ status: 'error', message: expect.stringMatching(/truncated/) });
    } finally {
      await busy.close();
      receiver.close();
    }
  });

  it('checks the key when ENGINE_API_KEY is set, and answers unknown ids and bad bodies in the error shape', async () => {
    const keyed = await startEngine({ ENGINE_API_KEY: 'secret' });
    try {
      const bad = await post(keyed.url, `${API}/removebg_mask`, { key: 'wrong', image: 'x' });
      expect(bad.http).toBe(401);
      expect(bad.json).toEqual({ status: 'error', message: expect.any(String) });
      expect(bad.json.message).not.toContain('secret');
      expect((await post(keyed.url, `${API}/fetch/1`, {})).http).toBe(401);
      const unknown = await post(keyed.url, `${API}/fetch/123`, { key: 'secret' });
      expect(unknown.json.status).toBe('error');
      const noImage = await post(keyed.url, `${API}/removebg_mask`, { key: 'secret' });
      expect(noImage).toMatchObject({ http: 400, json: { status: 'error', message: expect.stringContaining('image') } });
      const badOpt = await post(keyed.url, `${API}/removebg_mask`, { key: 'secret', image: 'aGk=', alpha_matting_erode_size: 9 });
      expect(badOpt).toMatchObject({ http: 400, json: { status: 'error', message: expect.stringContaining('alpha_matting_erode_size') } });
      const res = await fetch(`${keyed.url}${API}/removebg_mask`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ status: 'error' });
    } finally {
      await keyed.close();
    }
  });
});

describe('options', () => {
  it('only_mask is a 1-channel PNG; inverse_mask is its exact complement; the RGBA alpha equals the mask', async () => {
    const img = await fixture('chelsea.jpg');
    const mask = await cutout(img, { only_mask: true });
    expect(mask.meta.channels).toBe(1);
    expect(mask.info.channels).toBe(1);
    const inv = await cutout(img, { only_mask: true, inverse_mask: true });
    expect(inv.info.channels).toBe(1);
    for (let i = 0; i < mask.data.length; i += 97) expect(inv.data[i]).toBe(255 - mask.data[i]!);
    const rgba = await cutout(img);
    expect(rgba.info.channels).toBe(4);
    const alpha = channel(rgba.data, 4, 3);
    for (let i = 0; i < alpha.length; i += 97) expect(alpha[i]).toBe(mask.data[i]);
    const invRgba = await cutout(img, { inverse_mask: true });
    const invAlpha = channel(invRgba.data, 4, 3);
    for (let i = 0; i < alpha.length; i += 97) expect(invAlpha[i]).toBe(255 - alpha[i]!);
  });

  it('post_process_mask gives a binary mask; alpha_matting gives soft values in the edge band', async () => {
    const img = await fixture('chelsea.jpg');
    const pp = await cutout(img, { only_mask: true, post_process_mask: true });
    expect([...new Set(pp.data)].sort((a, b) => a - b)).toEqual([0, 255]);
    const plain = await cutout(img, { only_mask: true });
    const am = await cutout(img, { only_mask: true, alpha_matting: true, alpha_matting_erode_size: 5 });
    const soft = (d: Buffer) => d.filter((v) => v > 10 && v < 245).length;
    expect(soft(am.data)).toBeGreaterThan(100);
    expect(am.data).not.toEqual(plain.data);
    const hard = await cutout(img, { only_mask: true, alpha_matting: true, alpha_matting_erode_size: 0, alpha_matting_foreground_threshold: 128, alpha_matting_background_threshold: 0 });
    expect(soft(hard.data)).toBeLessThan(soft(am.data));
  });
});

describe('quality floor on composites with known alpha', () => {
  const specs: CompositeSpec[] = [
    { name: 'q-chelsea-ellipse', fg: 'chelsea.jpg', bg: 'grass.jpg', shape: 'ellipse', width: 320, height: 240, hair: false, feather: 0, bgBlur: 3 },
    { name: 'q-coffee-roundrect', fg: 'coffee.jpg', bg: 'gravel.jpg', shape: 'roundrect', width: 360, height: 270, hair: false, feather: 1, bgBlur: 4 },
    { name: 'q-rocket-star', fg: 'rocket.jpg', bg: 'brick.jpg', shape: 'star', width: 400, height: 300, hair: false, feather: 0, bgBlur: 3 },
    { name: 'q-astronaut-horse', fg: 'astronaut.jpg', bg: 'gravel.jpg', shape: 'horse', width: 400, height: 328, hair: false, feather: 0, bgBlur: 5 },
  ];
  it('mean IoU >= 0.90 with default options, each image >= 0.80', async () => {
    const scores: number[] = [];
    for (const spec of specs) {
      const sample = await buildComposite(spec, FIXTURES);
      const out = await cutout(sample.png, { only_mask: true });
      expect(out.info).toMatchObject({ width: sample.width, height: sample.height, channels: 1 });
      scores.push(iou(out.data, sample.alpha));
    }
    expect(Math.min(...scores)).toBeGreaterThanOrEqual(0.8);
    expect(scores.reduce((a, b) => a + b) / scores.length).toBeGreaterThanOrEqual(0.9);
  });
});

describe('bad inputs get the provider error shape with a clear message', () => {
  const reject = async (image: string | Buffer, pattern: RegExp, over: Record<string, string> = {}) => {
    const target = Object.keys(over).length ? await startEngine(over) : engine;
    try {
      const { http, json } = await post(target.url, `${API}/removebg_mask`, { key: 'k', image: typeof image === 'string' ? image : image.toString('base64') });
      expect(http).toBe(400);
      expect(json).toEqual({ status: 'error', message: expect.stringMatching(pattern) });
    } finally {
      if (target !== engine) await target.close();
    }
  };
  it('not an image', () => reject(Buffer.from('hello, this is plain text, not a picture'), /not a supported image/));
  it('zero size', () => reject('', /image/));
  it('truncated', async () => {
    const jpeg = await fixture('chelsea.jpg');
    await reject(jpeg.subarray(0, Math.floor(jpeg.length / 2)), /truncated/);
    await reject(await fixture('truncated.jpg'), /truncated/);
  });
  it('too many pixels, checked from the header (a 370-byte PNG declaring 30000x30000 is not decoded)', async () => {
    const chunk = (type: string, data: Buffer) => {
      const body = Buffer.concat([Buffer.from(type), data]);
      const len = Buffer.alloc(4), crc = Buffer.alloc(4);
      len.writeUInt32BE(data.length);
      crc.writeUInt32BE(zlib.crc32(body));
      return Buffer.concat([len, body, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(30000, 0);
    ihdr.writeUInt32BE(30000, 4);
    ihdr[8] = 8; // 8-bit greyscale
    const bomb = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', zlib.deflateSync(Buffer.alloc(30001 * 10))),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    const started = Date.now();
    await reject(bomb, /900000000 pixels, over the limit of 40000000/);
    expect(Date.now() - started).toBeLessThan(5000);
  }, 60_000);
  it('too large a body / image', () => reject(Buffer.alloc(4096, 1), /limit of 1000 bytes/, { ENGINE_MAX_INPUT_BYTES: '1000' }));
  it('an image URL that times out', async () => {
    const slow = createServer(() => undefined); // never answers
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    try {
      await reject(`http://127.0.0.1:${(slow.address() as AddressInfo).port}/a.png`, /did not answer within 300 ms/, { ENGINE_FETCH_TIMEOUT_MS: '300' });
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  });
  it('an animated image: the first frame is processed and the answer says so', async () => {
    const { json, info } = await cutout(await fixture('no_time_for_that_tiny.gif'));
    expect(json.meta.notes.join(' ')).toMatch(/animated image with 24 frames: only the first frame/);
    expect(info).toMatchObject({ width: 14, height: 25, channels: 4 });
  });
});

describe('input formats', () => {
  const W = 160, H = 120;
  const base = () =>
    sharp(FIXTURES + '/chelsea.jpg').resize(W, H, { fit: 'fill' });
  it('EXIF orientation is honoured (output has the displayed size and content)', async () => {
    const upright = await cutout(await base().jpeg().toBuffer(), { only_mask: true });
    // Stored rotated 90° clockwise with orientation 8 (display = rotate 90° counter-clockwise back).
    const stored = await base().rotate(90).jpeg().withMetadata({ orientation: 8 }).toBuffer();
    expect((await sharp(stored).metadata()).width).toBe(H);
    const out = await cutout(stored, { only_mask: true });
    expect(out.info).toMatchObject({ width: W, height: H, channels: 1 });
    expect(iou(out.data, upright.data)).toBeGreaterThan(0.9);
  });
  it.each([
    ['grey', () => base().greyscale().png().toBuffer()],
    ['CMYK JPEG', () => base().toColourspace('cmyk').jpeg().toBuffer()],
    ['16-bit PNG', () => base().toColourspace('rgb16').png().toBuffer()],
    ['palette PNG', () => base().png({ palette: true, colours: 64 }).toBuffer()],
  ])('%s input gives an RGBA cut-out at the input size', async (_, make) => {
    const input = await make();
    const out = await cutout(input);
    expect(out.info).toMatchObject({ width: W, height: H, channels: 4 });
    expect(out.meta.depth).toBe('uchar');
    const alpha = channel(out.data, 4, 3);
    expect(alpha.some((v) => v > 200)).toBe(true);
  });
  it('an input with alpha keeps its transparency', async () => {
    const rgba = await base().ensureAlpha().raw().toBuffer();
    for (let y = 0; y < H; y++) for (let x = 0; x < 40; x++) rgba[(y * W + x) * 4 + 3] = 0;
    const png = await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png().toBuffer();
    const out = await cutout(png);
    expect(out.info.channels).toBe(4);
    const alpha = channel(out.data, 4, 3);
    for (let y = 0; y < H; y += 7) for (let x = 0; x < 40; x += 5) expect(alpha[y * W + x]).toBe(0);
  });
});
