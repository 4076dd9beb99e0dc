/**
 * IS-Net preprocessing: the image squashed to 1024x1024 RGB (aspect ratio is not kept, as in DIS training),
 * scaled to [0,1] and normalised with mean 0.5 and std 1.0 per channel (DIS's `normalize(im, [0.5]*3, [1.0]*3)`),
 * laid out planar (NCHW).
 */
import sharp from 'sharp';
import { MODEL_SIZE } from './session.js';

/** `rgb` is interleaved 8-bit RGB of width x height. */
export async function toModelInput(rgb: Buffer, width: number, height: number): Promise<Float32Array> {
  const resized = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(MODEL_SIZE, MODEL_SIZE, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (resized.info.channels !== 3) throw new Error(`expected 3 channels after resize, got ${resized.info.channels}`);
  return planarNormalised(resized.data);
}

export function planarNormalised(interleaved: Uint8Array): Float32Array {
  const plane = MODEL_SIZE * MODEL_SIZE;
  const out = new Float32Array(3 * plane);
  for (let i = 0, j = 0; i < plane; i++, j += 3) {
    out[i] = interleaved[j]! / 255 - 0.5;
    out[plane + i] = interleaved[j + 1]! / 255 - 0.5;
    out[2 * plane + i] = interleaved[j + 2]! / 255 - 0.5;
  }
  return out;
}
