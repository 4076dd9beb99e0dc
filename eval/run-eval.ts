/**
 * npm run eval: quality of the engine on the composite set (eval/composite-set.ts) against a trivial baseline.
 * Prints, per option set, mean IoU (alpha >= 50%), mean absolute alpha error over the image and over the edge
 * band. Inference runs once per image; the option sets reuse its mask, as the engine's mask cache does.
 *   --only name1,name2   restrict to some samples;   --model fp16|quint8
 */
import os from 'node:os';
import { applyMaskOptions, rgbOf } from '../apps/engine/src/cutout/apply-mask-options.js';
import { DEFAULT_CUTOUT_OPTIONS, type CutoutOptions } from '../apps/engine/src/cutout/cutout-options.js';
import { decodeImage } from '../apps/engine/src/image/decode-image.js';
import { Segmenter } from '../apps/engine/src/model/segmenter.js';
import { borderColourBaseline, edgeBand, iou, meanAbsError } from './metrics.js';
import { buildComposite, COMPOSITE_SPECS, skimageAvailable } from './composite-set.js';

const OPTION_SETS: Record<string, Partial<CutoutOptions>> = {
  default: {},
  post_process_mask: { postProcessMask: true },
  alpha_matting: { alphaMatting: true },
  'alpha_matting fg=200 bg=10 erode=3': { alphaMatting: true, alphaMattingForegroundThreshold: 200, alphaMattingBackgroundThreshold: 10, alphaMattingErodeSize: 3 },
  'post_process + alpha_matting': { postProcessMask: true, alphaMatting: true },
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  if (!skimageAvailable()) throw new Error('scikit-image data not found: apt-get install -y python3-skimage');
  const only = arg('--only')?.split(',');
  const specs = COMPOSITE_SPECS.filter((s) => !only || only.includes(s.name));
  const variant = (arg('--model') ?? 'fp16') as 'fp16' | 'quint8';
  const segmenter = new Segmenter({ variant, threads: os.availableParallelism(), memArena: false }, 0);
  await segmenter.load();
  const rows: Record<string, { iou: number[]; mae: number[]; edge: number[]; ms: number[] }> = {};
  const add = (set: string, pred: Uint8Array, truth: Uint8Array, band: Uint8Array, ms: number) => {
    const r = (rows[set] ??= { iou: [], mae: [], edge: [], ms: [] });
    r.iou.push(iou(pred, truth));
    r.mae.push(meanAbsError(pred, truth));
    r.edge.push(meanAbsError(pred, truth, band));
    r.ms.push(ms);
  };
  for (const spec of specs) {
    const sample = await buildComposite(spec);
    const img = await decodeImage(sample.png, 1e9);
    const rgb = rgbOf(img);
    const band = edgeBand(sample.alpha, img.width, img.height, Math.max(2, Math.round(Math.max(img.width, img.height) / 256)));
    let t = performance.now();
    const seg = await segmenter.segment(rgb, img.width, img.height);
    const inferMs = performance.now() - t;
    add('baseline: colour distance from border', borderColourBaseline(rgb, img.width, img.height), sample.alpha, band, 0);
    const line: string[] = [];
    for (const [name, o] of Object.entries(OPTION_SETS)) {
      t = performance.now();
      const out = await applyMaskOptions(img, Buffer.from(seg.mask), rgb, { ...DEFAULT_CUTOUT_OPTIONS, ...o });
      add(name, out.alpha, sample.alpha, band, performance.now() - t);
      line.push(`${name.split(' ')[0]}=${iou(out.alpha, sample.alpha).toFixed(3)}`);
    }
    console.log(`${spec.name.padEnd(24)} ${img.width}x${img.height} inference ${inferMs.toFixed(0)} ms  IoU ${line.join(' ')}`);
  }
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  console.log(`\n${specs.length} composites (skimage photographs, known alpha), model IS-Net ${variant}`);
  console.log(`${'option set'.padEnd(40)} ${'mean IoU'.padStart(9)} ${'alpha MAE'.padStart(10)} ${'edge MAE'.padStart(9)} ${'opt ms'.padStart(7)}`);
  for (const [name, r] of Object.entries(rows)) {
    console.log(`${name.padEnd(40)} ${mean(r.iou).toFixed(4).padStart(9)} ${mean(r.mae).toFixed(4).padStart(10)} ${mean(r.edge).toFixed(4).padStart(9)} ${mean(r.ms).toFixed(0).padStart(7)}`);
  }
  const d = rows['default']!, am = rows['alpha_matting']!;
  console.log(`\ntarget IoU >= 0.90 with default options: ${mean(d.iou) >= 0.9 ? 'met' : 'NOT met'} (${mean(d.iou).toFixed(4)})`);
  console.log(`alpha matting edge error ${mean(am.edge).toFixed(4)} vs default ${mean(d.edge).toFixed(4)}: ${mean(am.edge) < mean(d.edge) ? 'lower' : 'NOT lower'}`);
  await segmenter.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
