/** Quality measures against a ground-truth alpha: IoU of the 50% masks, mean absolute alpha error, and the
 *  same error restricted to the edge band (where the truth is fractional or within a few pixels of the edge). */
import { dilate, erode } from '../apps/engine/src/matting/morphology.js';

export function iou(pred: Uint8Array, truth: Uint8Array): number {
  let inter = 0, uni = 0;
  for (let i = 0; i < truth.length; i++) {
    const p = pred[i]! >= 128, t = truth[i]! >= 128;
    if (p && t) inter++;
    if (p || t) uni++;
  }
  return uni === 0 ? 1 : inter / uni;
}

export function meanAbsError(pred: Uint8Array, truth: Uint8Array, where?: Uint8Array): number {
  let sum = 0, n = 0;
  for (let i = 0; i < truth.length; i++) {
    if (where && !where[i]) continue;
    sum += Math.abs(pred[i]! - truth[i]!);
    n++;
  }
  return n === 0 ? 0 : sum / n / 255;
}

/** Pixels within `radius` of the object's edge, plus all fractional-alpha pixels. */
export function edgeBand(truth: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const fgAny = new Uint8Array(truth.length), fgFull = new Uint8Array(truth.length);
  for (let i = 0; i < truth.length; i++) {
    fgAny[i] = truth[i]! > 0 ? 255 : 0;
    fgFull[i] = truth[i]! === 255 ? 255 : 0;
  }
  const outer = dilate(fgAny, width, height, radius);
  const inner = erode(fgFull, width, height, radius);
  const band = new Uint8Array(truth.length);
  for (let i = 0; i < truth.length; i++) band[i] = outer[i]! && !inner[i]! ? 1 : 0;
  return band;
}

/** Trivial baseline: distance of each pixel's colour from the mean border colour, thresholded by Otsu. */
export function borderColourBaseline(rgb: Uint8Array, width: number, height: number): Uint8Array {
  let r = 0, g = 0, b = 0, n = 0;
  const add = (i: number) => { r += rgb[i * 3]!; g += rgb[i * 3 + 1]!; b += rgb[i * 3 + 2]!; n++; };
  for (let x = 0; x < width; x++) { add(x); add((height - 1) * width + x); }
  for (let y = 0; y < height; y++) { add(y * width); add(y * width + width - 1); }
  r /= n; g /= n; b /= n;
  const dist = new Uint8Array(width * height);
  const hist = new Array<number>(256).fill(0);
  for (let i = 0; i < dist.length; i++) {
    const d = Math.min(255, Math.round(Math.hypot(rgb[i * 3]! - r, rgb[i * 3 + 1]! - g, rgb[i * 3 + 2]! - b) / Math.sqrt(3)));
    dist[i] = d;
    hist[d]!++;
  }
  // Otsu's threshold on the distance histogram.
  let total = 0, sumAll = 0;
  for (let t = 0; t < 256; t++) { total += hist[t]!; sumAll += t * hist[t]!; }
  let wB = 0, sumB = 0, best = 0, thr = 0;
  for (let t = 0; t < 256; t++) {
    wB += hist[t]!;
    if (wB === 0) continue;
    const wF = total - wB;
    if (wF === 0) break;
    sumB += t * hist[t]!;
    const mB = sumB / wB, mF = (sumAll - sumB) / wF;
    const between = wB * wF * (mB - mF) ** 2;
    if (between > best) { best = between; thr = t; }
  }
  const out = new Uint8Array(dist.length);
  for (let i = 0; i < out.length; i++) out[i] = dist[i]! > thr ? 255 : 0;
  return out;
}
