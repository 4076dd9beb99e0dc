import 'reflect-metadata';
import express, { type NextFunction, type Request, type Response } from 'express';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createLogger, type AppConfig } from '../../../libs/config/src/index.js';
import { ObjectStorage } from '../../../libs/storage/src/index.js';
import { ApiModule } from './api.module.js';
import { mountQueueAdmin } from './dashboard/queue-admin.js';
import { ApiExceptionFilter, toErrorBody } from './errors/api-exception.filter.js';
import { facadeErrorBody } from './facade/facade-exception.filter.js';
import { FACADE_PATH_PREFIX } from '../../../libs/contracts/src/index.js';
import { assignRequestId, bindRequestLogContext } from './logging/request-context.js';
import { PipelineMetrics } from '../../../libs/metrics/src/index.js';
import { buildOpenApiDocument, serveOpenApi } from './openapi/openapi-document.js';

/** Builds the HTTP app (used by main.ts and by the tests). */
export async function createApiApp(config: AppConfig): Promise<NestExpressApplication> {
  const logger = createLogger('api', config.logLevel);
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(config), { bodyParser: false, logger: ['error', 'warn'] });
  app.disable('x-powered-by');
  app.use(assignRequestId(createLogger('api.http', config.logLevel), app.get(PipelineMetrics)));
  // Before the JSON body parser: bull-board parses its own bodies.
  mountQueueAdmin(app, config);
  // The provider's callbacks are small: a body over PROVIDER_WEBHOOK_MAX_BYTES is 413 payload_too_large.
  app.use('/webhooks/modelslab', express.json({ limit: config.outbound.providerWebhookMaxBytes, type: ['application/json', 'application/*+json'] }));
  app.use(express.json({ limit: config.http.maxBodyBytes, type: ['application/json', 'application/*+json'] }));
  // Body-parser errors happen before Nest's routing: answer them in the same error shape.
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    // The ModelsLab-compatible facade answers in the provider's error shape.
    const { status, body } = _req.path.startsWith(FACADE_PATH_PREFIX) ? facadeErrorBody(err) : toErrorBody(err, logger);
    res.status(status).json(body);
  });
  app.use(bindRequestLogContext);
  app.useGlobalFilters(new ApiExceptionFilter(logger));
  app.enableShutdownHooks();
  // Idle keep-alive connections outlive the clients' own (undici: 4 s; load balancers: often 60 s), so no
  // client reuses a socket at the moment the server closes it.
  const server = app.getHttpServer();
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  serveOpenApi(app, buildOpenApiDocument(app));
  await app.get(ObjectStorage).ensureBucket();
  return app;
}
