/**
 * alpha_matting: trimap from the thresholds (eroded by erode_size), closed-form alpha solved in the unknown band,
 * then foreground colours re-estimated in the band so background colour does not bleed into the soft edge
 * (F = (I - (1 - alpha) * B) / alpha, with B the local mean of nearby definite-background colours).
 *
 * The solve runs on the bounding box of the unknown band, downscaled when that box exceeds
 * MATTING_MAX_WORK_PIXELS (time and memory stay bounded for big images); known pixels are never changed.
 */
import sharp from 'sharp';
import { DEFAULT_CLOSED_FORM, solveClosedFormAlpha } from './closed-form-matting.js';
import { boxSum } from './morphology.js';
import { buildTrimap, TRIMAP_BG, TRIMAP_FG, type TrimapOptions } from './trimap.js';

export const MATTING_MAX_WORK_PIXELS = 400_000;

export interface AlphaMattingResult {
  /** 8-bit alpha at the image's size. */
  alpha: Buffer;
  /** RGB with background removed from the edge colours (same layout as the input RGB). */
  foregroundRgb: Buffer;
  unknownPixels: number;
}

interface Box { x: number; y: number; w: number; h: number }

function unknownBox(trimap: Uint8Array, width: number, height: number, margin: number): Box | undefined {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const t = trimap[row + x]!;
      if (t !== TRIMAP_BG && t !== TRIMAP_FG) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return undefined;
  x0 = Math.max(0, x0 - margin); y0 = Math.max(0, y0 - margin);
  x1 = Math.min(width - 1, x1 + margin); y1 = Math.min(height - 1, y1 + margin);
  return { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

function crop(src: Uint8Array, width: number, channels: number, b: Box): Buffer {
  const out = Buffer.allocUnsafe(b.w * b.h * channels);
  for (let y = 0; y < b.h; y++) {
    const from = ((b.y + y) * width + b.x) * channels;
    out.set(src.subarray(from, from + b.w * channels), y * b.w * channels);
  }
  return out;
}

async function resizeRaw(src: Buffer, w: number, h: number, channels: 1 | 3, tw: number, th: number, kernel: 'nearest' | 'linear'): Promise<Buffer> {
  if (w === tw && h === th) return src;
  let p = sharp(src, { raw: { width: w, height: h, channels } }).resize(tw, th, { fit: 'fill', kernel });
  if (channels === 1) p = p.extractChannel(0);
  const { data, info } = await p.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) throw new Error(`resize produced ${info.channels} channels, expected ${channels}`);
  return data;
}

export async function alphaMatting(
  rgb: Buffer,
  mask: Uint8Array,
  width: number,
  height: number,
  options: TrimapOptions,
): Promise<AlphaMattingResult> {
  const trimap = buildTrimap(mask, width, height, options);
  const scale = Math.max(1, Math.max(width, height) / 1024);
  const box = unknownBox(trimap, width, height, Math.ceil(4 * scale) + 2);
  const alpha = Buffer.from(trimap);
  if (!box) {
    // No uncertain pixel: the trimap is the answer (thresholds classified everything).
    return { alpha, foregroundRgb: Buffer.from(rgb), unknownPixels: 0 };
  }
  const factor = Math.min(1, Math.sqrt(MATTING_MAX_WORK_PIXELS / (box.w * box.h)));
  const ww = Math.max(1, Math.round(box.w * factor));
  const wh = Math.max(1, Math.round(box.h * factor));
  const rgbBox = crop(rgb, width, 3, box);
  const triBox = crop(trimap, width, 1, box);
  const maskBox = crop(mask, width, 1, box);
  const rgbW = await resizeRaw(rgbBox, box.w, box.h, 3, ww, wh, 'linear');
  const triW = await resizeRaw(triBox, box.w, box.h, 1, ww, wh, 'nearest');
  const maskW = await resizeRaw(maskBox, box.w, box.h, 1, ww, wh, 'linear');
  const init = new Float32Array(ww * wh);
  for (let i = 0; i < init.length; i++) init[i] = maskW[i]! / 255;
  const alphaW = solveClosedFormAlpha(rgbW, triW, init, ww, wh, DEFAULT_CLOSED_FORM);
  const alphaW8 = Buffer.allocUnsafe(alphaW.length);
  for (let i = 0; i < alphaW.length; i++) alphaW8[i] = Math.round(alphaW[i]! * 255);
  const alphaBox = await resizeRaw(alphaW8, ww, wh, 1, box.w, box.h, 'linear');

  let unknownPixels = 0;
  for (let y = 0; y < box.h; y++) {
    for (let x = 0; x < box.w; x++) {
      const i = (box.y + y) * width + box.x + x;
      const t = trimap[i]!;
      if (t !== TRIMAP_BG && t !== TRIMAP_FG) {
        alpha[i] = alphaBox[y * box.w + x]!;
        unknownPixels++;
      }
    }
  }
  const foregroundRgb = estimateForeground(rgb, alpha, trimap, width, box, Math.ceil(6 * scale) + 3);
  return { alpha, foregroundRgb, unknownPixels };
}

/** Foreground colours in the band: remove the local background colour's share from each soft pixel. */
function estimateForeground(rgb: Buffer, alpha: Uint8Array, trimap: Uint8Array, width: number, b: Box, radius: number): Buffer {
  const out = Buffer.from(rgb);
  const n = b.w * b.h;
  const wgt = new Float64Array(n), c0 = new Float64Array(n), c1 = new Float64Array(n), c2 = new Float64Array(n);
  for (let y = 0; y < b.h; y++) {
    for (let x = 0; x < b.w; x++) {
      const i = (b.y + y) * width + b.x + x;
      if (trimap[i] === TRIMAP_BG) {
        const k = y * b.w + x;
        wgt[k] = 1;
        c0[k] = rgb[i * 3]!;
        c1[k] = rgb[i * 3 + 1]!;
        c2[k] = rgb[i * 3 + 2]!;
      }
    }
  }
  const tmp = new Float64Array(n), sw = new Float64Array(n), s0 = new Float64Array(n), s1 = new Float64Array(n), s2 = new Float64Array(n);
  boxSum(wgt, b.w, b.h, radius, sw, tmp);
  boxSum(c0, b.w, b.h, radius, s0, tmp);
  boxSum(c1, b.w, b.h, radius, s1, tmp);
  boxSum(c2, b.w, b.h, radius, s2, tmp);
  for (let y = 0; y < b.h; y++) {
    for (let x = 0; x < b.w; x++) {
      const i = (b.y + y) * width + b.x + x;
      const t = trimap[i]!;
      const a = alpha[i]! / 255;
      const k = y * b.w + x;
      if (t === TRIMAP_BG || t === TRIMAP_FG || a < 0.05 || sw[k]! < 1) continue;
      const inv = 1 / sw[k]!;
      const bgs = [s0[k]! * inv, s1[k]! * inv, s2[k]! * inv];
      for (let c = 0; c < 3; c++) {
        const f = (rgb[i * 3 + c]! - (1 - a) * bgs[c]!) / a;
        out[i * 3 + c] = f < 0 ? 0 : f > 255 ? 255 : Math.round(f);
      }
    }
  }
  return out;
}
