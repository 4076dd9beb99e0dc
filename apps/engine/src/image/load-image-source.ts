/**
 * The request's `image` field to bytes: an http(s) URL (fetched with a timeout and a size cap, streamed so an
 * endless body is cut off) or base64 data with or without a `data:image/...;base64,` prefix.
 */
import { guardedFetch, OutboundBlockedError, type OutboundPolicy } from '../../../../libs/net/src/index.js';
import { BadImageError } from './decode-image.js';

/** Redirects of an image URL followed at most (each hop checked against the outbound policy). */
const MAX_REDIRECTS = 5;

export async function loadImageSource(image: string, maxBytes: number, timeoutMs: number, policy: OutboundPolicy): Promise<Buffer> {
  const trimmed = image.trim();
  if (/^https?:\/\//i.test(trimmed)) return fetchImage(trimmed, maxBytes, timeoutMs, policy);
  return decodeBase64Image(trimmed, maxBytes);
}

export function decodeBase64Image(value: string, maxBytes: number): Buffer {
  const match = /^data:([^;,]*)(;[^,]*)?,/i.exec(value);
  let data = match ? value.slice(match[0].length) : value;
  if (match && !/;base64/i.test(match[2] ?? '')) throw new BadImageError('image data URL must be base64-encoded');
  data = data.replace(/\s+/g, '');
  if (data.length === 0) throw new BadImageError('image is empty (0 bytes)');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(data)) {
    throw new BadImageError('image must be an http(s) URL or base64 image data');
  }
  if (Math.floor((data.length * 3) / 4) > maxBytes + 3) {
    throw new BadImageError(`image is larger than the limit of ${maxBytes} bytes`);
  }
  const bytes = Buffer.from(data, data.includes('-') || data.includes('_') ? 'base64url' : 'base64');
  if (bytes.length === 0) throw new BadImageError('image is empty (0 bytes)');
  if (bytes.length > maxBytes) throw new BadImageError(`image is larger than the limit of ${maxBytes} bytes`);
  return bytes;
}

async function fetchImage(url: string, maxBytes: number, timeoutMs: number, policy: OutboundPolicy): Promise<Buffer> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    // Only public addresses (or what ENGINE_OUTBOUND_ALLOW_* names), checked after DNS and on every redirect.
    const res = await guardedFetch(url, { signal, maxRedirects: MAX_REDIRECTS }, policy);
    if (!res.ok) {
      await res.body?.cancel();
      throw new BadImageError(`image URL answered HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await res.body?.cancel();
      throw new BadImageError(`image at URL is ${declared} bytes, over the limit of ${maxBytes} bytes`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    if (res.body) {
      for await (const chunk of res.body) {
        total += chunk.length;
        if (total > maxBytes) {
          throw new BadImageError(`image at URL is over the limit of ${maxBytes} bytes`);
        }
        chunks.push(Buffer.from(chunk));
      }
    }
    return Buffer.concat(chunks, total);
  } catch (err) {
    if (err instanceof BadImageError) throw err;
    if (err instanceof OutboundBlockedError) throw new BadImageError(`image URL is not allowed: ${err.message}`);
    if (signal.aborted) throw new BadImageError(`image URL did not answer within ${timeoutMs} ms`);
    throw new BadImageError(`image URL could not be fetched (${err instanceof Error ? (err.cause as Error | undefined)?.message ?? err.message : 'network error'})`);
  }
}
