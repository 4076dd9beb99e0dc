/**
 * The onnxruntime session for IS-Net, created once per process.
 *
 * Tuning (measured on a shared 2-core box with bench/engine.bench.ts): intra-op threads = ENGINE_THREADS (default: all cores, since the engine runs one image at a time and
 * the convolutions scale nearly linearly); inter-op threads = 1 and sequential execution (IS-Net is a chain,
 * parallel branches gain nothing and cost a second pool). The CPU memory arena is OFF by default: with it
 * RSS roughly doubles (the arena keeps its high-water mark of every activation size): bench peak RSS 4.3 GB with
 * the arena vs 2.0 GB without (two sessions loaded in that bench), steady RSS 2.7 GB vs 1.2 GB, and no speed
 * difference we could measure (ENGINE_MEM_ARENA=true turns it back on). Memory-pattern planning stays on: it
 * reuses the same buffers run after run at the fixed 1024x1024 shape.
 */
import * as ort from 'onnxruntime-node';
import { loadModelWeights, type ModelVariant } from './weights.js';

export const MODEL_SIZE = 1024;
/** The first output is the final, sigmoid-activated saliency map; the other 11 are deep-supervision side outputs. */
export const OUTPUT_NAME = 'output';
export const INPUT_NAME = 'input';

export interface SessionSettings {
  variant: ModelVariant;
  threads: number;
  memArena: boolean;
}

export async function createSegmentationSession(settings: SessionSettings): Promise<ort.InferenceSession> {
  const weights = await loadModelWeights(settings.variant);
  return ort.InferenceSession.create(weights, {
    executionProviders: ['cpu'],
    intraOpNumThreads: settings.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: settings.memArena,
    enableMemPattern: true,
  });
}

/** Runs the model on a prepared 1x3x1024x1024 tensor, fetching only the output used. */
export async function runSegmentation(session: ort.InferenceSession, input: Float32Array): Promise<Float32Array> {
  const tensor = new ort.Tensor('float32', input, [1, 3, MODEL_SIZE, MODEL_SIZE]);
  const result = await session.run({ [INPUT_NAME]: tensor }, [OUTPUT_NAME]);
  const out = result[OUTPUT_NAME];
  if (!out) throw new Error(`model returned no ${OUTPUT_NAME}`);
  const data = out.data as Float32Array;
  tensor.dispose?.();
  return data;
}
