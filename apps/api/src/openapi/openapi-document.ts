/**
 * The OpenAPI 3.1 document: routes, methods and path parameters discovered from the Nest controllers
 * (@nestjs/swagger's scanner), bodies and answers from zod schemas (z.toJSONSchema, draft 2020-12 = OpenAPI
 * 3.1's dialect) as api-operations.ts assigns them. Served at /openapi.json (and /docs), committed as
 * openapi.json by `npm run openapi`; a test fails when the committed file differs from what the code makes.
 */
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';
import { REQUEST_SCHEMAS, RESPONSE_SCHEMAS } from './api-schemas.js';
import { API_OPERATIONS, type OperationDoc } from './api-operations.js';

const VERSION = '1';
const ref = (name: string) => {
  if (!(name in REQUEST_SCHEMAS) && !(name in RESPONSE_SCHEMAS)) throw new Error(`OpenAPI: no schema named ${name}`);
  return { $ref: `#/components/schemas/${name}` };
};

function componentSchemas(): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [io, schemas] of [['input', REQUEST_SCHEMAS], ['output', RESPONSE_SCHEMAS]] as const) {
    const registry = z.registry<{ id: string }>();
    for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
    const { schemas: generated } = z.toJSONSchema(registry, { target: 'draft-2020-12', io, uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' });
    for (const [id, s] of Object.entries(generated)) {
      const { $schema: _s, $id: _i, ...rest } = s as Record<string, unknown>;
      if (id in schemas) out[id] = rest;
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

function content(c: NonNullable<OperationDoc['body']>) {
  if (typeof c === 'string') return { 'application/json': { schema: ref(c) } };
  return Object.fromEntries(Object.entries(c).map(([type, s]) => [type, { schema: typeof s === 'string' ? ref(s) : s }]));
}

const SECURITY: Record<OperationDoc['auth'], Record<string, string[]>[] | undefined> = { bearer: [{ apiKey: [] }], admin: [{ adminKey: [] }], 'body-key': [], none: [] };

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const base = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('maskflow')
    .setDescription('Background removal as a dependable, asynchronous, bulk-capable API. Errors answer {error: {code, message, details?}} (the ModelsLab-compatible facade answers in the provider\'s shapes).')
    .setVersion(VERSION)
    .build();
  const doc = SwaggerModule.createDocument(app, base);
  const seen = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item as Record<string, Record<string, unknown>>)) {
      const key = `${method.toUpperCase()} ${path}`;
      const d = API_OPERATIONS[key];
      if (!d) throw new Error(`OpenAPI: route ${key} is not documented in api-operations.ts`);
      seen.add(key);
      const parameters = [
        ...((op.parameters as unknown[]) ?? []),
        ...(d.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: q.schema ?? { type: 'string' } })),
        ...(d.headers ?? []).map((h) => ({ name: h.name, in: 'header', required: false, description: h.description, schema: { type: 'string' } })),
      ];
      (item as Record<string, unknown>)[method] = {
        operationId: op.operationId,
        tags: [d.tag],
        summary: d.summary,
        ...(d.description ? { description: d.description } : {}),
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(d.body ? { requestBody: { required: true, content: content(d.body) } } : {}),
        responses: Object.fromEntries(Object.entries(d.responses).map(([status, r]) => [status, { description: r.description, ...(r.content ? { content: content(r.content) } : {}) }])),
        ...(SECURITY[d.auth] ? { security: SECURITY[d.auth] } : {}),
      };
    }
  }
  const stale = Object.keys(API_OPERATIONS).filter((k) => !seen.has(k));
  if (stale.length > 0) throw new Error(`OpenAPI: documented operations without a route: ${stale.join(', ')}`);
  return {
    ...doc,
    tags: [
      { name: 'jobs', description: 'One image, one job' },
      { name: 'batches', description: 'Catalogs: JSON, NDJSON or CSV' },
      { name: 'webhooks', description: 'Consumer webhooks (Standard Webhooks), endpoints and deliveries' },
      { name: 'facade', description: "ModelsLab-compatible removebg_mask and fetch" },
      { name: 'admin', description: 'Managed API keys (ADMIN_API_KEY)' },
      { name: 'health', description: 'Probes and metrics' },
      { name: 'provider', description: 'Called by the provider' },
    ],
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' },
        adminKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer $ADMIN_API_KEY' },
      },
      schemas: componentSchemas() as never,
    },
  };
}

/** Serves the document at /openapi.json and Swagger UI at /docs. */
export function serveOpenApi(app: INestApplication, document: OpenAPIObject): void {
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml', customSiteTitle: 'maskflow API' });
}
