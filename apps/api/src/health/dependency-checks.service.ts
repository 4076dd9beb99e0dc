/**
 * Readiness checks of what the api needs to serve: Postgres (SELECT 1), Redis (PING on the queue connection),
 * S3 (HeadBucket on the outputs bucket) and the provider (any HTTP answer below 500 from its base URL, or the
 * engine's /health), each with HEALTH_CHECK_TIMEOUT_MS. Terminus runs them in parallel and reports each.
 */
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorFunction } from '@nestjs/terminus';
import { APP_CONFIG, type AppConfig } from '../../../../libs/config/src/index.js';
import { PrismaService } from '../../../../libs/db/src/index.js';
import { QueueService } from '../../../../libs/queue/src/index.js';
import { createS3Client } from '../../../../libs/storage/src/index.js';

/** The cause of a failed fetch ("connect ECONNREFUSED ..."), never a URL with a query string. */
function causeOf(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

@Injectable()
export class DependencyChecks implements OnModuleDestroy {
  /** A client of its own: one attempt, no SDK retries, so a dead endpoint is reported within the timeout. */
  private readonly s3: S3Client;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly indicator: HealthIndicatorService,
    private readonly prisma: PrismaService,
    private readonly queues: QueueService,
  ) {
    this.s3 = createS3Client(config.s3, config.s3.endpoint, 1);
  }

  /** Every readiness check, by name: postgres, redis, s3, provider (and provider_fallback when configured). */
  all(): HealthIndicatorFunction[] {
    const timeout = this.config.ops.healthTimeoutMs;
    const p = this.config.provider;
    const checks: HealthIndicatorFunction[] = [
      () => this.indicator.check('postgres').attempt(async () => { await this.prisma.$queryRaw`SELECT 1`; }).withTimeout(timeout),
      () =>
        this.indicator
          .check('redis')
          .attempt(async () => {
            const pong = await this.queues.connection.ping();
            if (pong !== 'PONG') throw new Error(`PING answered ${pong}`);
          })
          .withTimeout(timeout),
      () =>
        this.indicator
          .check('s3')
          .attempt(async ({ signal }) => {
            try {
              await this.s3.send(new HeadBucketCommand({ Bucket: this.config.s3.bucket }), { abortSignal: signal });
            } catch (err) {
              const e = err as Error & { $metadata?: { httpStatusCode?: number }; code?: string };
              throw new Error(e.$metadata?.httpStatusCode ? `HeadBucket answered ${e.$metadata.httpStatusCode} (${e.name})` : (e.code ?? e.message));
            }
            return { bucket: this.config.s3.bucket };
          })
          .withTimeout(timeout),
      () => this.providerCheck('provider', p.kind, p.baseUrl, timeout),
    ];
    if (p.fallback) checks.push(() => this.providerCheck('provider_fallback', p.fallback!.kind, p.fallback!.baseUrl, timeout));
    return checks;
  }

  private providerCheck(key: string, kind: 'modelslab' | 'engine', baseUrl: string, timeout: number) {
    return this.indicator
      .check(key)
      .attempt(async ({ signal }) => {
        // The engine has a health route; at ModelsLab any answer from the host shows it is reachable.
        const url = kind === 'engine' ? `${baseUrl}/health` : `${baseUrl}/`;
        let res: Response;
        try {
          res = await fetch(url, { method: 'GET', signal, redirect: 'manual' });
        } catch (err) {
          throw new Error(`${kind} at ${baseUrl} is unreachable (${causeOf(err)})`);
        }
        await res.body?.cancel();
        if (res.status >= 500) throw new Error(`${kind} at ${baseUrl} answered ${res.status}`);
        return { kind, url: baseUrl, httpStatus: res.status };
      })
      .withTimeout(timeout);
  }

  onModuleDestroy(): void {
    this.s3.destroy();
  }
}
