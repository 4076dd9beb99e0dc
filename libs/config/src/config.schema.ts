/**
 * Every environment variable maskflow reads, parsed once at start-up. `process.env` is read nowhere else.
 * Defaults are the embedded local setup (Postgres and Redis on localhost, the bundled S3 gateway from
 * scripts/s3/radosgw.sh, the self-hosted engine when no ModelsLab key is set).
 */
import { z } from 'zod';
import { registerLogSecrets } from './log-scrubber.js';
import { OutboundPolicy } from '../../net/src/index.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const httpUrl = z.url({ protocol: /^https?$/ });

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
/** "5s,5m,30m,2h" -> [5000, 300000, 1800000, 7200000]: the consumer webhook retry delays. */
export function parseDurationList(value: string): number[] | undefined {
  const out: number[] = [];
  for (const part of value.split(',').map((p) => p.trim())) {
    const m = /^(\d+)(ms|s|m|h)$/.exec(part);
    if (!m) return undefined;
    out.push(Number(m[1]) * DURATION_UNITS_MS[m[2] as keyof typeof DURATION_UNITS_MS]);
  }
  return out.length > 0 && out.length <= 50 ? out : undefined;
}
const durationList = (fallback: string) => z.string().default(fallback).transform((v, ctx) => {
  const parsed = parseDurationList(v);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: 'must be 1 to 50 comma-separated durations such as 5s,5m,2h (units ms, s, m, h)' });
    return z.NEVER;
  }
  return parsed;
});
/** 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h: about a day and a half of retries. */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,14h';

export const DEV_API_KEY = 'maskflow-dev-key';

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    PORT: int(0, 65535).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).default('postgresql://postgres@127.0.0.1:5432/maskflow'),
    MIGRATE_ON_START: bool.default(true),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
    QUEUE_PREFIX: z
      .string()
      .regex(/\{[^{}]+\}/, 'must contain a Redis Cluster hash tag such as {maskflow}')
      .default('{maskflow}'),
    S3_ENDPOINT: httpUrl.optional().default('http://127.0.0.1:7480'),
    S3_PUBLIC_ENDPOINT: httpUrl.optional(),
    S3_REGION: z.string().min(1).default('us-east-1'),
    S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name').default('maskflow'),
    S3_ACCESS_KEY_ID: z.string().min(1).default('maskflow-test-access'),
    S3_SECRET_ACCESS_KEY: z.string().min(1).default('maskflow-test-secret-key-0123456789'),
    S3_FORCE_PATH_STYLE: bool.default(true),
    S3_CREATE_BUCKET: bool.default(true),
    PROVIDER: z.enum(['modelslab', 'engine']).optional(),
    MODELSLAB_API_KEY: z.string().min(1).optional(),
    MODELSLAB_BASE_URL: httpUrl.default('https://modelslab.com'),
    ENGINE_URL: httpUrl.default('http://127.0.0.1:7000'),
    ENGINE_API_KEY: z.string().min(1).optional(),
    PROVIDER_FALLBACK: z.enum(['engine']).optional(),
    PROVIDER_MAX_IN_FLIGHT: int(1, 1000).default(5),
    PROVIDER_TIMEOUT_MS: int(100, 600_000).default(30_000),
    PROVIDER_RESULT_TIMEOUT_MS: int(1000, 86_400_000).default(15 * 60_000),
    PROVIDER_POLL_MAX_INTERVAL_MS: int(100, 600_000).default(30_000),
    PROVIDER_MAX_ATTEMPTS: int(1, 100).default(5),
    PROVIDER_BACKOFF_MS: int(0, 600_000).default(2000),
    PUBLIC_BASE_URL: httpUrl.optional(),
    API_KEYS: z.string().optional(),
    MAX_BODY_BYTES: int(1024, 1 << 30).default(30 * 1024 * 1024),
    MAX_IMAGE_BYTES: int(1, 1 << 30).default(20 * 1024 * 1024),
    MAX_OUTPUT_BYTES: int(1, 1 << 30).default(50 * 1024 * 1024),
    MAX_OUTPUTS: int(1, 100).default(4),
    OUTPUT_DOWNLOAD_TIMEOUT_MS: int(100, 600_000).default(60_000),
    STORE_CONCURRENCY: int(1, 256).default(4),
    STORE_MAX_ATTEMPTS: int(1, 100).default(5),
    PRESIGN_TTL_SECONDS: int(1, 7 * 24 * 3600).default(3600),
    SHUTDOWN_GRACE_MS: int(0, 600_000).default(25_000),
    RECONCILE_INTERVAL_MS: int(100, 86_400_000).default(30_000),
    RECONCILE_QUIET_MS: int(0, 86_400_000).default(60_000),
    WORKER_LOCK_MS: int(1000, 600_000).default(30_000),
    WEBHOOK_RETRY_SCHEDULE: durationList(DEFAULT_WEBHOOK_RETRY_SCHEDULE),
    WEBHOOK_RETRY_JITTER: z.coerce.number().min(0).max(1).default(0.2),
    WEBHOOK_TIMEOUT_MS: int(100, 25_000).default(10_000),
    WEBHOOK_CONCURRENCY: int(1, 256).default(16),
    WEBHOOK_DISPATCH_INTERVAL_MS: int(20, 600_000).default(1000),
    WEBHOOK_SECRET_GRACE_SECONDS: int(0, 30 * 86_400).default(86_400),
    // Access: managed keys, admin, rate limits, tenant share of the provider, facade webhooks.
    ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
    API_KEY_CACHE_TTL_MS: int(0, 600_000).default(5000),
    RATE_LIMIT_REQUESTS: int(0, 1_000_000_000).default(6000),
    RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(60),
    TENANT_MAX_SHARE: z.coerce.number().gt(0).max(1).default(1),
    TENANT_MAX_IN_FLIGHT: int(1, 1000).optional(),
    FACADE_WEBHOOK_INTERVAL_MS: int(50, 600_000).default(1000),
    FACADE_WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
    FACADE_WEBHOOK_MAX_ATTEMPTS: int(1, 50).default(5),
    BATCH_WINDOW: int(1, 100_000).default(200),
    BATCH_FEED_INTERVAL_MS: int(10, 60_000).default(250),
    BATCH_MAX_ROWS: int(1, 1_000_000).default(1_000_000),
    // Operability: readiness checks, metrics.
    HEALTH_CHECK_TIMEOUT_MS: int(50, 60_000).default(2000),
    METRICS_PORT: int(0, 65535).default(9464),
    METRICS_CACHE_MS: int(0, 600_000).default(5000),
    // Outbound requests to user-supplied URLs (image_url, callback_url, webhook endpoints, output links).
    OUTBOUND_ALLOW_CIDRS: z.string().default(''),
    OUTBOUND_ALLOW_HOSTS: z.string().default(''),
    PROVIDER_WEBHOOK_MAX_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  })
  .superRefine((env, ctx) => {
    try {
      OutboundPolicy.fromLists(env.OUTBOUND_ALLOW_CIDRS, env.OUTBOUND_ALLOW_HOSTS);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['OUTBOUND_ALLOW_CIDRS'], message: `OUTBOUND_ALLOW_CIDRS / OUTBOUND_ALLOW_HOSTS: ${(err as Error).message}` });
    }
    if (env.PROVIDER === 'modelslab' && !env.MODELSLAB_API_KEY) {
      ctx.addIssue({ code: 'custom', path: ['MODELSLAB_API_KEY'], message: 'is required when PROVIDER=modelslab' });
    }
    if (env.PROVIDER_FALLBACK === 'engine' && env.PROVIDER === 'engine') {
      ctx.addIssue({ code: 'custom', path: ['PROVIDER_FALLBACK'], message: 'cannot be the engine when PROVIDER=engine already' });
    }
    if (env.NODE_ENV === 'production' && !env.API_KEYS) {
      ctx.addIssue({ code: 'custom', path: ['API_KEYS'], message: 'is required when NODE_ENV=production' });
    }
  });

/** Every variable the api and worker read (the deployment files are checked against this list). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

export interface AppConfig {
  env: 'development' | 'production' | 'test';
  logLevel: string;
  http: { port: number; host: string; maxBodyBytes: number };
  databaseUrl: string;
  migrateOnStart: boolean;
  redis: { url: string; prefix: string };
  s3: { endpoint: string; publicEndpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string; forcePathStyle: boolean; createBucket: boolean; presignTtlSeconds: number };
  provider: {
    kind: 'modelslab' | 'engine';
    baseUrl: string;
    apiKey: string;
    maxInFlight: number;
    timeoutMs: number;
    resultTimeoutMs: number;
    pollMaxIntervalMs: number;
    maxAttempts: number;
    backoffMs: number;
    /** Where jobs go after a provider-side failure (402, 5xx, timeouts) at the primary provider. */
    fallback: { kind: 'engine'; baseUrl: string; apiKey: string } | undefined;
  };
  publicBaseUrl: string | undefined;
  apiKeys: string[];
  usingDevApiKey: boolean;
  limits: { maxImageBytes: number; maxOutputBytes: number; maxOutputs: number; outputDownloadTimeoutMs: number };
  store: { concurrency: number; maxAttempts: number };
  shutdownGraceMs: number;
  reconcile: { intervalMs: number; quietMs: number };
  /** A worker's job lock and provider-slot lease: how soon a killed worker's jobs and slots go to another. */
  workerLockMs: number;
  /** Consumer webhooks: retry delays after each failed attempt (+-jitter), per-attempt timeout, workers. */
  webhooks: { retryScheduleMs: number[]; jitter: number; timeoutMs: number; concurrency: number; dispatchIntervalMs: number; secretGraceSeconds: number };
  access: {
    /** Guards /v1/admin; admin endpoints are off when unset. */
    adminApiKey: string | undefined;
    /** How long a replica trusts what it read about a managed key (revocation takes effect within this). */
    keyCacheTtlMs: number;
    /** Requests per window per key (0 = no limit); a managed key may carry its own limit. */
    rateLimit: { requests: number; windowSeconds: number };
    /** Provider slots one tenant may hold at once (TENANT_MAX_SHARE of PROVIDER_MAX_IN_FLIGHT, or TENANT_MAX_IN_FLIGHT). */
    tenantMaxInFlight: number;
  };
  facade: { webhookIntervalMs: number; webhookTimeoutMs: number; webhookMaxAttempts: number };
  /** Batches: at most `window` items of a batch in the queue at once, fed every `feedIntervalMs`. */
  batches: { window: number; feedIntervalMs: number; maxRows: number };
  /** /health/ready's per-dependency timeout; the worker's metrics listener (0 = off); how long /metrics reuses Postgres/Redis gauges. */
  ops: { healthTimeoutMs: number; metricsPort: number; metricsCacheMs: number };
  /** Which private addresses user-supplied URLs may reach after all (libs/net OutboundPolicy); the provider webhook body cap. */
  outbound: { allowCidrs: string[]; allowHosts: string[]; providerWebhookMaxBytes: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; a bad or missing variable throws a ConfigError naming it. */
export function loadConfig(source: Record<string, string | undefined> = process.env): AppConfig {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const e = parsed.data;
  const kind = e.PROVIDER ?? (e.MODELSLAB_API_KEY ? 'modelslab' : 'engine');
  const apiKeys = (e.API_KEYS ?? DEV_API_KEY)
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (apiKeys.length === 0) throw new ConfigError(['API_KEYS: must list at least one key']);
  const password = (url: string) => {
    try {
      return decodeURIComponent(new URL(url).password);
    } catch {
      return undefined;
    }
  };
  // Never in a log line, whatever a call site passes (the public development key is no secret).
  registerLogSecrets([e.MODELSLAB_API_KEY, e.ENGINE_API_KEY, e.ADMIN_API_KEY, e.S3_SECRET_ACCESS_KEY, password(e.DATABASE_URL), password(e.REDIS_URL), ...apiKeys.filter((k) => k !== DEV_API_KEY)]);
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    http: { port: e.PORT, host: e.HOST, maxBodyBytes: e.MAX_BODY_BYTES },
    databaseUrl: e.DATABASE_URL,
    migrateOnStart: e.MIGRATE_ON_START,
    redis: { url: e.REDIS_URL, prefix: e.QUEUE_PREFIX },
    s3: {
      endpoint: e.S3_ENDPOINT,
      publicEndpoint: e.S3_PUBLIC_ENDPOINT ?? e.S3_ENDPOINT,
      region: e.S3_REGION,
      bucket: e.S3_BUCKET,
      accessKeyId: e.S3_ACCESS_KEY_ID,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
      createBucket: e.S3_CREATE_BUCKET,
      presignTtlSeconds: e.PRESIGN_TTL_SECONDS,
    },
    provider: {
      kind,
      baseUrl: (kind === 'modelslab' ? e.MODELSLAB_BASE_URL : e.ENGINE_URL).replace(/\/+$/, ''),
      apiKey: kind === 'modelslab' ? (e.MODELSLAB_API_KEY ?? '') : (e.ENGINE_API_KEY ?? 'engine'),
      maxInFlight: e.PROVIDER_MAX_IN_FLIGHT,
      timeoutMs: e.PROVIDER_TIMEOUT_MS,
      resultTimeoutMs: e.PROVIDER_RESULT_TIMEOUT_MS,
      pollMaxIntervalMs: e.PROVIDER_POLL_MAX_INTERVAL_MS,
      maxAttempts: e.PROVIDER_MAX_ATTEMPTS,
      backoffMs: e.PROVIDER_BACKOFF_MS,
      fallback: e.PROVIDER_FALLBACK === 'engine' && kind !== 'engine' ? { kind: 'engine', baseUrl: e.ENGINE_URL.replace(/\/+$/, ''), apiKey: e.ENGINE_API_KEY ?? 'engine' } : undefined,
    },
    publicBaseUrl: e.PUBLIC_BASE_URL?.replace(/\/+$/, ''),
    apiKeys,
    usingDevApiKey: e.API_KEYS === undefined,
    limits: { maxImageBytes: e.MAX_IMAGE_BYTES, maxOutputBytes: e.MAX_OUTPUT_BYTES, maxOutputs: e.MAX_OUTPUTS, outputDownloadTimeoutMs: e.OUTPUT_DOWNLOAD_TIMEOUT_MS },
    store: { concurrency: e.STORE_CONCURRENCY, maxAttempts: e.STORE_MAX_ATTEMPTS },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    reconcile: { intervalMs: e.RECONCILE_INTERVAL_MS, quietMs: e.RECONCILE_QUIET_MS },
    workerLockMs: e.WORKER_LOCK_MS,
    webhooks: {
      retryScheduleMs: e.WEBHOOK_RETRY_SCHEDULE,
      jitter: e.WEBHOOK_RETRY_JITTER,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
      dispatchIntervalMs: e.WEBHOOK_DISPATCH_INTERVAL_MS,
      secretGraceSeconds: e.WEBHOOK_SECRET_GRACE_SECONDS,
    },
    access: {
      adminApiKey: e.ADMIN_API_KEY,
      keyCacheTtlMs: e.API_KEY_CACHE_TTL_MS,
      rateLimit: { requests: e.RATE_LIMIT_REQUESTS, windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS },
      tenantMaxInFlight: Math.min(
        e.TENANT_MAX_IN_FLIGHT ?? e.PROVIDER_MAX_IN_FLIGHT,
        Math.max(1, Math.floor(e.TENANT_MAX_SHARE * e.PROVIDER_MAX_IN_FLIGHT + 1e-9)),
      ),
    },
    facade: { webhookIntervalMs: e.FACADE_WEBHOOK_INTERVAL_MS, webhookTimeoutMs: e.FACADE_WEBHOOK_TIMEOUT_MS, webhookMaxAttempts: e.FACADE_WEBHOOK_MAX_ATTEMPTS },
    batches: { window: e.BATCH_WINDOW, feedIntervalMs: e.BATCH_FEED_INTERVAL_MS, maxRows: e.BATCH_MAX_ROWS },
    ops: { healthTimeoutMs: e.HEALTH_CHECK_TIMEOUT_MS, metricsPort: e.METRICS_PORT, metricsCacheMs: e.METRICS_CACHE_MS },
    outbound: {
      allowCidrs: e.OUTBOUND_ALLOW_CIDRS.split(',').map((s) => s.trim()).filter(Boolean),
      allowHosts: e.OUTBOUND_ALLOW_HOSTS.split(',').map((s) => s.trim()).filter(Boolean),
      providerWebhookMaxBytes: e.PROVIDER_WEBHOOK_MAX_BYTES,
    },
  };
}
