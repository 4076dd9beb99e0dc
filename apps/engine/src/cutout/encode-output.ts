/** PNG encoding of the answer: RGBA cut-out, or a single-channel (greyscale) mask when only_mask is set. */
import sharp from 'sharp';

export async function encodeMaskPng(alpha: Buffer, width: number, height: number): Promise<Buffer> {
  return sharp(alpha, { raw: { width, height, channels: 1 } })
    .extractChannel(0)
    .toColourspace('b-w')
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
}

export async function encodeCutoutPng(rgb: Buffer, alpha: Buffer, width: number, height: number): Promise<Buffer> {
  const n = width * height;
  const rgba = Buffer.allocUnsafe(n * 4);
  for (let i = 0, j = 0, k = 0; i < n; i++, j += 4, k += 3) {
    const a = alpha[i]!;
    // Fully transparent pixels get black colour: smaller PNGs and no hidden background left in the file.
    if (a === 0) {
      rgba[j] = 0; rgba[j + 1] = 0; rgba[j + 2] = 0;
    } else {
      rgba[j] = rgb[k]!; rgba[j + 1] = rgb[k + 1]!; rgba[j + 2] = rgb[k + 2]!;
    }
    rgba[j + 3] = a;
  }
  return sharp(rgba, { raw: { width, height, channels: 4 } }).png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer();
}
