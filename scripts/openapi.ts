/**
 * `npm run openapi`: writes openapi.json at the repository root from the code (routes from the controllers,
 * bodies and answers from the zod schemas). `npm run openapi -- --check` exits 1 when the file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateOpenApiDocument, openApiFileText } from '../apps/api/src/openapi/generate-openapi.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = here.includes(`${path.sep}dist${path.sep}`) ? here.slice(0, here.indexOf(`${path.sep}dist${path.sep}`)) : path.resolve(here, '..');
const file = path.join(root, 'openapi.json');
const text = openApiFileText(await generateOpenApiDocument());
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    /* missing counts as stale */
  }
  if (committed !== text) {
    console.error('openapi.json is stale: run npm run openapi and commit it');
    process.exit(1);
  }
  console.error('openapi.json is up to date');
} else {
  writeFileSync(file, text);
  console.error(`wrote ${path.relative(process.cwd(), file) || file} (${Object.keys(JSON.parse(text).paths).length} paths)`);
}
process.exit(0);
