/**
 * Closed-form alpha matting (Levin, Lischinski & Weiss, "A Closed-Form Solution to Natural Image Matting",
 * 2008) solved matrix-free: the matting Laplacian L is never built; L*p is computed with box filters as in
 * He, Sun & Tang, "Fast Matting Using Large Kernel Matting Laplacian Matrices" (2010). Alpha minimises
 *   a^T L a + lambda * sum_known (a_i - trimap_i)^2
 * i.e. (L + lambda D) a = lambda D t, solved by Jacobi-preconditioned conjugate gradients, warm-started from the
 * model's soft mask. Under the colour-line model alpha is locally an affine function of colour, so fine
 * structures like hair get fractional alpha that follows the image rather than the blurry model output.
 */
import { boxSum } from './morphology.js';

export interface ClosedFormOptions {
  /** Window radius (window side 2r+1). */
  radius: number;
  /** Regulariser on the window covariance (colours in [0,1]). */
  epsilon: number;
  /** Weight of the trimap's known pixels. */
  lambda: number;
  maxIterations: number;
  tolerance: number;
}

export const DEFAULT_CLOSED_FORM: ClosedFormOptions = { radius: 1, epsilon: 1e-5, lambda: 100, maxIterations: 300, tolerance: 1e-5 };

/**
 * rgb: interleaved 8-bit RGB of w x h; trimap: 0 / 255 known, anything else unknown; init: initial alpha in
 * [0,1] (Float32Array). Returns alpha in [0,1] (Float32Array), known pixels equal to the trimap.
 */
export function solveClosedFormAlpha(
  rgb: Uint8Array,
  trimap: Uint8Array,
  init: Float32Array,
  w: number,
  h: number,
  o: ClosedFormOptions = DEFAULT_CLOSED_FORM,
): Float32Array {
  const n = w * h;
  const r = o.radius;
  const tmp = new Float64Array(n);
  const sum = new Float64Array(n);
  const I0 = new Float64Array(n), I1 = new Float64Array(n), I2 = new Float64Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    I0[i] = rgb[j]! / 255;
    I1[i] = rgb[j + 1]! / 255;
    I2[i] = rgb[j + 2]! / 255;
  }
  // Window pixel counts (clipped at the image border) and per-window colour statistics.
  const ones = new Float64Array(n).fill(1);
  const cnt = Float64Array.from(boxSum(ones, w, h, r, sum, tmp));
  const mean = (src: Float64Array): Float64Array => {
    boxSum(src, w, h, r, sum, tmp);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = sum[i]! / cnt[i]!;
    return out;
  };
  const mu0 = mean(I0), mu1 = mean(I1), mu2 = mean(I2);
  const prod = new Float64Array(n);
  const cov = (a: Float64Array, b: Float64Array, ma: Float64Array, mb: Float64Array): Float64Array => {
    for (let i = 0; i < n; i++) prod[i] = a[i]! * b[i]!;
    const m = mean(prod);
    for (let i = 0; i < n; i++) m[i] = m[i]! - ma[i]! * mb[i]!;
    return m;
  };
  const s00 = cov(I0, I0, mu0, mu0), s01 = cov(I0, I1, mu0, mu1), s02 = cov(I0, I2, mu0, mu2);
  const s11 = cov(I1, I1, mu1, mu1), s12 = cov(I1, I2, mu1, mu2), s22 = cov(I2, I2, mu2, mu2);
  // Inverse of (Sigma + eps/|w| I), symmetric 3x3: keep 6 entries, reuse the covariance arrays.
  for (let i = 0; i < n; i++) {
    const e = o.epsilon / cnt[i]!;
    const a = s00[i]! + e, b = s01[i]!, c = s02[i]!, d = s11[i]! + e, f = s12[i]!, g = s22[i]! + e;
    const c00 = d * g - f * f, c01 = c * f - b * g, c02 = b * f - c * d;
    const c11 = a * g - c * c, c12 = b * c - a * f, c22 = a * d - b * b;
    const det = a * c00 + b * c01 + c * c02;
    const inv = det !== 0 ? 1 / det : 0;
    s00[i] = c00 * inv; s01[i] = c01 * inv; s02[i] = c02 * inv;
    s11[i] = c11 * inv; s12[i] = c12 * inv; s22[i] = c22 * inv;
  }

  const known = new Uint8Array(n);
  const target = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = trimap[i]!;
    if (t === 0 || t === 255) {
      known[i] = 1;
      target[i] = t / 255;
    }
  }

  const pm = new Float64Array(n), q0 = new Float64Array(n), q1 = new Float64Array(n), q2 = new Float64Array(n);
  const A0 = new Float64Array(n), A1 = new Float64Array(n), A2 = new Float64Array(n), B = new Float64Array(n);
  // out = (L + lambda D) p
  const apply = (p: Float64Array, out: Float64Array): void => {
    boxSum(p, w, h, r, pm, tmp);
    for (let i = 0; i < n; i++) prod[i] = I0[i]! * p[i]!;
    boxSum(prod, w, h, r, q0, tmp);
    for (let i = 0; i < n; i++) prod[i] = I1[i]! * p[i]!;
    boxSum(prod, w, h, r, q1, tmp);
    for (let i = 0; i < n; i++) prod[i] = I2[i]! * p[i]!;
    boxSum(prod, w, h, r, q2, tmp);
    for (let i = 0; i < n; i++) {
      const inv = 1 / cnt[i]!;
      const pbar = pm[i]! * inv;
      const c0 = q0[i]! * inv - mu0[i]! * pbar;
      const c1 = q1[i]! * inv - mu1[i]! * pbar;
      const c2 = q2[i]! * inv - mu2[i]! * pbar;
      const a0 = s00[i]! * c0 + s01[i]! * c1 + s02[i]! * c2;
      const a1 = s01[i]! * c0 + s11[i]! * c1 + s12[i]! * c2;
      const a2 = s02[i]! * c0 + s12[i]! * c1 + s22[i]! * c2;
      A0[i] = a0; A1[i] = a1; A2[i] = a2;
      B[i] = pbar - a0 * mu0[i]! - a1 * mu1[i]! - a2 * mu2[i]!;
    }
    boxSum(A0, w, h, r, q0, tmp);
    boxSum(A1, w, h, r, q1, tmp);
    boxSum(A2, w, h, r, q2, tmp);
    boxSum(B, w, h, r, pm, tmp);
    for (let i = 0; i < n; i++) {
      const lp = cnt[i]! * p[i]! - (q0[i]! * I0[i]! + q1[i]! * I1[i]! + q2[i]! * I2[i]! + pm[i]!);
      out[i] = lp + (known[i] ? o.lambda * p[i]! : 0);
    }
  };

  // Jacobi preconditioner from the Laplacian's diagonal bound n_i (1 - 1/|w|) plus the data term.
  const precond = new Float64Array(n);
  for (let i = 0; i < n; i++) precond[i] = 1 / (cnt[i]! * (1 - 1 / cnt[i]!) + (known[i] ? o.lambda : 0) + 1e-9);

  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = known[i] ? target[i]! : init[i]!;
  const res = new Float64Array(n), z = new Float64Array(n), dir = new Float64Array(n), Ad = new Float64Array(n);
  apply(x, Ad);
  let bNorm = 0;
  for (let i = 0; i < n; i++) {
    const b = known[i] ? o.lambda * target[i]! : 0;
    bNorm += b * b;
    res[i] = b - Ad[i]!;
    z[i] = res[i]! * precond[i]!;
    dir[i] = z[i]!;
  }
  bNorm = Math.sqrt(bNorm) || 1;
  let rz = 0;
  for (let i = 0; i < n; i++) rz += res[i]! * z[i]!;
  for (let it = 0; it < o.maxIterations; it++) {
    apply(dir, Ad);
    let dAd = 0;
    for (let i = 0; i < n; i++) dAd += dir[i]! * Ad[i]!;
    if (dAd <= 0) break;
    const step = rz / dAd;
    let rNorm = 0;
    for (let i = 0; i < n; i++) {
      x[i] = x[i]! + step * dir[i]!;
      res[i] = res[i]! - step * Ad[i]!;
      rNorm += res[i]! * res[i]!;
    }
    if (Math.sqrt(rNorm) / bNorm < o.tolerance) break;
    let rzNext = 0;
    for (let i = 0; i < n; i++) {
      z[i] = res[i]! * precond[i]!;
      rzNext += res[i]! * z[i]!;
    }
    const beta = rzNext / rz;
    rz = rzNext;
    for (let i = 0; i < n; i++) dir[i] = z[i]! + beta * dir[i]!;
  }
  const alpha = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = known[i] ? target[i]! : x[i]!;
    alpha[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return alpha;
}
