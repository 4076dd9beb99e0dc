/**
 * The HTTP contract of /v1/jobs over real HTTP: authentication, every validation error with its code and
 * the field it names, body limits, listing with filters and cursor pagination, and polling-only mode.
 */
import { startModelslabEmulator, type ModelslabEmulator } from '../emulator/modelslab-emulator.js';
import { startImageServer, type ImageServer } from '../support/image-server.js';
import { startStack, type Stack } from '../support/stack.js';

let emulator: ModelslabEmulator;
let images: ImageServer;
let stack: Stack;

beforeAll(async () => {
  emulator = await startModelslabEmulator({ apiKey: 'k', maxInFlight: 10 });
  images = await startImageServer();
  // No PUBLIC_BASE_URL: the provider gets no webhook and the worker polls.
  stack = await startStack({ providerUrl: emulator.url, providerKey: 'k', webhooks: false, env: { MAX_BODY_BYTES: String(256 * 1024), MAX_IMAGE_BYTES: String(64 * 1024) } });
});

afterAll(async () => {
  await stack?.close();
  await emulator?.close();
  await images?.close();
});

describe('authentication', () => {
  it('refuses a missing or wrong key with 401 and a code', async () => {
    const none = await fetch(`${stack.url}/v1/jobs`);
    expect(none.status).toBe(401);
    expect((await none.json()).error.code).toBe('unauthorized');
    const wrong = await stack.request('GET', '/v1/jobs', undefined, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toEqual({ code: 'unauthorized', message: 'the API key is not valid' });
    // The key never appears in an answer.
    expect(JSON.stringify(wrong.body)).not.toContain('nope');
  });
});

const url = () => images.imageUrl('img-0.png');

describe('validation', () => {
  it.each([
    ['missing image', {}, 422, 'image_missing', 'image_url'],
    ['both image kinds', { image_url: 'https://x.test/a.png', image_base64: 'aGVsbG8=' }, 422, 'image_ambiguous', 'image_url'],
    ['a malformed URL', { image_url: 'http//broken' }, 422, 'invalid_url', 'image_url'],
    ['a non-http scheme', { image_url: 'ftp://x.test/a.png' }, 422, 'unsupported_url_scheme', 'image_url'],
    ['an option out of range', { image_url: 'https://x.test/a.png', options: { alpha_matting_erode_size: 9 } }, 422, 'option_out_of_range', 'options.alpha_matting_erode_size'],
    ['an unknown option', { image_url: 'https://x.test/a.png', options: { blur: 3 } }, 422, 'unknown_option', 'options.blur'],
    ['an unknown field', { image_url: 'https://x.test/a.png', priority: 1 }, 400, 'unknown_field', 'priority'],
    ['a wrong type', { image_url: 42 }, 400, 'invalid_type', 'image_url'],
    ['bad base64', { image_base64: '@@@' }, 422, 'invalid_base64', 'image_base64'],
    ['an image over MAX_IMAGE_BYTES', { image_base64: Buffer.alloc(100 * 1024, 1).toString('base64') }, 422, 'image_too_large', 'image_base64'],
    ['a bad callback_url', { image_url: 'https://x.test/a.png', callback_url: 'javascript:alert(1)' }, 422, 'unsupported_url_scheme', 'callback_url'],
  ])('answers %s with its code and the field', async (_name, body, status, code, field) => {
    const res = await stack.request('POST', '/v1/jobs', body);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message).toContain(field.split('.').at(-1));
    expect(res.body.error.details[0].field).toBe(field);
  });

  it('answers malformed JSON, a body over the limit and a wrong content type', async () => {
    const bad = await stack.request('POST', '/v1/jobs', '{"image_url": ');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_json']);
    const big = await stack.request('POST', '/v1/jobs', JSON.stringify({ image_url: url(), metadata: { pad: 'x'.repeat(300 * 1024) } }));
    expect([big.status, big.body.error.code]).toEqual([413, 'payload_too_large']);
    const text = await stack.request('POST', '/v1/jobs', 'image_url=x', { 'content-type': 'text/plain' });
    expect([text.status, text.body.error.code]).toEqual([415, 'unsupported_media_type']);
  });

  it('refuses an uploaded file over the limit and an invalid Idempotency-Key', async () => {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(100 * 1024)]), 'big.png');
    const big = await stack.request('POST', '/v1/jobs', form);
    expect([big.status, big.body.error.code]).toEqual([413, 'payload_too_large']);
    const key = await stack.request('POST', '/v1/jobs', { image_url: url() }, { 'idempotency-key': 'x'.repeat(300) });
    expect([key.status, key.body.error.code]).toEqual([400, 'invalid_idempotency_key']);
  });

  it('keeps nothing from a refused request', async () => {
    const before = (await stack.db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n;
    await stack.request('POST', '/v1/jobs', { image_url: 'ftp://nope' });
    expect((await stack.db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n).toBe(before);
  });
});

describe('reading jobs', () => {
  it('answers 404 for unknown ids and lists with filters and a cursor', async () => {
    expect((await stack.request('GET', '/v1/jobs/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await stack.request('GET', '/v1/jobs/not-a-uuid')).body.error.code).toBe('not_found');
    const track = `list-${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await stack.request('POST', '/v1/jobs', { image_url: url(), track_id: track })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await stack.request('GET', `/v1/jobs?track_id=${track}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((j: { id: string }) => j.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    expect((await stack.request('GET', '/v1/jobs?state=bogus')).body.error.code).toBe('validation_failed');
    expect((await stack.request('GET', '/v1/jobs?limit=0')).status).toBe(422);
    expect((await stack.request('GET', '/v1/jobs?cursor=garbage')).body.error.code).toBe('invalid_cursor');
    // Without webhooks the worker polls; the jobs still finish.
    for (const id of ids) expect((await stack.waitForState(id, ['succeeded', 'failed'], 30_000)).state).toBe('succeeded');
    const done = await stack.request('GET', `/v1/jobs?track_id=${track}&state=succeeded`);
    expect(done.body.data).toHaveLength(5);
    expect(emulator.submissions.filter((s) => s.webhook !== null)).toHaveLength(0);
  });
});
