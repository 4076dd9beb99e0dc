/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) against a real stack:
 * the key prompt, a batch's live progress, a failure with its reason and a working Retry button, the gallery
 * of cut-outs loaded from S3 through presigned URLs; and bull-board behind the admin key.
 * `UPDATE_DOCS=1` also refreshes docs/dashboard.png (the README's screenshot).
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { TEST_API_KEY, startStack, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ADMIN_KEY = 'admin-key-for-the-dashboard-test';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let emulator: ModelslabEmulator;
let images: ImageServer;
let stack: Stack;
let browser: Browser;
let failing = true;

beforeAll(async () => {
  emulator = await startModelslabEmulator({ apiKey: 'emu-key', maxInFlight: 10, defaults: { answer: 'processing', latencyMs: 250, webhook: 'once', etaSeconds: 1 } });
  images = await startImageServer(8);
  stack = await startStack({
    providerUrl: emulator.url,
    providerKey: 'emu-key',
    maxInFlight: 3,
    env: { ADMIN_API_KEY: ADMIN_KEY, BATCH_WINDOW: '6', BATCH_FEED_INTERVAL_MS: '100', PROVIDER_MAX_ATTEMPTS: '1' },
  });
  // img-7.png is "unreadable" at the provider until the test says otherwise.
  emulator.setDecide((s) => (failing && String(s.body.image).endsWith('/img-7.png') ? { error: { httpStatus: 400, message: 'the image could not be read' } } : undefined));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'] });
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await emulator?.close();
  await images?.close();
});

async function openPage(hash = ''): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${stack.url}/dashboard${hash}`);
  return page;
}

it('asks for an API key, refuses a wrong one, and opens with a right one', async () => {
  const page = await openPage();
  await page.locator('#login').waitFor({ state: 'visible' });
  expect(await page.locator('#app').isHidden()).toBe(true);
  await page.fill('#key-input', 'not-a-key');
  await page.click('#login-form button');
  await until(async () => ((await page.textContent('#login-error')) ?? '').includes('not valid'), { what: 'the refusal' });
  await page.fill('#key-input', TEST_API_KEY);
  await page.click('#login-form button');
  await page.locator('#app').waitFor({ state: 'visible' });
  expect(await page.locator('[data-queue="submit-to-provider"]').count()).toBe(1);
  expect(await page.textContent('#slots-text')).toMatch(/^\d+ \/ 3$/);
  await page.close();
});

it('shows a batch progressing live, a failure with its reason, Retry that works, and cut-outs on a checkerboard', async () => {
  const single = await stack.request('POST', '/v1/jobs', { image_url: images.imageUrl('img-7.png') });
  const failedJob = await stack.waitForState(single.body.id, ['failed']);
  expect(failedJob.error.code).toBe('provider_bad_request');
  const rows = Array.from({ length: 36 }, (_, i) => ({ image_url: images.imageUrl(`img-${i % 7}.png`), external_id: `sku-${i}` }));
  const batch = await stack.request('POST', '/v1/batches', { items: rows });
  expect(batch.status).toBe(202);
  const batchId = batch.body.id as string;

  const page = await openPage(`#key=${encodeURIComponent(TEST_API_KEY)}`);
  // The key left the address bar at once (it stays in this tab's sessionStorage).
  expect(page.url()).not.toContain('key=');
  // Live progress: the page shows several different percentages for the batch without a reload, up to 100%.
  const percent = page.locator(`[data-batch="${batchId}"] .percent`);
  const seen = new Set<string>();
  let shot = false;
  await until(
    async () => {
      const text = (await percent.textContent().catch(() => null)) ?? '';
      if (text) seen.add(text);
      // The README's screenshot: mid-batch, with the failure listed and the first cut-outs in.
      if (!shot && parseFloat(text) >= 40 && parseFloat(text) < 90) {
        shot = true;
        await page.screenshot({ path: process.env.UPDATE_DOCS ? path.join(root, 'docs/dashboard.png') : path.join(os.tmpdir(), `maskflow-dashboard-${process.pid}.png`), fullPage: true });
      }
      return text === '100%';
    },
    { timeoutMs: 90_000, intervalMs: 200, what: 'the batch to reach 100% on the page' },
  );
  expect(seen.size).toBeGreaterThanOrEqual(3);
  expect(await page.textContent(`[data-batch="${batchId}"] .done`)).toBe('36 / 36 done');
  expect(await page.textContent(`[data-batch="${batchId}"] .pill`)).toBe('completed');

  // The failure is listed with its code and the provider's message; Retry re-runs it, now successfully.
  const row = page.locator(`#failures tr[data-job="${failedJob.id}"]`);
  await row.waitFor();
  expect(await row.textContent()).toContain('provider_bad_request');
  expect(await row.textContent()).toContain('the image could not be read');
  failing = false;
  await row.locator('button[data-retry]').click();
  await stack.waitForState(failedJob.id, ['succeeded'], 30_000);
  await until(async () => (await page.locator(`#failures tr[data-job="${failedJob.id}"]`).count()) === 0, { what: 'the retried job to leave the failures' });

  // The gallery shows real cut-outs, loaded by the browser from S3 through presigned URLs.
  const img = page.locator(`.gallery a[data-job="${failedJob.id}"] img`);
  await img.waitFor();
  await until(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0), { what: 'the cut-out image to load' });
  expect(await page.locator('.gallery img').count()).toBeGreaterThanOrEqual(6);
  const tiles = await page.textContent('#tiles .tile[data-state="succeeded"] b');
  expect(Number(tiles)).toBeGreaterThanOrEqual(37);

  await page.close();
}, 150_000);

it('mounts bull-board behind the admin key', async () => {
  const anonymous = await fetch(`${stack.url}/admin/queues`);
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get('www-authenticate')).toContain('Basic');
  expect((await anonymous.json()).error.code).toBe('unauthorized');
  const wrong = await fetch(`${stack.url}/admin/queues`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
  expect(wrong.status).toBe(401);
  const api = await fetch(`${stack.url}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  expect(api.status).toBe(200);
  const names = ((await api.json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
  expect(names).toEqual(['deliver-webhook', 'store-outputs', 'submit-to-provider']);
  // A browser opens it with HTTP Basic (any user name, the admin key as the password).
  const context = await browser.newContext({ httpCredentials: { username: 'ops', password: ADMIN_KEY } });
  const page = await context.newPage();
  const res = await page.goto(`${stack.url}/admin/queues`);
  expect(res?.status()).toBe(200);
  await page.getByText('submit-to-provider').first().waitFor({ timeout: 30_000 });
  await context.close();
});
