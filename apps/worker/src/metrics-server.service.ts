/**
 * The worker has no HTTP app: this tiny node:http listener on METRICS_PORT (0 = off) serves its counters at
 * GET /metrics for a per-replica Prometheus scrape, and GET /health/live for orchestrators.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, createLogger, type AppConfig } from '../../../libs/config/src/index.js';
import { PipelineMetrics } from '../../../libs/metrics/src/index.js';

const log = createLogger('worker.metrics');

@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: http.Server | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: PipelineMetrics,
  ) {}

  /** The bound port (useful with METRICS_PORT chosen by a test), undefined when off. */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.ops.metricsPort === 0) return;
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/metrics') {
        this.metrics.exposition().then(
          ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body),
          (err: unknown) => {
            log.error({ err }, 'metrics exposition failed');
            res.writeHead(500).end();
          },
        );
      } else if (req.method === 'GET' && path === '/health/live') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      } else {
        res.writeHead(404).end();
      }
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.config.ops.metricsPort, this.config.http.host, () => resolve());
      });
    } catch (err) {
      // The jobs matter more than their metrics: run on, visibly without them (the scrape target is down).
      log.error({ err, port: this.config.ops.metricsPort }, 'worker metrics listener could not start; running without it');
      return;
    }
    this.server = server;
    log.info({ port: this.port }, 'worker metrics listening');
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  }
}
