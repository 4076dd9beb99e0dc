/**
 * post_process_mask: morphological opening (drops specks and thin spurs), Gaussian smoothing (rounds the jagged
 * outline), then a threshold at the middle grey, giving a clean binary 0/255 mask (the same recipe as rembg's
 * post_process). Kernel sizes grow with the image, since the model's own resolution is fixed at 1024 px.
 */
import sharp from 'sharp';
import { open } from './morphology.js';

export function postProcessScale(width: number, height: number): number {
  return Math.max(1, Math.max(width, height) / 1024);
}

export async function postProcessMask(mask: Uint8Array, width: number, height: number): Promise<Buffer> {
  const scale = postProcessScale(width, height);
  const opened = open(mask, width, height, Math.max(1, Math.round(1.5 * scale)));
  const { data, info } = await sharp(Buffer.from(opened.buffer, opened.byteOffset, opened.length), {
    raw: { width, height, channels: 1 },
  })
    .blur(2 * scale)
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 1) throw new Error(`blur produced ${info.channels} channels`);
  for (let i = 0; i < data.length; i++) data[i] = data[i]! < 128 ? 0 : 255;
  return data;
}
