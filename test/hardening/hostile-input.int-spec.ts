/**
 * Hostile and broken input from the outside: the provider webhook receiver (unknown attempts, wrong tokens,
 * oversized bodies, payloads of no known shape, replays), provider answers that match no known shape (the job
 * fails with provider_invalid_answer, the worker carries on), and each limit on what the provider hands back
 * (number of outputs, output bytes, download time) failing the job with a code of its own.
 */
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { makePng, startImageServer, type ImageServer } from '../support/image-server.js';
import { startStack, truncateAll, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';

let emulator: ModelslabEmulator;
let images: ImageServer;
let stack: Stack;
let png: string;

beforeAll(async () => {
  await truncateAll();
  emulator = await startModelslabEmulator({ apiKey: 'emu-key', maxInFlight: 20 });
  images = await startImageServer();
  png = (await makePng(3)).toString('base64');
  stack = await startStack({
    providerUrl: emulator.url,
    providerKey: 'emu-key',
    env: { MAX_OUTPUTS: '2', STORE_MAX_ATTEMPTS: '1', OUTPUT_DOWNLOAD_TIMEOUT_MS: '400', PROVIDER_POLL_MAX_INTERVAL_MS: '500' },
  });
});

afterAll(async () => {
  await stack?.close();
  await images?.close();
  await emulator?.close();
});

beforeEach(() => {
  emulator.setDecide(undefined);
  emulator.setDefaults({ answer: 'processing', latencyMs: 30, webhook: 'once', etaSeconds: 1, webhookDelayMs: 0, outputDelayMs: 0, webhookOnSuccess: false, fail: false, error: undefined, mangled: undefined, outputLinks: undefined });
});

const submit = async () => {
  const res = await stack.request('POST', '/v1/jobs', { image_base64: png });
  expect(res.status).toBe(202);
  return res.body.id as string;
};
const finish = (id: string) => stack.waitForState(id, ['succeeded', 'failed', 'canceled'], 30_000);

/** A job waiting at the provider (no webhook, a long latency), and its attempt's webhook URL. */
async function waitingJob(): Promise<{ id: string; attemptId: string; hookUrl: string }> {
  emulator.setDefaults({ latencyMs: 120_000, webhook: 'never', etaSeconds: 120 });
  const id = await submit();
  await stack.waitForState(id, ['processing']);
  const a = (await stack.db.query('SELECT id::text, webhook_token FROM job_attempts WHERE job_id = $1', [id])).rows[0];
  return { id, attemptId: a.id, hookUrl: `${stack.url}/webhooks/modelslab/${a.id}/${a.webhook_token}` };
}
const post = (url: string, body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('the provider webhook receiver', () => {
  it('refuses unknown attempts, wrong tokens and oversized bodies; ignores payloads of no known shape; replays change nothing', async () => {
    const { id, attemptId, hookUrl } = await waitingJob();
    const good = JSON.stringify({ status: 'success', id: 77, output: [images.imageUrl('img-1.png')], track_id: Number(attemptId) });

    const unknown = await post(`${stack.url}/webhooks/modelslab/999999999999/${hookUrl.split('/').pop()}`, good);
    expect([unknown.status, ((await unknown.json()) as any).error.code]).toEqual([404, 'not_found']);
    const notANumber = await post(`${stack.url}/webhooks/modelslab/abc/def`, good);
    expect(notANumber.status).toBe(404);
    const wrongToken = await post(hookUrl.replace(/[^/]+$/, 'x'.repeat(32)), good);
    expect([wrongToken.status, ((await wrongToken.json()) as any).error.code]).toEqual([401, 'unauthorized']);

    // PROVIDER_WEBHOOK_MAX_BYTES (1 MiB by default), even with the right token.
    const huge = await post(hookUrl, JSON.stringify({ status: 'success', output: ['x'], pad: 'x'.repeat(1024 * 1024) }));
    expect([huge.status, ((await huge.json()) as any).error.code]).toEqual([413, 'payload_too_large']);

    for (const mangled of ['{"status":"success","output":{"url":"x"}}', '{"status":42}', '[1,2,3]', '{"status":"success","output":[]}']) {
      const res = await post(hookUrl, mangled);
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).outcome).toBe('unrecognised');
    }
    for (const notJson of ['"success"', 'status=success', '{"status":']) {
      const res = await post(hookUrl, notJson);
      expect([res.status, ((await res.json()) as any).error.code]).toEqual([400, 'invalid_json']);
    }
    expect((await stack.job(id)).state).toBe('processing');
    const recorded = (await stack.db.query(`SELECT count(*)::int AS n FROM provider_events WHERE attempt_id = $1 AND outcome = 'unrecognised'`, [attemptId])).rows[0].n;
    expect(recorded).toBe(4);

    const first = await post(hookUrl, good);
    expect(((await first.json()) as any).outcome).toBe('applied');
    const done = await finish(id);
    expect(done.state).toBe('succeeded');
    expect(done.outputs).toHaveLength(1);

    // The same webhook again, and a contradicting one: recorded, nothing changes.
    for (const replay of [good, JSON.stringify({ status: 'failed', id: 77, message: 'no', track_id: Number(attemptId) })]) {
      const res = await post(hookUrl, replay);
      expect([res.status, ((await res.json()) as any).outcome]).toEqual([200, 'duplicate']);
    }
    const after = await stack.job(id);
    expect([after.state, after.outputs.length, after.completed_at]).toEqual(['succeeded', 1, done.completed_at]);
  });
});

describe('provider answers of no known shape', () => {
  it('a submit answer with no status fails the job with provider_invalid_answer', async () => {
    emulator.setDefaults({ mangled: 'submit' });
    const done = await finish(await submit());
    expect([done.state, done.error.code]).toEqual(['failed', 'provider_invalid_answer']);
  });

  it('a result whose outputs are not links fails the job at the poll; the worker carries on', async () => {
    emulator.setDefaults({ mangled: 'result' });
    const id = await submit();
    const done = await finish(id);
    expect([done.state, done.error.code]).toEqual(['failed', 'provider_invalid_answer']);
    // The webhook of the same shape was recorded and ignored rather than crashing anything.
    await until(async () => (await stack.db.query(`SELECT 1 FROM provider_events WHERE job_id = $1 AND source = 'webhook' AND outcome = 'unrecognised'`, [id])).rowCount);
    emulator.setDefaults({ mangled: undefined });
    const next = await finish(await submit());
    expect(next.state).toBe('succeeded');
  });
});

describe('limits on what the provider hands back', () => {
  it('more outputs than MAX_OUTPUTS: provider_invalid_answer naming the count', async () => {
    emulator.setDefaults({ outputLinks: ['img-1.png', 'img-2.png', 'img-3.png'].map((n) => images.imageUrl(n)) });
    const done = await finish(await submit());
    expect([done.state, done.error.code]).toEqual(['failed', 'provider_invalid_answer']);
    expect(done.error.message).toMatch(/3 outputs; at most 2/);
  });

  it('an output slower than OUTPUT_DOWNLOAD_TIMEOUT_MS: output_download_timeout', async () => {
    emulator.setDefaults({ outputDelayMs: 3000 });
    const done = await finish(await submit());
    expect([done.state, done.error.code]).toEqual(['failed', 'output_download_timeout']);
    expect(done.error.message).toMatch(/OUTPUT_DOWNLOAD_TIMEOUT_MS \(400 ms\)/);
  });

  it('an output over MAX_OUTPUT_BYTES: output_too_large', async () => {
    const tiny = await startStack({ providerUrl: emulator.url, providerKey: 'emu-key', env: { MAX_OUTPUT_BYTES: '64', STORE_MAX_ATTEMPTS: '1' } });
    try {
      const res = await tiny.request('POST', '/v1/jobs', { image_base64: png });
      const done = await tiny.waitForState(res.body.id, ['succeeded', 'failed'], 30_000);
      expect([done.state, done.error.code]).toEqual(['failed', 'output_too_large']);
    } finally {
      await tiny.close();
    }
  });
});
