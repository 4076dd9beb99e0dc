import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { createLogger, type AppConfig } from '../../../libs/config/src/index.js';
import { ObjectStorage } from '../../../libs/storage/src/index.js';
import { WorkerModule } from './worker.module.js';

const log = createLogger('worker');

/** A worker started while S3 is briefly away (restarting, failing over) waits for it instead of exiting. */
async function ensureBucketPatiently(storage: ObjectStorage, forMs = 60_000): Promise<void> {
  const deadline = Date.now() + forMs;
  for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
    try {
      return await storage.ensureBucket();
    } catch (err) {
      if (Date.now() + wait > deadline) throw err;
      log.warn({ err: (err as Error).message, retryInMs: wait }, 'S3 not reachable at start-up; retrying');
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** The worker: a Nest application context (no HTTP server) running the BullMQ processors. */
export async function createWorkerApp(config: AppConfig, opts: { shutdownHooks?: boolean } = {}): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { logger: ['error', 'warn'] });
  if (opts.shutdownHooks !== false) app.enableShutdownHooks();
  await ensureBucketPatiently(app.get(ObjectStorage));
  await app.init();
  return app;
}
