/**
 * A stand-in for ModelsLab's asynchronous `removebg_mask` API: a real HTTP server (node:http) for the
 * integration tests, benchmarks and chaos tests. It speaks the provider's contract
 * (see test/../shared reference `modelslab-removebg_mask.md` and PROVIDER_FACTS.md):
 *
 *   POST {url}/api/v6/image_editing/removebg_mask   submit (sync `success`, async `processing`, or `error`)
 *   POST {url}/api/v6/image_editing/fetch/{id}      poll a request with `{key}`
 *   GET  {url}/outputs/{id}/{n}.png                 the output files (temporary links at the real provider)
 *
 * It really downloads (or base64-decodes) the input image and renders a real PNG with sharp; the alpha
 * is "what differs from the border colour" (an ellipse when nothing does), so a coloured shape on a plain
 * background comes out cut out, and different inputs give different bytes.
 *
 * Order of checks on submit: JSON body (400) -> `key` (401) -> parameters (400) -> plan concurrency (429)
 * -> `decide()` / defaults -> forced `error` -> accepted (counts as in flight until the result is ready).
 * Fetches are never rate-limited and never count as in flight.
 *
 * Everything is in memory. `close()` cancels timers, outgoing requests (image downloads, webhooks) and
 * open connections, then waits for the work already running, so jest exits cleanly.
 */
import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

/**
 * once/twice/never/late as named; 'stale' (addition): the result webhook, then `webhookDelayMs` later a stale
 * `processing` webhook for the same request (out of order, as a provider retrying an old call would send it).
 */
export type WebhookMode = 'once' | 'twice' | 'never' | 'late' | 'stale';

export interface Behaviour {
  /** 'success': answer synchronously after the work; 'processing': answer at once, result by webhook/poll. */
  answer: 'success' | 'processing';
  /** Provider work time: sync - delay before the answer; processing - time until the result is ready. */
  latencyMs: number;
  /** How the webhook is called once the result is ready (processing answers; sync too if `webhookOnSuccess`). */
  webhook: WebhookMode;
  /** Extra delay for 'late', and the gap between the two calls for 'twice'. */
  webhookDelayMs: number;
  /** Also call the webhook after a synchronous success (the real provider may). */
  webhookOnSuccess: boolean;
  /** Forced error answer (401/402/403/400/500/503...). `bodyStatus200`: HTTP 200 with `{status:'error'}`. */
  error?: { httpStatus: number; message: string; bodyStatus200?: boolean };
  /** The provider accepts the request but the job fails: webhook `{status:'failed'}`, fetch `{status:'failed'}`. */
  fail?: boolean;
  /** The `eta` in processing answers. */
  etaSeconds: number;
  /** Slow output downloads: headers are sent at once, the PNG body after this delay. */
  outputDelayMs: number;
  /** Error bodies use the old `messege` spelling. */
  useMisspelledMessege?: boolean;
  /**
   * Answers that match no known shape (hostile-input tests): 'submit' - the submit answer is HTTP 200
   * `{result: 'ok', data: {...}}` with no `status`; 'result' - the job runs, but its webhook and fetch answers
   * say `success` with `output` that is not a list of links.
   */
  mangled?: 'submit' | 'result';
  /** Output links to report instead of the emulator's own (e.g. a private address, for SSRF tests). */
  outputLinks?: string[];
  /**
   * Addition (chaos): the submit is never answered and no work is done (a hung provider); the connection is
   * held until the client gives up or the emulator closes. Not counted in flight.
   */
  hang?: boolean;
  /** Addition (chaos): a 429 burst - answer 429 with this `retry_after` (seconds) whatever the concurrency. */
  rateLimitRetryAfter?: number;
  /**
   * Addition (chaos): delay the `processing` submit answer by this much while the job runs, so the webhook
   * (and a poll) can arrive before the answer (out of order).
   */
  answerDelayMs?: number;
}

export interface EmulatorOptions {
  /** 0 (default): a random free port. */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). Addition to the agreed API, for the standalone CLI. */
  host?: string;
  /** The only accepted `key` (default 'test-key'). */
  apiKey?: string;
  /** Plan concurrency (default 5): a submit arriving while this many are in flight gets HTTP 429. */
  maxInFlight?: number;
  /** `retry_after` in 429 answers (default 1). */
  retryAfterSeconds?: number;
  /** The first request id (default: derived from the clock, so ids never repeat across emulator instances). */
  firstId?: number;
  /** Defaults: answer 'processing', latencyMs 50, webhook 'once', etaSeconds 1, others 0/false. */
  defaults?: Partial<Behaviour>;
  /**
   * Per-request override, merged over the defaults. Called once for every submit that passed the key,
   * parameter and concurrency checks (so a script like "first call 500, then success" counts only
   * requests the provider would actually work on).
   */
  decide?: (req: SubmitRecord) => Partial<Behaviour> | undefined;
}

/** How a submit was answered (addition to the agreed API: lets a test tell retries from duplicates). */
export type SubmitOutcome = 'invalid' | 'unauthorized' | 'rate_limited' | 'forced_error' | 'success' | 'failed' | 'processing' | 'hung';

export interface SubmitRecord {
  /** Increasing integer; for an accepted submit it is also the provider request `id`. */
  id: number;
  trackId: number | null;
  webhook: string | null;
  /** The parsed JSON body ({} when it was not a JSON object). */
  body: Record<string, unknown>;
  receivedAt: number;
  /** Set once the submit is answered. */
  outcome?: SubmitOutcome;
}

export interface EmulatorStats {
  /** Submit requests received, whatever their outcome. */
  submissions: number;
  /** Submits answered 429. */
  rateLimited: number;
  /** Submits answered with any other error (400, 401, forced errors, synchronous job failures). */
  errors: number;
  /** Fetch (poll) requests received. */
  fetches: number;
  /** Requests in flight now (accepted, result not ready yet). */
  inFlight: number;
  /** The emulator's own measurement: the most requests ever in flight at once (see resetStats()). */
  maxInFlight: number;
  /** Webhook POSTs attempted. */
  webhooksSent: number;
  /** Webhook POSTs that got no 2xx (receiver error, down, timeout). */
  webhookFailures: number;
  /** Webhook calls scheduled or under way but not finished (addition: wait for 0 to prove "no more calls"). */
  webhooksPending: number;
  /** Addition: submits held open without an answer (`hang`). */
  hung: number;
  /** How often each `track_id` was submitted (every submit; filter `submissions` by outcome for finer counts). */
  submissionsByTrackId: Map<number, number>;
}

export interface ModelslabEmulator {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  stats(): EmulatorStats;
  submissions: SubmitRecord[];
  setDefaults(b: Partial<Behaviour>): void;
  setDecide(fn: EmulatorOptions['decide']): void;
  setMaxInFlight(n: number): void;
  /** Addition: zero the counters and the peak in-flight measurement (the in-flight count itself stays). */
  resetStats(): void;
  close(): Promise<void>;
}

export const SUBMIT_PATH = '/api/v6/image_editing/removebg_mask';
export const FETCH_PATH_PREFIX = '/api/v6/image_editing/fetch/';

const BASE_BEHAVIOUR: Behaviour = {
  answer: 'processing',
  latencyMs: 50,
  webhook: 'once',
  webhookDelayMs: 0,
  webhookOnSuccess: false,
  fail: false,
  etaSeconds: 1,
  outputDelayMs: 0,
  useMisspelledMessege: false,
  hang: false,
  answerDelayMs: 0,
};

const MAX_REQUEST_BYTES = 64 * 1024 * 1024;
const MAX_IMAGE_BYTES = 50 * 1024 * 1024;
const MAX_INPUT_PIXELS = 64 * 1024 * 1024;
const IMAGE_DOWNLOAD_TIMEOUT_MS = 15_000;
const WEBHOOK_TIMEOUT_MS = 30_000;
const OUTPUT_PATH = /^\/outputs\/(\d{1,15})\/(\d{1,3})\.png$/;
const FETCH_PATH = /^\/api\/v6\/image_editing\/fetch\/([^/]*)$/;
const BASE64_TEXT = /^[A-Za-z0-9+/_\-\s]+=*\s*$/;

/** Thrown into pending work when the emulator closes; never reported. */
class EmulatorClosedError extends Error {
  override readonly name = 'EmulatorClosedError';
  constructor() {
    super('the emulator is closed');
  }
}

/** A job failure with a message for the answer/webhook (bad image, forced `fail`). */
class JobFailure extends Error {
  override readonly name = 'JobFailure';
}

class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

interface RemovebgParams {
  image: string;
  onlyMask: boolean;
  inverseMask: boolean;
  postProcessMask: boolean;
  alphaMatting: boolean;
  foregroundThreshold: number;
  backgroundThreshold: number;
  erodeSize: number;
  seed: number | null;
  base64: boolean;
  webhook: string | null;
  trackId: number | null;
}

interface Job {
  id: number;
  params: RemovebgParams;
  behaviour: Behaviour;
  receivedAt: number;
  /** When the result is planned to be ready (receivedAt + latencyMs; later if the work takes longer). */
  readyAt: number;
  state: 'processing' | 'success' | 'failed';
  message: string | null;
  pngs: Buffer[];
  generationTime: number;
  meta: Record<string, unknown>;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isHttpUrl(s: string): boolean {
  if (!/^https?:\/\//i.test(s)) return false;
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}

type Validation = { ok: true; params: RemovebgParams } | { ok: false; message: string };

/** Validates a submit body the way the provider documents it. `key` is checked before this. */
function validateSubmit(body: Json): Validation {
  const bad = (message: string): Validation => ({ ok: false, message });
  const image = body.image;
  if (image === undefined || image === null || image === '') return bad('The image field is required.');
  if (typeof image !== 'string') return bad('The image must be a string (a URL or base64 data).');
  if (/^https?:/i.test(image)) {
    if (!isHttpUrl(image)) return bad('The image must be a valid URL.');
  } else {
    const data = image.replace(/^data:[^,]*;base64,/i, '');
    if (data.length === 0 || !BASE64_TEXT.test(data)) return bad('The image must be a valid URL or base64 string.');
  }

  const bool = (name: string): boolean | string => {
    const v = body[name];
    if (v === undefined || v === null) return false;
    if (typeof v === 'boolean') return v;
    return `The ${name} field must be true or false.`;
  };
  const int = (name: string, min: number, max: number, dflt: number | null): number | null | string => {
    const v = body[name];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v)) return `The ${name} field must be an integer.`;
    if (v < min || v > max) return `The ${name} field must be between ${min} and ${max}.`;
    return v;
  };

  const flags: Record<string, boolean> = {};
  for (const name of ['only_mask', 'inverse_mask', 'post_process_mask', 'alpha_matting', 'base64']) {
    const v = bool(name);
    if (typeof v === 'string') return bad(v);
    flags[name] = v;
  }
  const ints: Record<string, number | null> = {};
  for (const [name, min, max, dflt] of [
    ['alpha_matting_foreground_threshold', 0, 240, 240],
    ['alpha_matting_background_threshold', 0, 20, 20],
    ['alpha_matting_erode_size', 0, 5, 5],
    ['seed', 0, Number.MAX_SAFE_INTEGER, null],
    ['track_id', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, null],
  ] as const) {
    const v = int(name, min, max, dflt);
    if (typeof v === 'string') return bad(v);
    ints[name] = v;
  }
  const webhook = body.webhook;
  if (webhook !== undefined && webhook !== null && (typeof webhook !== 'string' || !isHttpUrl(webhook))) {
    return bad('The webhook must be a valid URL.');
  }

  return {
    ok: true,
    params: {
      image,
      onlyMask: flags.only_mask!,
      inverseMask: flags.inverse_mask!,
      postProcessMask: flags.post_process_mask!,
      alphaMatting: flags.alpha_matting!,
      base64: flags.base64!,
      foregroundThreshold: ints.alpha_matting_foreground_threshold!,
      backgroundThreshold: ints.alpha_matting_background_threshold!,
      erodeSize: ints.alpha_matting_erode_size!,
      seed: ints.seed ?? null,
      webhook: typeof webhook === 'string' ? webhook : null,
      trackId: ints.track_id ?? null,
    },
  };
}

/** Mask: distance from the mean border colour (soft edge); an ellipse when nothing stands out. */
function computeMask(rgba: Buffer, width: number, height: number, p: RemovebgParams): Uint8Array {
  let sr = 0;
  let sg = 0;
  let sb = 0;
  let n = 0;
  const add = (x: number, y: number): void => {
    const i = (y * width + x) * 4;
    sr += rgba[i]!;
    sg += rgba[i + 1]!;
    sb += rgba[i + 2]!;
    n++;
  };
  for (let x = 0; x < width; x++) {
    add(x, 0);
    if (height > 1) add(x, height - 1);
  }
  for (let y = 1; y < height - 1; y++) {
    add(0, y);
    if (width > 1) add(width - 1, y);
  }
  const br = sr / n;
  const bg = sg / n;
  const bb = sb / n;

  const pixels = width * height;
  const mask = new Uint8Array(pixels);
  let foreground = 0;
  for (let i = 0; i < pixels; i++) {
    const o = i * 4;
    const d = Math.abs(rgba[o]! - br) + Math.abs(rgba[o + 1]! - bg) + Math.abs(rgba[o + 2]! - bb);
    const a = Math.min(255, Math.max(0, (d - 24) * 4)) * (rgba[o + 3]! / 255);
    mask[i] = Math.round(a);
    if (a >= 128) foreground++;
  }
  if (foreground < pixels * 0.005) {
    const cx = (width - 1) / 2;
    const cy = (height - 1) / 2;
    const rx = Math.max(width * 0.4, 0.5);
    const ry = Math.max(height * 0.4, 0.5);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const r = Math.hypot((x - cx) / rx, (y - cy) / ry);
        mask[y * width + x] = Math.round(Math.min(1, Math.max(0, (1.1 - r) * 5)) * 255);
      }
    }
  }
  for (let i = 0; i < pixels; i++) {
    let a = mask[i]!;
    if (p.alphaMatting) {
      const fg = p.foregroundThreshold;
      const bgT = p.backgroundThreshold;
      a = a >= fg ? 255 : a <= bgT ? 0 : Math.round(((a - bgT) / Math.max(1, fg - bgT)) * 255);
    }
    if (p.postProcessMask) a = a >= 128 ? 255 : 0;
    if (p.inverseMask) a = 255 - a;
    mask[i] = a;
  }
  return mask;
}

/** RGBA cut-out (or a 1-channel greyscale mask with only_mask), at the input's size. */
async function renderOutput(input: Buffer, p: RemovebgParams): Promise<Buffer> {
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    decoded = await sharp(input, { limitInputPixels: MAX_INPUT_PIXELS })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new JobFailure(`The image could not be decoded: ${(err as Error).message}`);
  }
  const { data, info } = decoded;
  if (info.channels !== 4) throw new JobFailure(`The image could not be decoded: unexpected ${info.channels} channels`);
  const mask = computeMask(data, info.width, info.height, p);
  if (p.onlyMask) {
    return sharp(Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength), { raw: { width: info.width, height: info.height, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
  }
  for (let i = 0; i < mask.length; i++) data[i * 4 + 3] = mask[i]!;
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toBuffer();
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new BodyTooLargeError(`the request body is over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw new BodyTooLargeError(`the request body is over ${limit} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, httpStatus: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(httpStatus, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startModelslabEmulator(options: EmulatorOptions = {}): Promise<ModelslabEmulator> {
  const apiKey = options.apiKey ?? 'test-key';
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  let limit = options.maxInFlight ?? 5;
  let defaults: Behaviour = { ...BASE_BEHAVIOUR, ...options.defaults };
  let decide = options.decide;

  const submissions: SubmitRecord[] = [];
  const jobs = new Map<number, Job>();
  // Like the real provider, ids are unique across restarts: two emulators never hand out the same id
  // (maskflow keeps (provider, provider_request_id) unique).
  let nextId = options.firstId ?? Date.now() * 100 + Math.floor(Math.random() * 100);
  let inFlight = 0;
  let closed = false;
  let closing: Promise<void> | null = null;
  const counters = { submissions: 0, rateLimited: 0, errors: 0, fetches: 0, maxInFlight: 0, webhooksSent: 0, webhookFailures: 0, webhooksPending: 0, hung: 0 };
  const hungResponses = new Set<ServerResponse>();
  let byTrackId = new Map<number, number>();

  // Everything that could outlive close(): timers, outgoing requests, running work.
  const sleeps = new Set<{ timer: NodeJS.Timeout; reject: (e: Error) => void }>();
  const outgoing = new Set<ClientRequest>();
  const tasks = new Set<Promise<unknown>>();

  function delay(ms: number): Promise<void> {
    if (closed) return Promise.reject(new EmulatorClosedError());
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const entry = {
        timer: setTimeout(() => {
          sleeps.delete(entry);
          resolve();
        }, ms),
        reject,
      };
      sleeps.add(entry);
    });
  }

  /** Runs work in the background; close() waits for it. Never rejects. */
  function track(work: Promise<unknown>): void {
    const p: Promise<unknown> = work
      .catch((err: unknown) => {
        if (!(err instanceof EmulatorClosedError)) console.error('[modelslab-emulator] unexpected error', err);
      })
      .finally(() => tasks.delete(p));
    tasks.add(p);
  }

  /** A plain HTTP(S) request without keep-alive, cancelled by close(). */
  function httpCall(url: string, init: { method: 'GET' | 'POST'; body?: string; timeoutMs: number; maxBytes: number }): Promise<{ status: number; body: Buffer }> {
    if (closed) return Promise.reject(new EmulatorClosedError());
    return new Promise((resolve, reject) => {
      const mod = url.startsWith('https:') ? https : http;
      const headers: Record<string, string | number> = { 'user-agent': 'modelslab-emulator', connection: 'close' };
      if (init.body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(init.body);
      }
      const req = mod.request(url, { method: init.method, headers, agent: false, timeout: init.timeoutMs });
      outgoing.add(req);
      const done = (): void => {
        outgoing.delete(req);
      };
      req.on('timeout', () => req.destroy(new Error(`no answer within ${init.timeoutMs} ms`)));
      req.on('error', (err) => {
        done();
        reject(closed ? new EmulatorClosedError() : err);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > init.maxBytes) {
            req.destroy(new Error(`the answer is over ${init.maxBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          done();
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
        });
        res.on('error', (err) => {
          done();
          reject(closed ? new EmulatorClosedError() : err);
        });
      });
      req.end(init.body);
    });
  }

  async function loadImage(image: string): Promise<Buffer> {
    if (isHttpUrl(image)) {
      let answer: { status: number; body: Buffer };
      try {
        answer = await httpCall(image, { method: 'GET', timeoutMs: IMAGE_DOWNLOAD_TIMEOUT_MS, maxBytes: MAX_IMAGE_BYTES });
      } catch (err) {
        if (err instanceof EmulatorClosedError) throw err;
        throw new JobFailure(`The image could not be downloaded: ${(err as Error).message}`);
      }
      if (answer.status !== 200) throw new JobFailure(`The image could not be downloaded: HTTP ${answer.status}`);
      return answer.body;
    }
    const bytes = Buffer.from(image.replace(/^data:[^,]*;base64,/i, ''), 'base64');
    if (bytes.length === 0) throw new JobFailure('The image is not valid base64 data.');
    return bytes;
  }

  function outputUrls(job: Job): string[] {
    return job.pngs.length > 0 ? job.pngs.map((_, n) => `${emulator.url}/outputs/${job.id}/${n}.png`) : [`${emulator.url}/outputs/${job.id}/0.png`];
  }

  function errorBody(message: string, misspelled: boolean | undefined, extra: Json = {}): Json {
    return misspelled ? { status: 'error', ...extra, messege: message } : { status: 'error', ...extra, message };
  }

  function successBody(job: Job): Json {
    const links = job.behaviour.outputLinks ?? outputUrls(job);
    if (job.behaviour.mangled === 'result') return { status: 'success', id: job.id, output: { url: links[0] }, track_id: job.params.trackId };
    return {
      status: 'success',
      generationTime: job.generationTime,
      id: job.id,
      output: job.params.base64 ? job.pngs.map((b) => b.toString('base64')) : links,
      proxy_links: links,
      meta: job.meta,
    };
  }

  function processingBody(job: Job, eta: number): Json {
    return {
      status: 'processing',
      tip: 'Your image is processing in background, you can get this image using fetch API.',
      eta,
      message: 'Try to fetch request after seconds estimated',
      fetch_result: `${emulator.url}${FETCH_PATH_PREFIX}${job.id}`,
      id: job.id,
      output: [],
      future_links: outputUrls(job),
      proxy_links: [],
      meta: job.meta,
    };
  }

  function failedBody(job: Job): Json {
    const message = job.message ?? 'the job failed';
    return job.behaviour.useMisspelledMessege
      ? { status: 'failed', id: job.id, messege: message, track_id: job.params.trackId }
      : { status: 'failed', id: job.id, message, track_id: job.params.trackId };
  }

  function webhookPayload(job: Job): Json {
    if (job.state === 'failed') return { status: 'failed', id: job.id, message: job.message ?? 'the job failed', track_id: job.params.trackId };
    const s = successBody(job);
    if (job.behaviour.mangled === 'result') return s;
    return { status: 'success', id: job.id, output: s.output, generationTime: job.generationTime, track_id: job.params.trackId, meta: job.meta };
  }

  async function deliverWebhook(url: string, payload: string, afterMs: number): Promise<void> {
    try {
      await delay(afterMs);
      counters.webhooksSent++;
      try {
        const answer = await httpCall(url, { method: 'POST', body: payload, timeoutMs: WEBHOOK_TIMEOUT_MS, maxBytes: 1024 * 1024 });
        if (answer.status < 200 || answer.status >= 300) counters.webhookFailures++;
      } catch (err) {
        if (err instanceof EmulatorClosedError) throw err;
        counters.webhookFailures++;
      }
    } finally {
      counters.webhooksPending--;
    }
  }

  function scheduleWebhooks(job: Job): void {
    const url = job.params.webhook;
    if (closed || url === null) return;
    const { webhook: mode, webhookDelayMs } = job.behaviour;
    const delays = mode === 'once' || mode === 'stale' ? [0] : mode === 'twice' ? [0, webhookDelayMs] : mode === 'late' ? [webhookDelayMs] : [];
    const payload = JSON.stringify(webhookPayload(job));
    for (const ms of delays) {
      counters.webhooksPending++;
      track(deliverWebhook(url, payload, ms));
    }
    if (mode === 'stale') {
      counters.webhooksPending++;
      const { output: _o, proxy_links: _p, ...stale } = processingBody(job, 0);
      track(deliverWebhook(url, JSON.stringify({ ...stale, track_id: job.params.trackId }), webhookDelayMs));
    }
  }

  /** Does the work (download/decode + render) alongside the latency; the job is ready when both are done. */
  async function runJob(job: Job): Promise<void> {
    const work = (async (): Promise<Buffer> => {
      if (job.behaviour.fail) throw new JobFailure('Failed to process the image (emulated provider failure).');
      return renderOutput(await loadImage(job.params.image), job.params);
    })();
    // If close() interrupts the latency, the decode/render still running is waited for by close().
    track(work.catch(() => undefined));
    const [outcome] = await Promise.all([
      work.then(
        (png) => ({ ok: true as const, png }),
        (err: unknown) => {
          if (err instanceof JobFailure) return { ok: false as const, message: err.message };
          if (err instanceof EmulatorClosedError) throw err;
          return { ok: false as const, message: `Failed to process the image: ${(err as Error).message}` };
        },
      ),
      delay(job.behaviour.latencyMs),
    ]);
    if (closed) throw new EmulatorClosedError();
    job.generationTime = Math.round(Date.now() - job.receivedAt) / 1000;
    if (outcome.ok) {
      job.pngs = [outcome.png];
      job.state = 'success';
    } else {
      job.message = outcome.message;
      job.state = 'failed';
    }
  }

  function acquire(): () => void {
    inFlight++;
    counters.maxInFlight = Math.max(counters.maxInFlight, inFlight);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      inFlight--;
    };
  }

  async function handleSubmit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req, MAX_REQUEST_BYTES);
    counters.submissions++;
    let body: Json = {};
    let parseError: string | null = null;
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      if (isObject(parsed)) body = parsed;
      else parseError = 'The request body must be a JSON object.';
    } catch {
      parseError = 'The request body is not valid JSON.';
    }
    const record: SubmitRecord = {
      id: nextId++,
      trackId: typeof body.track_id === 'number' && Number.isInteger(body.track_id) ? body.track_id : null,
      webhook: typeof body.webhook === 'string' ? body.webhook : null,
      body,
      receivedAt: Date.now(),
    };
    submissions.push(record);
    if (record.trackId !== null) byTrackId.set(record.trackId, (byTrackId.get(record.trackId) ?? 0) + 1);

    const reject = (outcome: SubmitOutcome, httpStatus: number, answer: Json): void => {
      record.outcome = outcome;
      if (outcome === 'rate_limited') counters.rateLimited++;
      else counters.errors++;
      sendJson(res, httpStatus, answer);
    };
    const misspelled = defaults.useMisspelledMessege;
    if (parseError !== null) return reject('invalid', 400, errorBody(parseError, misspelled));
    if (typeof body.key !== 'string' || body.key !== apiKey) {
      return reject('unauthorized', 401, errorBody('Invalid API key. Please provide a valid API key.', misspelled));
    }
    const validation = validateSubmit(body);
    if (!validation.ok) return reject('invalid', 400, errorBody(validation.message, misspelled));
    if (inFlight >= limit) {
      return reject('rate_limited', 429, {
        ...errorBody(`Rate limit exceeded. Your plan allows ${limit} requests in flight; retry after ${retryAfterSeconds} seconds.`, misspelled),
        retry_after: retryAfterSeconds,
      });
    }

    const behaviour: Behaviour = { ...defaults, ...(decide?.(record) ?? {}) };
    if (behaviour.rateLimitRetryAfter !== undefined) {
      return reject('rate_limited', 429, {
        ...errorBody(`Rate limit exceeded; retry after ${behaviour.rateLimitRetryAfter} seconds.`, behaviour.useMisspelledMessege),
        retry_after: behaviour.rateLimitRetryAfter,
      });
    }
    if (behaviour.hang) {
      record.outcome = 'hung';
      counters.hung++;
      // Held open until the client gives up (its timeout closes the socket) or close() destroys it.
      await new Promise<void>((resolve) => {
        res.once('close', resolve);
        hungResponses.add(res);
      });
      hungResponses.delete(res);
      return;
    }
    if (behaviour.error) {
      const { httpStatus, message, bodyStatus200 } = behaviour.error;
      return reject('forced_error', bodyStatus200 ? 200 : httpStatus, errorBody(message, behaviour.useMisspelledMessege));
    }
    if (behaviour.mangled === 'submit') return reject('forced_error', 200, { result: 'ok', data: { request: record.id, state: 'queued' } });

    const release = acquire();
    const p = validation.params;
    const job: Job = {
      id: record.id,
      params: p,
      behaviour,
      receivedAt: record.receivedAt,
      readyAt: record.receivedAt + behaviour.latencyMs,
      state: 'processing',
      message: null,
      pngs: [],
      generationTime: 0,
      meta: {
        image: isHttpUrl(p.image) ? p.image : `(base64, ${p.image.length} characters)`,
        only_mask: p.onlyMask,
        inverse_mask: p.inverseMask,
        post_process_mask: p.postProcessMask,
        alpha_matting: p.alphaMatting,
        alpha_matting_foreground_threshold: p.foregroundThreshold,
        alpha_matting_background_threshold: p.backgroundThreshold,
        alpha_matting_erode_size: p.erodeSize,
        seed: p.seed ?? record.id,
        base64: p.base64,
        webhook: p.webhook,
        track_id: p.trackId,
        file_prefix: `${record.id}`,
      },
    };
    jobs.set(job.id, job);

    if (behaviour.answer === 'processing') {
      record.outcome = 'processing';
      track(
        runJob(job)
          .finally(release)
          .then(() => scheduleWebhooks(job)),
      );
      if (behaviour.answerDelayMs && behaviour.answerDelayMs > 0) await delay(behaviour.answerDelayMs);
      sendJson(res, 200, processingBody(job, behaviour.etaSeconds));
      return;
    }

    try {
      await runJob(job);
      if (job.state === 'success') {
        record.outcome = 'success';
        sendJson(res, 200, successBody(job));
      } else {
        record.outcome = 'failed';
        counters.errors++;
        sendJson(res, 200, errorBody(job.message ?? 'the job failed', behaviour.useMisspelledMessege, { id: job.id }));
      }
    } finally {
      release();
    }
    if (behaviour.webhookOnSuccess && job.state === 'success') scheduleWebhooks(job);
  }

  async function handleFetch(req: IncomingMessage, res: ServerResponse, rawId: string): Promise<void> {
    const raw = await readBody(req, 1024 * 1024);
    counters.fetches++;
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return sendJson(res, 400, errorBody('The request body is not valid JSON.', defaults.useMisspelledMessege));
    }
    if (!isObject(body) || typeof body.key !== 'string' || body.key !== apiKey) {
      return sendJson(res, 401, errorBody('Invalid API key. Please provide a valid API key.', defaults.useMisspelledMessege));
    }
    const job = /^\d{1,15}$/.test(rawId) ? jobs.get(Number(rawId)) : undefined;
    if (!job) return sendJson(res, 404, errorBody('Request not found.', defaults.useMisspelledMessege));
    if (job.state === 'processing') {
      return sendJson(res, 200, processingBody(job, Math.max(0, Math.ceil((job.readyAt - Date.now()) / 1000))));
    }
    if (job.state === 'failed') return sendJson(res, 200, failedBody(job));
    return sendJson(res, 200, successBody(job));
  }

  async function handleOutput(req: IncomingMessage, res: ServerResponse, id: number, n: number): Promise<void> {
    req.resume();
    const job = jobs.get(id);
    const png = job?.state === 'success' ? job.pngs[n] : undefined;
    if (!job || !png) return sendJson(res, 404, errorBody('File not found.', false));
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length, 'cache-control': 'no-store' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (job.behaviour.outputDelayMs > 0) {
      res.flushHeaders();
      await delay(job.behaviour.outputDelayMs);
    }
    res.end(png);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    try {
      if (path === SUBMIT_PATH) {
        if (req.method !== 'POST') return methodNotAllowed(req, res);
        return await handleSubmit(req, res);
      }
      const fetchMatch = FETCH_PATH.exec(path);
      if (fetchMatch) {
        if (req.method !== 'POST') return methodNotAllowed(req, res);
        return await handleFetch(req, res, decodeURIComponent(fetchMatch[1]!));
      }
      const outputMatch = OUTPUT_PATH.exec(path);
      if (outputMatch && (req.method === 'GET' || req.method === 'HEAD')) {
        return await handleOutput(req, res, Number(outputMatch[1]), Number(outputMatch[2]));
      }
      req.resume();
      sendJson(res, 404, errorBody('Not found.', false));
    } catch (err) {
      if (err instanceof EmulatorClosedError) {
        res.destroy();
        return;
      }
      if (err instanceof BodyTooLargeError) {
        res.setHeader('connection', 'close');
        sendJson(res, 413, errorBody(err.message, false));
        return;
      }
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, errorBody(`emulator failure: ${(err as Error).message}`, false));
      if (!closed) console.error('[modelslab-emulator] unexpected error', err);
    }
  }

  function methodNotAllowed(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    sendJson(res, 405, errorBody('Method not allowed.', false));
  }

  const server = http.createServer((req, res) => {
    if (closed) {
      res.destroy();
      return;
    }
    track(route(req, res));
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => console.error('[modelslab-emulator] server error', err));
  const address = server.address() as AddressInfo;
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;

  const emulator: ModelslabEmulator = {
    url: `http://${host}:${address.port}`,
    submissions,
    stats: () => ({ ...counters, inFlight, submissionsByTrackId: new Map(byTrackId) }),
    setDefaults(b) {
      defaults = { ...defaults, ...b };
    },
    setDecide(fn) {
      decide = fn;
    },
    setMaxInFlight(n) {
      limit = n;
    },
    resetStats() {
      const pending = counters.webhooksPending;
      Object.assign(counters, { submissions: 0, rateLimited: 0, errors: 0, fetches: 0, maxInFlight: inFlight, webhooksSent: 0, webhookFailures: 0, webhooksPending: pending, hung: 0 });
      byTrackId = new Map();
    },
    close() {
      closing ??= (async () => {
        closed = true;
        for (const s of sleeps) {
          clearTimeout(s.timer);
          s.reject(new EmulatorClosedError());
        }
        sleeps.clear();
        for (const r of outgoing) r.destroy(new EmulatorClosedError());
        for (const r of hungResponses) r.destroy();
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        while (tasks.size > 0) await Promise.allSettled([...tasks]);
        await serverClosed;
      })();
      return closing;
    },
  };
  return emulator;
}
