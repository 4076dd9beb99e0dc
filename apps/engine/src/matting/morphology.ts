/**
 * Grey-level morphology and box sums on single-channel images, separable and O(pixels) per pass.
 * A square structuring element of side 2r+1; pixels outside the image are ignored (not treated as 0 or 255),
 * so objects touching the border are not eaten from it.
 */

type Grey = Uint8Array;

function minMax1D(src: Grey, dst: Grey, width: number, height: number, r: number, horizontal: boolean, isMin: boolean): void {
  const lineCount = horizontal ? height : width;
  const lineLen = horizontal ? width : height;
  const step = horizontal ? 1 : width;
  for (let line = 0; line < lineCount; line++) {
    const base = horizontal ? line * width : line;
    for (let i = 0; i < lineLen; i++) {
      const from = i - r < 0 ? 0 : i - r;
      const to = i + r >= lineLen ? lineLen - 1 : i + r;
      let best = isMin ? 255 : 0;
      for (let j = from; j <= to; j++) {
        const v = src[base + j * step]!;
        if (isMin ? v < best : v > best) best = v;
      }
      dst[base + i * step] = best;
    }
  }
}

function separable(src: Grey, width: number, height: number, r: number, isMin: boolean): Uint8Array {
  if (r <= 0) return Uint8Array.from(src);
  const tmp = new Uint8Array(src.length);
  const out = new Uint8Array(src.length);
  minMax1D(src, tmp, width, height, r, true, isMin);
  minMax1D(tmp, out, width, height, r, false, isMin);
  return out;
}

export const erode = (src: Grey, width: number, height: number, r: number): Uint8Array => separable(src, width, height, r, true);
export const dilate = (src: Grey, width: number, height: number, r: number): Uint8Array => separable(src, width, height, r, false);

/** Morphological opening (erosion then dilation): removes bright specks and thin spurs narrower than 2r+1. */
export function open(src: Grey, width: number, height: number, r: number): Uint8Array {
  return dilate(erode(src, width, height, r), width, height, r);
}

/**
 * Sum over the (2r+1)^2 window around every pixel, the window clipped to the image. Running sums in Float64
 * so long rows do not lose precision; result in `dst` (Float64Array of the same length).
 */
export function boxSum(src: ArrayLike<number>, width: number, height: number, r: number, dst: Float64Array, tmp: Float64Array): Float64Array {
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let acc = 0;
    for (let x = 0; x < r && x < width; x++) acc += src[row + x]!;
    for (let x = 0; x < width; x++) {
      if (x + r < width) acc += src[row + x + r]!;
      if (x - r - 1 >= 0) acc -= src[row + x - r - 1]!;
      tmp[row + x] = acc;
    }
  }
  for (let x = 0; x < width; x++) {
    let acc = 0;
    for (let y = 0; y < r && y < height; y++) acc += tmp[y * width + x]!;
    for (let y = 0; y < height; y++) {
      if (y + r < height) acc += tmp[(y + r) * width + x]!;
      if (y - r - 1 >= 0) acc -= tmp[(y - r - 1) * width + x]!;
      dst[y * width + x] = acc;
    }
  }
  return dst;
}
