import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import type { AppConfig } from '../../../libs/config/src/index.js';
import { ObjectStorage } from '../../../libs/storage/src/index.js';
import { WorkerModule } from './worker.module.js';

/** The worker: a Nest application context (no HTTP server) running the BullMQ processors. */
export async function createWorkerApp(config: AppConfig): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.get(ObjectStorage).ensureBucket();
  await app.init();
  return app;
}
