import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger';
import { loadConfig } from '../../../../libs/config/src/index.js';
import { ApiModule } from '../api.module.js';
import { buildOpenApiDocument } from './openapi-document.js';

/**
 * The document from the code alone: the api module in Nest's preview mode (controllers scanned, no provider
 * instantiated, so no Postgres, Redis or S3 is needed). Used by `npm run openapi` and the drift test.
 */
export async function generateOpenApiDocument(): Promise<OpenAPIObject> {
  const config = loadConfig({ NODE_ENV: 'development' });
  const app = await NestFactory.create(ApiModule.forRoot(config), { preview: true, logger: false, abortOnError: false });
  try {
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

/** The committed file's text: stable key order as generated, two-space indent, trailing newline. */
export function openApiFileText(doc: OpenAPIObject): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
