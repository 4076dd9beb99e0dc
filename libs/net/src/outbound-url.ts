/**
 * Checks a user-supplied URL against the outbound policy: the scheme, the host as the WHATWG URL parser
 * normalises it (so `http://2130706433/`, `http://0177.0.0.1/`, `http://0x7f.1/`, `http://127.1/` all
 * become 127.0.0.1, and `[::ffff:127.0.0.1]` becomes `[::ffff:7f00:1]`), and every address the host
 * resolves to. `guardedLookup` is the same check as a `lookup` function for node's http/net: the addresses
 * it checks are the addresses the socket connects to, so DNS rebinding cannot swap them in between.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { normalizeIp } from './blocked-addresses.js';
import { normalizeHost, type OutboundPolicy } from './outbound-policy.js';

export const URL_NOT_ALLOWED = 'url_not_allowed';

/** A URL (or an address it resolves to) that the outbound policy refuses. */
export class OutboundBlockedError extends Error {
  override readonly name = 'OutboundBlockedError';
  readonly code = URL_NOT_ALLOWED;
  constructor(
    readonly host: string,
    readonly reason: string,
    readonly address?: string,
  ) {
    super(`${host}${address && address !== host ? ` (${address})` : ''} is a ${reason} address; outbound requests to it are not allowed`);
  }
}

export function defaultPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** The check that needs no DNS: scheme, metadata names, literal IP hosts. Throws OutboundBlockedError. */
export function checkUrlLiteral(url: URL, policy: OutboundPolicy): void {
  const host = normalizeHost(url.hostname);
  const byName = policy.hostnameReason(host);
  if (byName) throw new OutboundBlockedError(host, byName);
  if (isIP(normalizeIp(host)) !== 0) {
    const reason = policy.addressReason(host, host, defaultPort(url));
    if (reason) throw new OutboundBlockedError(url.hostname, reason, normalizeIp(host));
  }
}

function lookupAll(host: string, timeoutMs: number): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error(`DNS lookup of ${host} timed out`), { code: 'ETIMEOUT' })), timeoutMs);
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(addresses);
    });
  });
}

export interface AcceptCheckOptions {
  /** How long a lookup may take; a host that does not resolve (in time) is accepted, the send-time check decides. */
  lookupTimeoutMs?: number;
  /** false: the literal checks only (no DNS). */
  resolve?: boolean;
}

/**
 * The accept-time check of the API: literal addresses, then the host's DNS answer (every address must be
 * allowed). Returns the OutboundBlockedError instead of throwing; null when the URL may be used.
 * A host that does not resolve now is accepted: the check at send time (guardedLookup) still applies.
 */
export async function findUrlBlock(rawUrl: string, policy: OutboundPolicy, opts: AcceptCheckOptions = {}): Promise<OutboundBlockedError | null> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return null; // syntax is the schema's job
  }
  try {
    checkUrlLiteral(url, policy);
  } catch (err) {
    if (err instanceof OutboundBlockedError) return err;
    throw err;
  }
  const host = normalizeHost(url.hostname);
  if (isIP(host) !== 0 || opts.resolve === false || policy.hostAllowed(host, defaultPort(url))) return null;
  let addresses: LookupAddress[];
  try {
    addresses = await lookupAll(host, opts.lookupTimeoutMs ?? 2000);
  } catch {
    return null;
  }
  for (const a of addresses) {
    const reason = policy.addressReason(a.address, host, defaultPort(url));
    if (reason) return new OutboundBlockedError(host, reason, a.address);
  }
  return null;
}

/**
 * A `lookup` for http.request / net.connect that resolves the host, refuses the connection if any address
 * is blocked, and hands exactly the checked addresses to the socket (no second resolution).
 */
export function guardedLookup(policy: OutboundPolicy, port: number): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number } | number | undefined, callback: (...args: unknown[]) => void) => {
    const opts = typeof options === 'object' && options !== null ? options : { family: typeof options === 'number' ? options : undefined };
    const host = normalizeHost(hostname);
    const byName = policy.hostnameReason(host);
    if (byName) return void process.nextTick(callback, new OutboundBlockedError(host, byName));
    dnsLookup(host, { all: true, verbatim: true, family: opts.family ?? 0 }, (err, addresses) => {
      if (err) return callback(err);
      for (const a of addresses) {
        const reason = policy.addressReason(a.address, host, port);
        if (reason) return callback(new OutboundBlockedError(host, reason, a.address));
      }
      if (addresses.length === 0) return callback(Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' }));
      if (opts.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  }) as LookupFunction;
}
