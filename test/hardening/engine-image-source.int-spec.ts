/**
 * The engine's image download (apps/engine/src/image/load-image-source.ts) under its outbound policy
 * (ENGINE_OUTBOUND_ALLOW_CIDRS / _HOSTS): refused addresses and redirects to them answer a BadImageError
 * (the engine's 400) without a request reaching the target; what the policy allows still downloads.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BadImageError } from '../../apps/engine/src/image/decode-image.js';
import { loadImageSource } from '../../apps/engine/src/image/load-image-source.js';
import { loadEngineConfig } from '../../apps/engine/src/engine.config.js';
import { OutboundPolicy } from '../../libs/net/src/index.js';

let server: Server;
let port: number;
const hits: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/hop') return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    if (req.url === '/hop-local') return void res.writeHead(302, { location: `http://localhost:${port}/img.png` }).end();
    res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  hits.length = 0;
});

it('the engine config has no private address allowed by default, and parses the allow-lists', () => {
  const c = loadEngineConfig({});
  expect(c.outbound.addressReason('127.0.0.1', '127.0.0.1', 80)).toBe('loopback');
  expect(loadEngineConfig({ ENGINE_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8' }).outbound.addressReason('127.0.0.1', 'x', 80)).toBeNull();
  expect(() => loadEngineConfig({ ENGINE_OUTBOUND_ALLOW_HOSTS: 'a:0' })).toThrow(/ENGINE_OUTBOUND_ALLOW/);
});

it.each(['127.0.0.1', '2130706433', 'localhost', '[::ffff:127.0.0.1]'])('refuses http://%s:<port>/ with the default policy, without connecting', async (host) => {
  const err = await loadImageSource(`http://${host}:${port}/img.png`, 1000, 2000, new OutboundPolicy()).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BadImageError);
  expect((err as Error).message).toMatch(/image URL is not allowed: .*loopback/);
  expect(hits).toEqual([]);
});

it('re-checks redirects: an allowed server redirecting to metadata or to loopback by name is refused', async () => {
  const onlyThis = OutboundPolicy.fromLists('', `127.0.0.1:${port}`);
  for (const p of ['/hop', '/hop-local']) {
    const err = await loadImageSource(`http://127.0.0.1:${port}${p}`, 1000, 2000, onlyThis).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadImageError);
    expect((err as Error).message).toMatch(/not allowed/);
  }
  expect(hits).toEqual(['/hop', '/hop-local']);
});

it('downloads what the policy allows', async () => {
  const bytes = await loadImageSource(`http://127.0.0.1:${port}/img.png`, 1000, 2000, OutboundPolicy.fromLists('127.0.0.0/8'));
  expect([...bytes]).toEqual([0x89, 0x50, 0x4e, 0x47]);
});
