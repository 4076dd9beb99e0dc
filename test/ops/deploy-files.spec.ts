/**
 * The deployment files cannot be run here (no Docker), so their contract is checked as text: every variable
 * docker-compose.yml sets for maskflow's services is one the config schemas read (a typo or a renamed
 * variable fails here), and the Dockerfile keeps its shape (multi-stage, non-root, production dependencies
 * only, no onnxruntime download, dist/ built).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINE_VARIABLES } from '../../apps/engine/src/engine.config.js';
import { CONFIG_VARIABLES } from '../../libs/config/src/config.schema.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const compose = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
/** Variables of the third-party images (Postgres, MinIO). */
const THIRD_PARTY = /^(POSTGRES|MINIO)_/;

it('docker-compose.yml sets only variables that maskflow reads', () => {
  const keys = [...compose.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
  expect(keys.length).toBeGreaterThan(20);
  const known = new Set([...CONFIG_VARIABLES, ...ENGINE_VARIABLES]);
  expect(keys.filter((k) => !THIRD_PARTY.test(k) && !known.has(k))).toEqual([]);
  // What a deployment must set is set.
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'QUEUE_PREFIX', 'S3_ENDPOINT', 'S3_BUCKET', 'API_KEYS', 'METRICS_PORT']) expect(keys).toContain(k);
  expect(compose).toMatch(/QUEUE_PREFIX: "\{[^{}]+\}"/);
  expect(compose).toContain('/health/ready');
});

it('the Dockerfile is multi-stage, non-root, production-only, builds dist/', () => {
  expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
  expect(dockerfile).toMatch(/^RUN npm run build$/m);
  expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
  expect(dockerfile).toMatch(/ONNXRUNTIME_NODE_INSTALL=skip/);
  expect(dockerfile).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
  const user = [...dockerfile.matchAll(/^USER (\S+)$/gm)].at(-1)?.[1];
  expect(user).toBeDefined();
  expect(user).not.toBe('root');
  // The final stage runs as that user: USER comes after the last FROM.
  expect(dockerfile.lastIndexOf('\nUSER ')).toBeGreaterThan(dockerfile.lastIndexOf('\nFROM '));
});
