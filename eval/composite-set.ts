/**
 * An evaluation set with exact ground truth, built from scikit-image's real photographs (installed by
 * `apt-get install python3-skimage`): a foreground photo cut by a known alpha (SVG shapes rendered
 * anti-aliased, some feathered, some with thin semi-transparent "hair" strands) composited over another,
 * defocused, photograph: I = alpha*F + (1 - alpha)*B. Deterministic (seeded), several sizes.
 */
import { existsSync } from 'node:fs';
import sharp from 'sharp';

export const SKIMAGE_DATA = '/usr/lib/python3/dist-packages/skimage/data';

export interface CompositeSpec {
  name: string;
  fg: string;
  bg: string;
  shape: 'ellipse' | 'blob' | 'star' | 'roundrect' | 'horse';
  width: number;
  height: number;
  hair: boolean;
  feather: number;
  bgBlur: number;
}

export interface CompositeSample {
  spec: CompositeSpec;
  png: Buffer;
  alpha: Uint8Array;
  width: number;
  height: number;
}

export const COMPOSITE_SPECS: CompositeSpec[] = [
  { name: 'chelsea-ellipse-320', fg: 'chelsea.png', bg: 'grass.png', shape: 'ellipse', width: 320, height: 240, hair: false, feather: 0, bgBlur: 3 },
  { name: 'astronaut-blob-480', fg: 'astronaut.png', bg: 'brick.png', shape: 'blob', width: 480, height: 480, hair: true, feather: 0, bgBlur: 4 },
  { name: 'coffee-roundrect-640', fg: 'coffee.png', bg: 'gravel.png', shape: 'roundrect', width: 640, height: 480, hair: false, feather: 1.5, bgBlur: 5 },
  { name: 'rocket-star-800', fg: 'rocket.jpg', bg: 'moon.png', shape: 'star', width: 800, height: 600, hair: false, feather: 0, bgBlur: 3 },
  { name: 'chelsea-horse-1024', fg: 'chelsea.png', bg: 'hubble_deep_field.jpg', shape: 'horse', width: 1024, height: 840, hair: false, feather: 0.8, bgBlur: 2 },
  { name: 'motorcycle-blob-1280', fg: 'motorcycle_left.png', bg: 'grass.png', shape: 'blob', width: 1280, height: 960, hair: true, feather: 0, bgBlur: 6 },
  { name: 'ihc-ellipse-1600', fg: 'ihc.png', bg: 'camera.png', shape: 'ellipse', width: 1600, height: 1200, hair: true, feather: 1, bgBlur: 8 },
  { name: 'coffee-star-560', fg: 'coffee.png', bg: 'retina.jpg', shape: 'star', width: 560, height: 420, hair: true, feather: 0, bgBlur: 4 },
  { name: 'astronaut-horse-640', fg: 'astronaut.png', bg: 'gravel.png', shape: 'horse', width: 640, height: 525, hair: false, feather: 0, bgBlur: 5 },
  { name: 'rocket-roundrect-1024', fg: 'rocket.jpg', bg: 'brick.png', shape: 'roundrect', width: 1024, height: 768, hair: true, feather: 0.5, bgBlur: 4 },
];

export function skimageAvailable(): boolean {
  return existsSync(`${SKIMAGE_DATA}/chelsea.png`);
}

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedOf(s: string): number {
  let h = 2166136261;
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

function shapePath(spec: CompositeSpec, rand: () => number): { svg: string; outline: [number, number][] } {
  const { width: w, height: h } = spec;
  const cx = w / 2, cy = h / 2;
  const rx = w * 0.3, ry = h * 0.34;
  const outline: [number, number][] = [];
  const K = 64;
  let radius: (t: number) => number;
  if (spec.shape === 'blob') {
    const harmonics = [1, 2, 3, 5].map((k) => ({ k, a: 0.05 + rand() * 0.1, p: rand() * Math.PI * 2 }));
    radius = (t) => 1 + harmonics.reduce((s, hh) => s + hh.a * Math.sin(hh.k * t + hh.p), 0);
  } else if (spec.shape === 'star') {
    radius = (t) => 0.62 + 0.38 * Math.pow(Math.abs(Math.cos((5 * t) / 2)), 1.5);
  } else {
    radius = () => 1;
  }
  for (let i = 0; i < K; i++) {
    const t = (i / K) * Math.PI * 2;
    const r = radius(t);
    outline.push([cx + rx * r * Math.cos(t), cy + ry * r * Math.sin(t)]);
  }
  let body: string;
  if (spec.shape === 'ellipse') body = `<ellipse cx="${cx}" cy="${cy}" rx="${rx}" ry="${ry}" fill="#fff"/>`;
  else if (spec.shape === 'roundrect') body = `<rect x="${cx - rx}" y="${cy - ry}" width="${2 * rx}" height="${2 * ry}" rx="${rx * 0.25}" fill="#fff"/>`;
  else if (spec.shape === 'horse') body = '';
  else body = `<path d="M${outline.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' L')} Z" fill="#fff"/>`;
  return { svg: body, outline };
}

async function alphaOf(spec: CompositeSpec, rand: () => number, dir: string): Promise<Uint8Array> {
  const { width: w, height: h } = spec;
  const { svg, outline } = shapePath(spec, rand);
  let strands = '';
  if (spec.hair) {
    for (let i = 0; i < 140; i++) {
      const [x, y] = outline[Math.floor(rand() * outline.length)]!;
      const dx = x - w / 2, dy = y - h / 2;
      const len = Math.hypot(dx, dy) || 1;
      const l = Math.min(w, h) * (0.03 + rand() * 0.07);
      const bend = (rand() - 0.5) * l;
      const ex = x + (dx / len) * l - (dy / len) * bend * 0.3, ey = y + (dy / len) * l + (dx / len) * bend * 0.3;
      const mx = x + (dx / len) * l * 0.5 + (dy / len) * bend, my = y + (dy / len) * l * 0.5 - (dx / len) * bend;
      strands += `<path d="M${x.toFixed(1)},${y.toFixed(1)} Q${mx.toFixed(1)},${my.toFixed(1)} ${ex.toFixed(1)},${ey.toFixed(1)}" stroke="#fff" stroke-opacity="${(0.5 + rand() * 0.5).toFixed(2)}" stroke-width="${(0.6 + rand() * 1.4).toFixed(2)}" fill="none"/>`;
    }
  }
  const filter = spec.feather > 0 ? `<filter id="f"><feGaussianBlur stdDeviation="${spec.feather}"/></filter>` : '';
  let doc = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${filter}<rect width="${w}" height="${h}" fill="#000"/><g${spec.feather > 0 ? ' filter="url(#f)"' : ''}>${svg}${strands}</g></svg>`;
  let base = sharp(Buffer.from(doc));
  if (spec.shape === 'horse') {
    // skimage's horse.png: a black horse on white; invert it into a white silhouette, fitted to 70% of the frame.
    const horse = await sharp(`${dir}/horse.png`)
      .flatten({ background: '#fff' })
      .greyscale()
      .negate({ alpha: false })
      .resize(Math.round(w * 0.7), Math.round(h * 0.7), { fit: 'inside', kernel: 'lanczos3' })
      .png()
      .toBuffer();
    const m = await sharp(horse).metadata();
    base = sharp(Buffer.from(doc)).composite([
      { input: horse, left: Math.round((w - m.width!) / 2), top: Math.round((h - m.height!) / 2), blend: 'lighten' },
    ]);
    if (spec.feather > 0) base = sharp(await base.png().toBuffer()).blur(spec.feather);
  }
  const { data, info } = await sharp(await base.png().toBuffer()).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 1 || data.length !== w * h) throw new Error('alpha render failed');
  return data;
}

async function photo(path: string, w: number, h: number, blur: number): Promise<Buffer> {
  let p = sharp(path).removeAlpha().toColourspace('srgb').resize(w, h, { fit: 'cover' });
  if (blur > 0) p = sharp(await p.png().toBuffer()).blur(blur);
  const { data, info } = await p.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${path}: ${info.channels} channels`);
  return data;
}

/** `dir` holds the photographs named in the spec (and horse.png for the horse shape). */
export async function buildComposite(spec: CompositeSpec, dir = SKIMAGE_DATA): Promise<CompositeSample> {
  const rand = rng(seedOf(spec.name));
  const { width: w, height: h } = spec;
  const alpha = await alphaOf(spec, rand, dir);
  const fg = await photo(`${dir}/${spec.fg}`, w, h, 0);
  const bg = await photo(`${dir}/${spec.bg}`, w, h, spec.bgBlur);
  const out = Buffer.allocUnsafe(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const a = alpha[i]! / 255;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(a * fg[i * 3 + c]! + (1 - a) * bg[i * 3 + c]!);
  }
  const png = await sharp(out, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
  return { spec, png, alpha, width: w, height: h };
}
