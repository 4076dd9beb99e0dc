/** One image through the whole engine: decode, segment, apply the options, encode a PNG. */
import { createHash } from 'node:crypto';
import { decodeImage, rgbForModel } from '../image/decode-image.js';
import type { Segmenter } from '../model/segmenter.js';
import { applyMaskOptions, rgbOf } from './apply-mask-options.js';
import type { CutoutOptions } from './cutout-options.js';
import { encodeCutoutPng, encodeMaskPng } from './encode-output.js';

export interface CutoutResult {
  png: Buffer;
  width: number;
  height: number;
  notes: string[];
  timings: Record<string, number>;
  cachedMask: boolean;
}

export async function removeBackground(segmenter: Segmenter, bytes: Buffer, options: CutoutOptions, maxPixels: number): Promise<CutoutResult> {
  const t0 = performance.now();
  const img = await decodeImage(bytes, maxPixels);
  const t1 = performance.now();
  const cacheKey = createHash('sha256').update(bytes).digest('hex');
  const modelRgb = img.hadAlpha ? rgbForModel(img) : rgbOf(img);
  const seg = await segmenter.segment(modelRgb, img.width, img.height, cacheKey);
  const t2 = performance.now();
  const masked = await applyMaskOptions(img, seg.mask, img.hadAlpha ? rgbOf(img) : modelRgb, options);
  const t3 = performance.now();
  const png = options.onlyMask
    ? await encodeMaskPng(masked.alpha, img.width, img.height)
    : await encodeCutoutPng(masked.rgb, masked.alpha, img.width, img.height);
  const t4 = performance.now();
  return {
    png,
    width: img.width,
    height: img.height,
    notes: img.notes,
    cachedMask: seg.cached,
    timings: {
      decodeMs: t1 - t0,
      segmentMs: t2 - t1,
      inferenceMs: seg.timings.inferenceMs,
      optionsMs: t3 - t2,
      encodeMs: t4 - t3,
    },
  };
}
