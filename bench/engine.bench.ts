/**
 * Engine speed and memory at 1024 px:
 *   - images/s through the whole engine path (decode, preprocess, inference, resize, options, PNG encode);
 *   - overhead = engine time per image / bare onnxruntime session.run on the same prepared tensor, measured
 *     interleaved in the same run (target <= 1.15x);
 *   - peak RSS, and RSS after 50 images vs after N (should be flat).
 * Usage: npx tsx bench/engine.bench.ts [--images N=500] [--pairs K=5] [--arena] [--threads T] [--model fp16|quint8]
 */
import os from 'node:os';
import sharp from 'sharp';
import { removeBackground } from '../apps/engine/src/cutout/remove-background.js';
import { DEFAULT_CUTOUT_OPTIONS } from '../apps/engine/src/cutout/cutout-options.js';
import { decodeImage } from '../apps/engine/src/image/decode-image.js';
import { toModelInput } from '../apps/engine/src/model/preprocess.js';
import { createSegmentationSession, runSegmentation } from '../apps/engine/src/model/session.js';
import { Segmenter } from '../apps/engine/src/model/segmenter.js';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1]! : fallback;
};
const images = Number(opt('--images', '500'));
const pairs = Number(opt('--pairs', '5'));
const threads = Number(opt('--threads', String(os.availableParallelism())));
const arena = argv.includes('--arena');
const variant = opt('--model', 'fp16') as 'fp16' | 'quint8';
const mb = (b: number) => (b / 1024 / 1024).toFixed(0);

async function image1024(i: number): Promise<Buffer> {
  // A real-looking 1024x1024 photo, slightly different every time so nothing can be cached.
  const { data, info } = await sharp({ create: { width: 1024, height: 1024, channels: 3, background: { r: 40 + (i % 50), g: 120, b: 200 } } })
    .composite([{ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024"><circle cx="${480 + (i % 64)}" cy="512" r="300" fill="#d94"/><rect x="380" y="300" width="200" height="380" fill="#3a2"/></svg>`) }])
    .blur(1.2)
    .raw()
    .toBuffer({ resolveWithObject: true });
  for (let k = (i * 7919) % 997; k < data.length; k += 997) data[k] = (data[k]! + 13) & 255; // texture noise
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

async function main(): Promise<void> {
  const settings = { variant, threads, memArena: arena };
  const segmenter = new Segmenter(settings, 0);
  const tLoad = performance.now();
  await segmenter.load();
  console.log(`model ${variant}, threads ${threads}, arena ${arena ? 'on' : 'off'}: loaded in ${(performance.now() - tLoad).toFixed(0)} ms`);
  const bare = await createSegmentationSession(settings);

  // Overhead: interleave bare session.run and the full engine path on the same image.
  const sample = await image1024(0);
  const img = await decodeImage(sample, 1e9);
  const rgb = Buffer.alloc(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) img.rgba.copy(rgb, i * 3, i * 4, i * 4 + 3);
  const tensor = await toModelInput(rgb, img.width, img.height);
  await runSegmentation(bare, tensor);
  await removeBackground(segmenter, sample, DEFAULT_CUTOUT_OPTIONS, 1e9);
  let bareMs = 0, engineMs = 0;
  for (let k = 0; k < pairs; k++) {
    let t = performance.now();
    await runSegmentation(bare, tensor);
    bareMs += performance.now() - t;
    t = performance.now();
    await removeBackground(segmenter, sample, DEFAULT_CUTOUT_OPTIONS, 1e9);
    engineMs += performance.now() - t;
  }
  bareMs /= pairs;
  engineMs /= pairs;
  console.log(`bare onnxruntime run: ${bareMs.toFixed(0)} ms/image;  engine: ${engineMs.toFixed(0)} ms/image = ${(1000 / engineMs).toFixed(3)} images/s at 1024 px`);
  console.log(`overhead ratio engine/bare: ${(engineMs / bareMs).toFixed(3)}x (target <= 1.15x)`);
  await bare.release();

  // Memory: N distinct images through the engine path.
  let rss50 = 0;
  const t0 = performance.now();
  for (let i = 1; i <= images; i++) {
    await removeBackground(segmenter, await image1024(i), DEFAULT_CUTOUT_OPTIONS, 1e9);
    if (i === Math.min(50, images)) rss50 = process.memoryUsage().rss;
    if (i % 50 === 0) console.log(`  ${i} images, rss ${mb(process.memoryUsage().rss)} MB`);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const rssN = process.memoryUsage().rss;
  const peak = process.resourceUsage().maxRSS * 1024;
  console.log(`${images} images in ${elapsed.toFixed(1)} s = ${(images / elapsed).toFixed(3)} images/s (incl. generating the inputs)`);
  console.log(`RSS after ${Math.min(50, images)} images: ${mb(rss50)} MB; after ${images}: ${mb(rssN)} MB (ratio ${(rssN / rss50).toFixed(3)}); peak RSS ${mb(peak)} MB`);
  await segmenter.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
