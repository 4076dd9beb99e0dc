/**
 * Which IP addresses maskflow never connects to on behalf of a user-supplied URL: loopback, private
 * (RFC 1918, CGNAT 100.64/10, ULA fc00::/7), link-local, multicast, unspecified, reserved and documentation
 * ranges, cloud metadata addresses, and IPv6 forms that embed one of those IPv4 addresses
 * (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96).
 */
import { BlockList, isIP } from 'node:net';

const V4_RANGES: Array<[string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'],
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];
const V6_RANGES: Array<[string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['100::', 64, 'reserved'],
  ['2001:db8::', 32, 'reserved'],
  ['fc00::', 7, 'private (unique local)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private (site-local)'],
  ['ff00::', 8, 'multicast'],
];

/** Cloud instance metadata services: blocked even when an allow-list would cover them. */
export const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254', '169.254.170.2', '100.100.100.200']);
export const METADATA_HOSTNAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

const lists = new Map<string, BlockList>();
for (const [addr, prefix, reason] of [...V4_RANGES, ...V6_RANGES]) {
  let list = lists.get(reason);
  if (!list) lists.set(reason, (list = new BlockList()));
  list.addSubnet(addr, prefix, isIP(addr) === 6 ? 'ipv6' : 'ipv4');
}

/** Expands an IPv6 address to its eight 16-bit groups (undefined if it is not one). */
function ipv6Groups(ip: string): number[] | undefined {
  let s = ip.toLowerCase();
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const parts = v4[1]!.split('.').map(Number);
    s = `${s.slice(0, -v4[1]!.length)}${((parts[0]! << 8) | parts[1]!).toString(16)}:${((parts[2]! << 8) | parts[3]!).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const groups = [...h, ...Array(fill).fill('0'), ...t].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** The IPv4 address an IPv6 address carries (mapped, compatible or NAT64), if any. */
export function embeddedIpv4(ip: string): string | undefined {
  const g = ipv6Groups(ip);
  if (!g) return undefined;
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  const mapped = zeros(5) && g[5] === 0xffff;
  const compatible = zeros(6) && (g[6]! !== 0 || g[7]! > 1);
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (!mapped && !compatible && !nat64) return undefined;
  return `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
}

/** Strips IPv6 URL brackets and a zone id. */
export function normalizeIp(ip: string): string {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  return bare.replace(/%.*$/, '').toLowerCase();
}

/** Why `ip` must not be reached ('loopback', 'private', 'link-local', 'cloud metadata', ...), or null if it is public. */
export function blockedAddressReason(ipRaw: string): string | null {
  const ip = normalizeIp(ipRaw);
  const family = isIP(ip);
  if (family === 0) return 'not an IP address';
  if (METADATA_ADDRESSES.has(ip)) return 'cloud metadata';
  if (family === 6) {
    const v4 = embeddedIpv4(ip);
    if (v4) {
      const inner = blockedAddressReason(v4);
      if (inner) return inner;
    }
  }
  for (const [reason, list] of lists) {
    if (list.check(ip, family === 6 ? 'ipv6' : 'ipv4')) return reason;
  }
  return null;
}
