/**
 * The OpenAPI document: the committed openapi.json is exactly what the code generates (docs cannot drift),
 * the api serves the same document at /openapi.json and Swagger UI at /docs, and real answers of the running
 * api validate against the documented schemas (JSON Schema 2020-12, undocumented fields refused).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { generateOpenApiDocument, openApiFileText } from '../../apps/api/src/openapi/generate-openapi.js';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { startStack, type Stack } from '../support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let emulator: ModelslabEmulator;
let images: ImageServer;
let receiver: WebhookReceiver;
let stack: Stack;
let generated: Awaited<ReturnType<typeof generateOpenApiDocument>>;

beforeAll(async () => {
  generated = await generateOpenApiDocument();
  emulator = await startModelslabEmulator({ apiKey: 'k', defaults: { answer: 'success', latencyMs: 10 } });
  images = await startImageServer();
  receiver = await startWebhookReceiver();
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', webhooks: false });
});

afterAll(async () => {
  await stack?.close();
  await emulator?.close();
  await images?.close();
  await receiver?.close();
});

it('the committed openapi.json is what the code generates (run npm run openapi after an API change)', () => {
  const committed = readFileSync(path.join(root, 'openapi.json'), 'utf8');
  expect(committed).toBe(openApiFileText(generated));
});

it('documents every route family with a schema for each JSON answer', () => {
  expect(generated.openapi).toBe('3.1.0');
  const paths = Object.keys(generated.paths);
  for (const p of ['/v1/jobs', '/v1/jobs/{id}', '/v1/batches', '/v1/batches/{id}/results', '/v1/webhook-endpoints', '/v1/webhook-deliveries', '/v1/webhook-deliveries/{id}/redeliver', '/api/v6/image_editing/removebg_mask', '/api/v6/image_editing/fetch/{id}', '/health/ready', '/metrics']) {
    expect(paths).toContain(p);
  }
  for (const item of Object.values(generated.paths)) {
    for (const op of Object.values(item as Record<string, any>)) {
      expect(op.summary).toBeTruthy();
      for (const [status, r] of Object.entries(op.responses as Record<string, any>)) {
        if (status !== '204') expect({ op: op.operationId, status, content: Object.keys(r.content ?? {}).length > 0 }).toEqual({ op: op.operationId, status, content: true });
      }
    }
  }
});

it('serves the same document at /openapi.json and Swagger UI at /docs', async () => {
  const served = await fetch(`${stack.url}/openapi.json`);
  expect(served.status).toBe(200);
  expect(await served.json()).toEqual(JSON.parse(JSON.stringify(generated)));
  const ui = await fetch(`${stack.url}/docs`);
  expect(ui.status).toBe(200);
  expect(await ui.text()).toContain('swagger-ui');
});

it('real answers validate against the documented schemas', async () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: 'doc', components: generated.components });
  const check = (name: string, body: unknown) => {
    const validate = ajv.getSchema(`doc#/components/schemas/${name}`)!;
    const ok = validate(body);
    expect({ name, errors: ok ? null : validate.errors }).toEqual({ name, errors: null });
  };
  const created = await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl('img-1.png'), track_id: 'doc-1', metadata: { a: 1 } });
  check('Job', created.body);
  check('Job', await stack.waitForState(created.body.id, ['succeeded']));
  check('JobList', (await stack.request('GET', '/v1/jobs?limit=2')).body);
  check('ErrorAnswer', (await stack.request('POST', '/v1/jobs', { image_url: 'ftp://x' })).body);
  check('ErrorAnswer', (await stack.request('GET', '/v1/jobs/nope')).body);
  const ep = await stack.request('POST', '/v1/webhook-endpoints', { url: `${receiver.url}/hook`, events: ['job.succeeded'] });
  check('WebhookEndpoint', ep.body);
  check('WebhookEndpointList', (await stack.request('GET', '/v1/webhook-endpoints')).body);
  check('WebhookSecret', (await stack.request('GET', '/v1/webhook-secret')).body);
  check('WebhookDeliveryList', (await stack.request('GET', '/v1/webhook-deliveries')).body);
  const batch = await stack.request('POST', '/v1/batches', { items: [{ image_url: images.imageUrl('img-2.png'), external_id: 'e1' }, { image_url: 'nope' }] });
  check('BatchCreated', batch.body);
  check('Batch', (await stack.request('GET', `/v1/batches/${batch.body.id}`)).body);
  const facade = await stack.request('POST', '/api/v6/image_editing/removebg_mask', { key: 'test-api-key-0123456789', image: images.imageUrl('img-3.png'), track_id: 5 });
  check('FacadeAnswer', facade.body);
  check('HealthReady', (await stack.request('GET', '/health/ready')).body);
  check('HealthLive', (await stack.request('GET', '/health/live')).body);
  // And the schemas do refuse what is not documented.
  expect(ajv.getSchema('doc#/components/schemas/Job')!({ ...created.body, surprise: 1 })).toBe(false);
});
