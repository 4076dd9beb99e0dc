/**
 * Trimap from the model's mask and alpha_matting's thresholds: definite foreground where mask > foreground
 * threshold, definite background where mask < background threshold, both eroded by erode_size so the band
 * where alpha is solved for covers the whole uncertain edge. Erosion radius is erode_size pixels per 1024 px of
 * the image's long side (the model's output is 1024 px wide, so its soft edge widens with the image).
 */
import { erode } from './morphology.js';

export const TRIMAP_BG = 0;
export const TRIMAP_UNKNOWN = 128;
export const TRIMAP_FG = 255;

export interface TrimapOptions {
  foregroundThreshold: number;
  backgroundThreshold: number;
  erodeSize: number;
}

export function buildTrimap(mask: Uint8Array, width: number, height: number, o: TrimapOptions): Uint8Array {
  const n = width * height;
  const fg = new Uint8Array(n);
  const bg = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const m = mask[i]!;
    fg[i] = m > o.foregroundThreshold ? 255 : 0;
    bg[i] = m < o.backgroundThreshold ? 255 : 0;
  }
  const r = Math.round(o.erodeSize * Math.max(1, Math.max(width, height) / 1024));
  const fgE = erode(fg, width, height, r);
  const bgE = erode(bg, width, height, r);
  const trimap = new Uint8Array(n);
  for (let i = 0; i < n; i++) trimap[i] = fgE[i] ? TRIMAP_FG : bgE[i] ? TRIMAP_BG : TRIMAP_UNKNOWN;
  return trimap;
}
