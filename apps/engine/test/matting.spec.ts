import { buildTrimap, TRIMAP_BG, TRIMAP_FG, TRIMAP_UNKNOWN } from '../src/matting/trimap.js';
import { postProcessMask } from '../src/matting/post-process-mask.js';
import { solveClosedFormAlpha } from '../src/matting/closed-form-matting.js';
import { alphaMatting } from '../src/matting/alpha-matting.js';
import { dilate, erode, open } from '../src/matting/morphology.js';

const W = 96, H = 96;

function disk(cx: number, cy: number, r: number, soft = 0): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const d = Math.hypot(x - cx, y - cy) - r;
      m[y * W + x] = soft > 0 ? Math.round(255 * Math.min(1, Math.max(0, 0.5 - d / soft))) : d <= 0 ? 255 : 0;
    }
  return m;
}

describe('morphology', () => {
  it('erodes, dilates and opens with a square element', () => {
    const m = new Uint8Array(W * H);
    m[50 * W + 50] = 255; // a 1-pixel speck
    expect(dilate(m, W, H, 1).reduce((s, v) => s + (v ? 1 : 0), 0)).toBe(9);
    expect(erode(dilate(m, W, H, 1), W, H, 1)[50 * W + 50]).toBe(255);
    expect(open(m, W, H, 1).every((v) => v === 0)).toBe(true);
  });
});

describe('post_process_mask', () => {
  it('removes specks, keeps the object, and is binary', async () => {
    const m = disk(48, 48, 25);
    for (const [x, y] of [[5, 5], [90, 10], [10, 88]] as const) m[y * W + x] = 255;
    const out = await postProcessMask(m, W, H);
    expect(out.length).toBe(W * H);
    expect(out[5 * W + 5]).toBe(0);
    expect(out[10 * W + 90]).toBe(0);
    expect(out[88 * W + 10]).toBe(0);
    expect(out[48 * W + 48]).toBe(255);
    expect([...new Set(out)].sort()).toEqual([0, 255]);
  });
});

describe('trimap', () => {
  it('classifies by the thresholds and erodes both regions by erode_size', () => {
    const m = disk(48, 48, 25);
    const t0 = buildTrimap(m, W, H, { foregroundThreshold: 240, backgroundThreshold: 20, erodeSize: 0 });
    expect(t0.filter((v) => v === TRIMAP_UNKNOWN).length).toBe(0);
    const t = buildTrimap(m, W, H, { foregroundThreshold: 240, backgroundThreshold: 20, erodeSize: 3 });
    expect(t[48 * W + 48]).toBe(TRIMAP_FG);
    expect(t[0]).toBe(TRIMAP_BG);
    expect(t[48 * W + 48 + 25]).toBe(TRIMAP_UNKNOWN); // on the edge
    expect(t.filter((v) => v === TRIMAP_UNKNOWN).length).toBeGreaterThan(2 * Math.PI * 25 * 4);
  });
});

describe('closed-form alpha matting', () => {
  it('recovers a known soft edge from the colours alone', () => {
    // Horizontal ramp: foreground red, background blue, true alpha linear over 8 px.
    const w = 64, h = 16;
    const rgb = new Uint8Array(w * h * 3), truth = new Float32Array(w * h), tri = new Uint8Array(w * h), init = new Float32Array(w * h);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const a = Math.min(1, Math.max(0, (x - 28) / 8));
        const i = y * w + x;
        truth[i] = a;
        rgb[i * 3] = Math.round(220 * a + 20 * (1 - a));
        rgb[i * 3 + 1] = 40;
        rgb[i * 3 + 2] = Math.round(30 * a + 200 * (1 - a));
        tri[i] = x < 22 ? 0 : x > 42 ? 255 : 128;
        init[i] = x < 32 ? 0 : 1; // a hard guess: the solver must soften it
      }
    const alpha = solveClosedFormAlpha(rgb, tri, init, w, h);
    let err = 0;
    for (let i = 0; i < alpha.length; i++) err += Math.abs(alpha[i]! - truth[i]!);
    expect(err / alpha.length).toBeLessThan(0.03);
    expect(alpha[8 * w + 32]).toBeGreaterThan(0.3);
    expect(alpha[8 * w + 32]).toBeLessThan(0.7);
  });

  it('alphaMatting gives soft values in the band and keeps known pixels', async () => {
    const m = disk(48, 48, 25);
    const truth = disk(48, 48, 25, 6);
    const rgb = Buffer.alloc(W * H * 3);
    for (let i = 0; i < W * H; i++) {
      const a = truth[i]! / 255;
      rgb[i * 3] = Math.round(230 * a + 30 * (1 - a));
      rgb[i * 3 + 1] = Math.round(200 * a + 90 * (1 - a));
      rgb[i * 3 + 2] = Math.round(20 * a + 160 * (1 - a));
    }
    const out = await alphaMatting(rgb, m, W, H, { foregroundThreshold: 240, backgroundThreshold: 20, erodeSize: 5 });
    expect(out.unknownPixels).toBeGreaterThan(0);
    expect(out.alpha[48 * W + 48]).toBe(255);
    expect(out.alpha[0]).toBe(0);
    const soft = [...out.alpha].filter((v) => v > 20 && v < 235).length;
    expect(soft).toBeGreaterThan(50);
    let errMatted = 0, errHard = 0;
    for (let i = 0; i < W * H; i++) {
      errMatted += Math.abs(out.alpha[i]! - truth[i]!);
      errHard += Math.abs(m[i]! - truth[i]!);
    }
    expect(errMatted).toBeLessThan(errHard * 0.6);
  });
});
