/**
 * Turns the bytes a client sent into 8-bit sRGB RGBA pixels, or a clear, provider-shaped error.
 * Checked from the header before any pixel is decoded: empty input, unknown format, pixel count over the limit
 * (decompression bombs). Then decoded with EXIF orientation applied; grey, CMYK, 16-bit, palette and alpha inputs
 * all come out as 8-bit sRGB + alpha. Animated images (GIF/WebP/...): the first frame is used.
 */
import sharp, { type Metadata, type OutputInfo } from 'sharp';

export class BadImageError extends Error {
  override readonly name = 'BadImageError';
}

export interface DecodedImage {
  width: number;
  height: number;
  /** Interleaved RGBA, 8 bits per channel, width*height*4 bytes, already rotated per EXIF. */
  rgba: Buffer;
  /** Whether the source had an alpha channel (its transparency is kept in the cut-out). */
  hadAlpha: boolean;
  format: string;
  /** Notes for the answer's meta (e.g. "animated image: first frame of 12 used"). */
  notes: string[];
}

export interface ImageHeader {
  width: number;
  height: number;
  format: string;
  hasAlpha: boolean;
  notes: string[];
}

/** Header-only checks, cheap enough for the request path: nothing is decoded. */
export async function inspectImage(bytes: Buffer, maxPixels: number): Promise<ImageHeader> {
  if (bytes.length === 0) throw new BadImageError('image is empty (0 bytes)');
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    if (/premature end|truncat|unexpected end/i.test(err instanceof Error ? err.message : '')) {
      throw new BadImageError('image data is truncated: the file ends before its header does');
    }
    throw new BadImageError('image could not be read: not a supported image format (JPEG, PNG, WebP, GIF, AVIF, TIFF)');
  }
  const { width, height } = meta;
  if (!width || !height) throw new BadImageError('image has zero width or height');
  const frameHeight = meta.pageHeight && meta.pages && meta.pages > 1 ? meta.pageHeight : height;
  if (width * frameHeight > maxPixels) {
    throw new BadImageError(
      `image is ${width}x${frameHeight} = ${width * frameHeight} pixels, over the limit of ${maxPixels} pixels`,
    );
  }
  const notes: string[] = [];
  if (meta.pages && meta.pages > 1) notes.push(`animated image with ${meta.pages} frames: only the first frame was processed`);
  return { width, height: frameHeight, format: meta.format ?? 'unknown', hasAlpha: meta.hasAlpha === true, notes };
}

export async function decodeImage(bytes: Buffer, maxPixels: number): Promise<DecodedImage> {
  const header = await inspectImage(bytes, maxPixels);
  const { notes } = header;
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(bytes, { failOn: 'truncated', limitInputPixels: maxPixels, pages: 1, page: 0 })
      .autoOrient()
      .toColourspace('srgb')
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (/truncat|premature|end of (file|stream)|unexpected end|corrupt|incomplete/i.test(reason)) {
      throw new BadImageError('image data is truncated or corrupt: the file ends before the image does');
    }
    throw new BadImageError(`image could not be decoded (${header.format} data is invalid)`);
  }
  const { info } = decoded;
  if (info.channels !== 4) throw new Error(`decoder produced ${info.channels} channels, expected 4`);
  return {
    width: info.width,
    height: info.height,
    rgba: decoded.data,
    hadAlpha: header.hasAlpha,
    format: header.format,
    notes,
  };
}

/** RGB for the model: transparent areas are composited over white so they read as background. */
export function rgbForModel(img: DecodedImage): Buffer {
  const n = img.width * img.height;
  const rgb = Buffer.allocUnsafe(n * 3);
  const src = img.rgba;
  for (let i = 0, j = 0, k = 0; i < n; i++, j += 4, k += 3) {
    const a = src[j + 3]!;
    if (a === 255) {
      rgb[k] = src[j]!;
      rgb[k + 1] = src[j + 1]!;
      rgb[k + 2] = src[j + 2]!;
    } else {
      const w = 255 - a;
      rgb[k] = (src[j]! * a + 255 * w + 127) / 255;
      rgb[k + 1] = (src[j + 1]! * a + 255 * w + 127) / 255;
      rgb[k + 2] = (src[j + 2]! * a + 255 * w + 127) / 255;
    }
  }
  return rgb;
}
