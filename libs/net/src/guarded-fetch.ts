/**
 * `fetch` for user-supplied URLs: node's http/https with `guardedLookup`, so every connection (the first
 * and each redirect hop) goes only to addresses the outbound policy allows, and the address checked is the
 * address connected to. Literal IP hosts are checked before connecting (node does not look them up).
 * Answers a standard `Response`; redirects are followed only when `maxRedirects` > 0, each hop re-checked.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { checkUrlLiteral, defaultPort, guardedLookup } from './outbound-url.js';
import type { OutboundPolicy } from './outbound-policy.js';

export interface GuardedFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
  /** 0 (the default): a redirect is answered as it is. */
  maxRedirects?: number;
}

export class TooManyRedirectsError extends Error {
  override readonly name = 'TooManyRedirectsError';
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function requestOnce(url: URL, init: GuardedFetchInit, policy: OutboundPolicy): Promise<IncomingMessage> {
  checkUrlLiteral(url, policy);
  const client = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (!client) return Promise.reject(new TypeError(`unsupported URL scheme ${url.protocol}`));
  return new Promise((resolve, reject) => {
    const req = client.request(url, {
      method: init.method ?? 'GET',
      headers: init.headers,
      signal: init.signal,
      agent: false,
      lookup: guardedLookup(policy, defaultPort(url)),
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end(init.body);
  });
}

export async function guardedFetch(input: string | URL, init: GuardedFetchInit, policy: OutboundPolicy): Promise<Response> {
  let url = new URL(input);
  let method = init.method ?? 'GET';
  let body = init.body;
  const maxRedirects = init.maxRedirects ?? 0;
  try {
    for (let hop = 0; ; hop++) {
      const res = await requestOnce(url, { ...init, method, body }, policy);
      const status = res.statusCode ?? 502;
      const location = res.headers.location;
      if (maxRedirects > 0 && [301, 302, 303, 307, 308].includes(status) && location) {
        res.destroy();
        if (hop >= maxRedirects) throw new TooManyRedirectsError(`more than ${maxRedirects} redirects`);
        url = new URL(location, url);
        if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (v === undefined) continue;
        for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
      }
      const hasBody = !NULL_BODY.has(status) && method !== 'HEAD';
      if (!hasBody) res.resume();
      const webBody = hasBody ? (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>) : null;
      return new Response(webBody, { status: status < 200 || status > 599 ? 502 : status, statusText: res.statusMessage, headers });
    }
  } catch (err) {
    // Same shape as fetch: an abort by a timeout signal rejects with the signal's reason (a TimeoutError).
    if (init.signal?.aborted) throw init.signal.reason;
    throw err;
  }
}
