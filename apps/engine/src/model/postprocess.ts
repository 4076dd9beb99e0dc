/** Model output (1024x1024 probabilities in [0,1]) to an 8-bit mask at the input image's size. */
import sharp from 'sharp';
import { MODEL_SIZE } from './session.js';

export function probabilitiesToBytes(prob: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(prob.length);
  for (let i = 0; i < prob.length; i++) {
    const v = prob[i]! * 255 + 0.5;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : v;
  }
  return out;
}

/** Bilinear resize (no overshoot, unlike lanczos) of a 1024x1024 mask to width x height; 1 channel in and out. */
export async function maskToInputSize(mask1024: Buffer, width: number, height: number): Promise<Buffer> {
  const { data, info } = await sharp(mask1024, { raw: { width: MODEL_SIZE, height: MODEL_SIZE, channels: 1 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 1 || data.length !== width * height) {
    throw new Error(`mask resize produced ${info.channels} channels / ${data.length} bytes for ${width}x${height}`);
  }
  return data;
}
