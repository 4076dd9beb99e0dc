/**
 * guardedFetch against real HTTP servers on loopback: an allowed server that redirects to a loopback
 * target is refused at the redirect (the target never sees a request), a host name that resolves to
 * loopback is refused at connect time, and what the allow-list names still works.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { guardedFetch, OutboundBlockedError, OutboundPolicy } from '../../libs/net/src/index.js';

function serve(handler: http.RequestListener): Promise<{ server: Server; port: number; hits: string[] }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, hits })));
}

describe('guardedFetch', () => {
  let internal: Awaited<ReturnType<typeof serve>>;
  let front: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    internal = await serve((_req, res) => res.end('internal secret'));
    front = await serve((req, res) => {
      if (req.url === '/to-internal') return void res.writeHead(302, { location: `http://127.0.0.1:${internal.port}/secret` }).end();
      if (req.url === '/to-localhost') return void res.writeHead(307, { location: `http://localhost:${internal.port}/secret` }).end();
      if (req.url === '/to-metadata') return void res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      if (req.url === '/to-self') return void res.writeHead(302, { location: '/ok' }).end();
      res.writeHead(200, { 'content-type': 'image/png' }).end('front ok');
    });
  });
  afterAll(async () => {
    await new Promise((r) => internal.server.close(r));
    await new Promise((r) => front.server.close(r));
  });
  beforeEach(() => {
    internal.hits.length = 0;
    front.hits.length = 0;
  });

  const onlyFront = () => OutboundPolicy.fromLists('', `127.0.0.1:${front.port}`);

  it('reaches what the allow-list names, following a redirect that stays there', async () => {
    const res = await guardedFetch(`http://127.0.0.1:${front.port}/to-self`, { maxRedirects: 3 }, onlyFront());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(await res.text()).toBe('front ok');
    expect(front.hits).toEqual(['/to-self', '/ok']);
  });

  it.each(['/to-internal', '/to-localhost', '/to-metadata'])('re-checks the redirect target of %s and never connects to it', async (path) => {
    const err = await guardedFetch(`http://127.0.0.1:${front.port}${path}`, { maxRedirects: 3 }, onlyFront()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboundBlockedError);
    expect(front.hits).toEqual([path]);
    expect(internal.hits).toEqual([]);
  });

  it('without the allow-list, the redirect target is reachable (the control: the test above can fail)', async () => {
    const res = await guardedFetch(`http://127.0.0.1:${front.port}/to-internal`, { maxRedirects: 3 }, OutboundPolicy.fromLists('127.0.0.0/8'));
    expect(await res.text()).toBe('internal secret');
    expect(internal.hits).toEqual(['/secret']);
  });

  it('answers a redirect as it is when redirects are not followed', async () => {
    const res = await guardedFetch(`http://127.0.0.1:${front.port}/to-internal`, {}, onlyFront());
    expect(res.status).toBe(302);
    expect(internal.hits).toEqual([]);
  });

  it('refuses a literal loopback address and a name that resolves to loopback, without connecting', async () => {
    const none = new OutboundPolicy();
    for (const url of [`http://127.0.0.1:${internal.port}/`, `http://2130706433:${internal.port}/`, `http://[::ffff:127.0.0.1]:${internal.port}/`, `http://localhost:${internal.port}/`]) {
      const err = await guardedFetch(url, { method: 'POST', body: '{}' }, none).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutboundBlockedError);
    }
    expect(internal.hits).toEqual([]);
  });

  it('an allowed host:port does not open other ports of the same host', async () => {
    const err = await guardedFetch(`http://127.0.0.1:${internal.port}/`, {}, onlyFront()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboundBlockedError);
    expect((err as OutboundBlockedError).reason).toBe('loopback');
  });

  it('rejects with the signal reason on a timeout', async () => {
    const slow = await serve(() => undefined);
    const err = await guardedFetch(`http://127.0.0.1:${slow.port}/`, { signal: AbortSignal.timeout(200) }, OutboundPolicy.fromLists('127.0.0.1/32')).catch((e: unknown) => e);
    expect((err as Error).name).toBe('TimeoutError');
    slow.server.closeAllConnections();
    await new Promise((r) => slow.server.close(r));
  });
});
