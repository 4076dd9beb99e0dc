/**
 * The outbound policy: which addresses a user-supplied URL may reach. Everything public is allowed; the
 * ranges of blocked-addresses.ts are refused unless an operator allows them:
 *  - `allowCidrs` (OUTBOUND_ALLOW_CIDRS): address ranges, e.g. `10.1.0.0/16,::1/128`;
 *  - `allowHosts` (OUTBOUND_ALLOW_HOSTS): host names or IP literals, optionally with a port
 *    (`images.internal`, `127.0.0.1:8080`, `[::1]:9000`): any address they resolve to is allowed.
 * Cloud metadata addresses and host names stay refused whatever the allow-lists say.
 */
import { BlockList, isIP } from 'node:net';
import { blockedAddressReason, METADATA_ADDRESSES, METADATA_HOSTNAMES, normalizeIp } from './blocked-addresses.js';

export interface OutboundPolicyOptions {
  allowCidrs?: readonly string[];
  allowHosts?: readonly string[];
}

interface HostRule {
  host: string;
  port: number | null;
}

export class OutboundPolicyError extends Error {
  override readonly name = 'OutboundPolicyError';
}

/** `host`, `host:port`, `[v6]` or `[v6]:port` -> a rule (host lower-cased, brackets and a trailing dot removed). */
export function parseHostRule(entry: string): HostRule {
  const s = entry.trim().toLowerCase();
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? (isIP(s) === 6 ? [s, s, undefined] : /^([^:]+)(?::(\d+))?$/.exec(s));
  if (!m || !m[1]) throw new OutboundPolicyError(`"${entry}" is not a host or host:port`);
  const port = m[2] === undefined ? null : Number(m[2]);
  if (port !== null && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new OutboundPolicyError(`"${entry}" has an invalid port`);
  return { host: normalizeHost(m[1]), port };
}

export function parseCidr(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [addrRaw, prefixRaw] = entry.trim().split('/');
  const address = normalizeIp(addrRaw ?? '');
  const family = isIP(address);
  if (family === 0) throw new OutboundPolicyError(`"${entry}" is not a CIDR range (such as 10.0.0.0/8 or ::1/128)`);
  const prefix = prefixRaw === undefined ? (family === 4 ? 32 : 128) : Number(prefixRaw);
  if (!/^\d+$/.test(prefixRaw ?? '0') || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
    throw new OutboundPolicyError(`"${entry}" has an invalid prefix length`);
  }
  return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

export function normalizeHost(host: string): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

export class OutboundPolicy {
  private readonly allowed = new BlockList();
  private readonly hosts: HostRule[];
  private readonly hasCidrs: boolean;

  constructor(opts: OutboundPolicyOptions = {}) {
    const cidrs = (opts.allowCidrs ?? []).filter((c) => c.trim() !== '');
    for (const c of cidrs) {
      const { address, prefix, family } = parseCidr(c);
      this.allowed.addSubnet(address, prefix, family);
    }
    this.hasCidrs = cidrs.length > 0;
    this.hosts = (opts.allowHosts ?? []).filter((h) => h.trim() !== '').map(parseHostRule);
  }

  /** Comma-separated lists, as the environment gives them. */
  static fromLists(allowCidrs = '', allowHosts = ''): OutboundPolicy {
    return new OutboundPolicy({ allowCidrs: allowCidrs.split(','), allowHosts: allowHosts.split(',') });
  }

  /** The host (and port) is on OUTBOUND_ALLOW_HOSTS: whatever it resolves to may be reached. */
  hostAllowed(host: string, port: number): boolean {
    const h = normalizeHost(host);
    if (METADATA_HOSTNAMES.has(h)) return false;
    return this.hosts.some((r) => r.host === h && (r.port === null || r.port === port));
  }

  /** Why a host name is refused before any lookup (metadata names), or null. */
  hostnameReason(host: string): string | null {
    return METADATA_HOSTNAMES.has(normalizeHost(host)) ? 'cloud metadata' : null;
  }

  /** Why connecting to `ip` for `host:port` is refused, or null when it is allowed. */
  addressReason(ip: string, host: string, port: number): string | null {
    const addr = normalizeIp(ip);
    if (METADATA_ADDRESSES.has(addr)) return 'cloud metadata';
    if (this.hostAllowed(host, port)) return null;
    const reason = blockedAddressReason(addr);
    if (reason === null) return null;
    if (this.hasCidrs && reason !== 'not an IP address' && this.allowed.check(addr, isIP(addr) === 6 ? 'ipv6' : 'ipv4')) return null;
    return reason;
  }
}
