/**
 * The IS-Net segmenter: one onnxruntime session per process, created once; turns RGB pixels into an 8-bit
 * foreground mask at the image's own size. Keeps a small LRU of raw masks keyed by the input's SHA-256 so the
 * same image sent again with other options (only_mask, inverse_mask, alpha_matting...) skips inference.
 */
import type * as ort from 'onnxruntime-node';
import { maskToInputSize, probabilitiesToBytes } from './postprocess.js';
import { toModelInput } from './preprocess.js';
import { createSegmentationSession, runSegmentation, type SessionSettings } from './session.js';

export interface SegmenterTimings {
  preprocessMs: number;
  inferenceMs: number;
  postprocessMs: number;
}

export class Segmenter {
  private session: ort.InferenceSession | undefined;
  private loading: Promise<void> | undefined;
  private readonly cache = new Map<string, Buffer>();
  private cacheBytes = 0;

  constructor(
    readonly settings: SessionSettings,
    private readonly cacheLimitBytes: number,
  ) {}

  get ready(): boolean {
    return this.session !== undefined;
  }

  /** Loads the weights (checksums verified) and creates the session; later calls share the first. */
  load(): Promise<void> {
    this.loading ??= createSegmentationSession(this.settings).then((s) => {
      this.session = s;
    });
    return this.loading;
  }

  async segment(rgb: Buffer, width: number, height: number, cacheKey?: string): Promise<{ mask: Buffer; timings: SegmenterTimings; cached: boolean }> {
    const key = cacheKey ? `${cacheKey}:${width}x${height}` : undefined;
    const hit = key ? this.cache.get(key) : undefined;
    if (key && hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return { mask: Buffer.from(hit), timings: { preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 }, cached: true };
    }
    await this.load();
    const t0 = performance.now();
    const input = await toModelInput(rgb, width, height);
    const t1 = performance.now();
    const prob = await runSegmentation(this.session!, input);
    const t2 = performance.now();
    const mask = await maskToInputSize(probabilitiesToBytes(prob), width, height);
    const t3 = performance.now();
    if (key) this.remember(key, mask);
    return { mask, timings: { preprocessMs: t1 - t0, inferenceMs: t2 - t1, postprocessMs: t3 - t2 }, cached: false };
  }

  private remember(key: string, mask: Buffer): void {
    if (mask.length > this.cacheLimitBytes) return;
    this.cache.set(key, Buffer.from(mask));
    this.cacheBytes += mask.length;
    for (const [k, v] of this.cache) {
      if (this.cacheBytes <= this.cacheLimitBytes) break;
      this.cache.delete(k);
      this.cacheBytes -= v.length;
    }
  }

  async close(): Promise<void> {
    await this.loading?.catch(() => undefined);
    await this.session?.release();
    this.session = undefined;
    this.cache.clear();
    this.cacheBytes = 0;
  }
}
