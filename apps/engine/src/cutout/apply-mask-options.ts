/**
 * From the model's raw mask to the final alpha (and the colours to show under it), in the provider's order:
 * post_process_mask, then alpha_matting, then inverse_mask; the input's own transparency is kept last
 * (a pixel that was transparent in the input stays transparent in the cut-out and in the mask).
 */
import type { DecodedImage } from '../image/decode-image.js';
import { alphaMatting } from '../matting/alpha-matting.js';
import { postProcessMask } from '../matting/post-process-mask.js';
import type { CutoutOptions } from './cutout-options.js';

export interface MaskedImage {
  /** Final alpha / mask, one byte per pixel. */
  alpha: Buffer;
  /** Interleaved RGB to put under the alpha (edge colours cleaned when alpha matting ran). */
  rgb: Buffer;
  unknownPixels?: number;
}

export function rgbOf(img: DecodedImage): Buffer {
  const n = img.width * img.height;
  const rgb = Buffer.allocUnsafe(n * 3);
  for (let i = 0, j = 0, k = 0; i < n; i++, j += 4, k += 3) {
    rgb[k] = img.rgba[j]!;
    rgb[k + 1] = img.rgba[j + 1]!;
    rgb[k + 2] = img.rgba[j + 2]!;
  }
  return rgb;
}

export async function applyMaskOptions(img: DecodedImage, rawMask: Buffer, rgb: Buffer, o: CutoutOptions): Promise<MaskedImage> {
  const { width, height } = img;
  let alpha: Buffer = rawMask;
  let colours = rgb;
  let unknownPixels: number | undefined;
  if (o.postProcessMask) alpha = await postProcessMask(alpha, width, height);
  if (o.alphaMatting) {
    const matted = await alphaMatting(rgb, alpha, width, height, {
      foregroundThreshold: o.alphaMattingForegroundThreshold,
      backgroundThreshold: o.alphaMattingBackgroundThreshold,
      erodeSize: o.alphaMattingErodeSize,
    });
    alpha = matted.alpha;
    colours = matted.foregroundRgb;
    unknownPixels = matted.unknownPixels;
  }
  if (o.inverseMask) {
    if (alpha === rawMask) alpha = Buffer.from(alpha);
    for (let i = 0; i < alpha.length; i++) alpha[i] = 255 - alpha[i]!;
    colours = rgb; // the background is what is shown: its colours are the input's own
  }
  if (img.hadAlpha) {
    if (alpha === rawMask) alpha = Buffer.from(alpha);
    for (let i = 0, j = 3; i < alpha.length; i++, j += 4) alpha[i] = (alpha[i]! * img.rgba[j]! + 127) / 255;
  }
  return { alpha, rgb: colours, unknownPixels };
}
