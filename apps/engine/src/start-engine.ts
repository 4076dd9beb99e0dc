/**
 * Starts the engine in this process: HTTP first (so /health answers 503 while loading), then the model
 * (weights checked, session created once) and one warm-up inference that also seeds the eta estimate.
 * Resolves when the engine is ready; `close()` stops HTTP, lets accepted images finish (bounded), then frees
 * the model.
 */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { pino, type Logger } from 'pino';
import type { EngineConfig } from './engine.config.js';
import { EngineModule } from './engine.module.js';
import { jsonBodyMiddleware } from './http/json-body.middleware.js';
import { ProviderErrorFilter } from './http/provider-error.filter.js';
import { RemovalJobsService } from './jobs/removal-jobs.service.js';
import { WebhookSender } from './jobs/webhook-sender.js';
import { Segmenter } from './model/segmenter.js';
import { OutputStore } from './outputs/output-store.js';

export interface RunningEngine {
  url: string;
  close(): Promise<void>;
}

export interface StartEngineOptions {
  logger?: Logger;
  /** Shared segmenter (tests start several engines over one model); not closed by close(). */
  segmenter?: Segmenter;
}

export async function startEngine(config: EngineConfig, opts: StartEngineOptions = {}): Promise<RunningEngine> {
  const log = opts.logger ?? pino({ level: config.logLevel, base: { app: 'engine' } });
  const segmenter =
    opts.segmenter ??
    new Segmenter({ variant: config.model, threads: config.threads, memArena: config.memArena }, config.maskCacheBytes);
  const outputs = new OutputStore({
    kind: config.outputStore,
    dir: config.outputDir,
    ttlMs: config.outputTtlSeconds * 1000,
    maxBytes: config.outputMaxBytes,
  });
  await outputs.init();
  const webhooks = new WebhookSender(config.webhookTimeoutMs, log);
  const jobs = new RemovalJobsService(config, segmenter, outputs, webhooks, log);

  const app = await NestFactory.create<NestExpressApplication>(EngineModule.forRoot({ config, jobs, outputs, segmenter }), {
    bodyParser: false,
    logger: ['error', 'warn'],
  });
  app.use(jsonBodyMiddleware(Math.ceil((config.maxInputBytes * 4) / 3) + 64 * 1024));
  app.useGlobalFilters(new ProviderErrorFilter(log));
  // Idle keep-alive connections outlive the clients' own (undici: 4 s), so a client never reuses a socket
  // the server is closing at that moment (a "fetch failed" / ECONNRESET when the engine's loop was busy).
  const server = app.getHttpServer();
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  jobs.publicUrl = config.publicUrl ?? url;

  const t0 = performance.now();
  await segmenter.load();
  const loadMs = performance.now() - t0;
  const warm = await segmenter.segment(Buffer.alloc(64 * 64 * 3, 128), 64, 64);
  jobs.seedImageSeconds((warm.timings.preprocessMs + warm.timings.inferenceMs + warm.timings.postprocessMs) / 1000);
  log.info({ url, publicUrl: jobs.publicUrl, model: config.model, threads: config.threads, loadMs: Math.round(loadMs), warmupMs: Math.round(warm.timings.inferenceMs) }, 'engine ready');

  let closing: Promise<void> | undefined;
  return {
    url,
    close: () =>
      (closing ??= (async () => {
        await jobs.drain(30_000);
        await app.close();
        await webhooks.close();
        await outputs.close();
        if (!opts.segmenter) await segmenter.close();
      })()),
  };
}
