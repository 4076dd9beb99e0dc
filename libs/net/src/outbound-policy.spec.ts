import { blockedAddressReason, embeddedIpv4 } from './blocked-addresses.js';
import { OutboundPolicy, OutboundPolicyError } from './outbound-policy.js';
import { checkUrlLiteral, findUrlBlock, OutboundBlockedError } from './outbound-url.js';

describe('blockedAddressReason', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.1.2', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private (carrier-grade NAT)'],
    ['100.127.255.254', 'private (carrier-grade NAT)'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'cloud metadata'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'private (unique local)'],
    ['fd12:3456::1', 'private (unique local)'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:a9fe:a9fe', 'cloud metadata'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['[::1]', 'loopback'],
  ])('%s is refused as %s', (ip, reason) => {
    expect(blockedAddressReason(ip)).toBe(reason);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '169.253.255.255', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])('%s is public', (ip) => {
    expect(blockedAddressReason(ip)).toBeNull();
  });

  it('finds the IPv4 address inside mapped, compatible and NAT64 IPv6 addresses only', () => {
    expect(embeddedIpv4('::ffff:192.168.0.1')).toBe('192.168.0.1');
    expect(embeddedIpv4('0:0:0:0:0:ffff:c0a8:1')).toBe('192.168.0.1');
    expect(embeddedIpv4('64:ff9b::a00:1')).toBe('10.0.0.1');
    expect(embeddedIpv4('2606:4700::1')).toBeUndefined();
    expect(embeddedIpv4('::1')).toBeUndefined();
  });
});

describe('checkUrlLiteral: every spelling of a private address is caught', () => {
  const policy = new OutboundPolicy();
  it.each([
    ['http://127.0.0.1/x', 'loopback'],
    ['http://2130706433/', 'loopback'], // decimal
    ['http://0177.0.0.1/', 'loopback'], // octal
    ['http://017700000001/', 'loopback'], // octal, one number
    ['http://0x7f.0.0.1/', 'loopback'], // hex
    ['http://0x7f000001/', 'loopback'],
    ['http://127.1/', 'loopback'], // short form
    ['http://0/', 'unspecified'],
    ['http://[::1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[0:0:0:0:0:ffff:7f00:1]/', 'loopback'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://[fd00:ec2::254]/latest/meta-data/', 'cloud metadata'],
    ['http://169.254.169.254/latest/meta-data/', 'cloud metadata'],
    ['http://0xa9fea9fe/', 'cloud metadata'],
    ['http://10.0.0.1:8080/', 'private'],
    ['https://192.168.0.10/', 'private'],
    ['http://100.64.1.1/', 'private (carrier-grade NAT)'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'cloud metadata'],
    ['http://METADATA.google.internal./', 'cloud metadata'],
  ])('%s -> %s', (u, reason) => {
    let caught: unknown;
    try {
      checkUrlLiteral(new URL(u), policy);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(OutboundBlockedError);
    expect((caught as OutboundBlockedError).reason).toBe(reason);
    expect((caught as OutboundBlockedError).code).toBe('url_not_allowed');
  });

  it('lets public literals and host names through (names are checked after resolution)', () => {
    expect(() => checkUrlLiteral(new URL('https://8.8.8.8/a.png'), policy)).not.toThrow();
    expect(() => checkUrlLiteral(new URL('https://cdn.example.com/a.png'), policy)).not.toThrow();
  });
});

describe('the allow-lists', () => {
  it('OUTBOUND_ALLOW_CIDRS lets a range through, and only that range', () => {
    const p = OutboundPolicy.fromLists('127.0.0.0/8,::1/128', '');
    expect(p.addressReason('127.0.0.1', '127.0.0.1', 80)).toBeNull();
    expect(p.addressReason('::ffff:127.0.0.1', 'x', 80)).toBeNull();
    expect(p.addressReason('::1', 'x', 80)).toBeNull();
    expect(p.addressReason('10.0.0.1', 'x', 80)).toBe('private');
    expect(p.addressReason('fe80::1', 'x', 80)).toBe('link-local');
  });

  it('OUTBOUND_ALLOW_HOSTS allows a host (any port) or one host:port', () => {
    const p = OutboundPolicy.fromLists('', 'images.internal,127.0.0.1:8080,[::1]:9000');
    expect(p.addressReason('10.0.0.5', 'images.internal', 443)).toBeNull();
    expect(p.addressReason('10.0.0.5', 'IMAGES.internal.', 80)).toBeNull();
    expect(p.addressReason('127.0.0.1', '127.0.0.1', 8080)).toBeNull();
    expect(p.addressReason('127.0.0.1', '127.0.0.1', 8081)).toBe('loopback');
    expect(p.addressReason('::1', '::1', 9000)).toBeNull();
    expect(p.addressReason('::1', '::1', 9001)).toBe('loopback');
  });

  it('never allows cloud metadata, whatever the lists say', () => {
    const p = OutboundPolicy.fromLists('169.254.0.0/16,fd00::/8', 'metadata.google.internal,169.254.169.254');
    expect(p.addressReason('169.254.169.254', '169.254.169.254', 80)).toBe('cloud metadata');
    expect(p.addressReason('fd00:ec2::254', 'x', 80)).toBe('cloud metadata');
    expect(p.hostAllowed('metadata.google.internal', 80)).toBe(false);
    expect(p.addressReason('169.254.10.10', 'x', 80)).toBeNull();
  });

  it('rejects malformed entries with a message naming them', () => {
    expect(() => OutboundPolicy.fromLists('10.0.0.0/33', '')).toThrow(OutboundPolicyError);
    expect(() => OutboundPolicy.fromLists('not-a-cidr', '')).toThrow(/not-a-cidr/);
    expect(() => OutboundPolicy.fromLists('', 'host:99999')).toThrow(/invalid port/);
  });
});

describe('findUrlBlock (the API accept-time check)', () => {
  const policy = new OutboundPolicy();
  it('refuses a host name that resolves to loopback', async () => {
    const block = await findUrlBlock('http://localhost:1234/a.png', policy);
    expect(block).toBeInstanceOf(OutboundBlockedError);
    expect(block!.reason).toBe('loopback');
  });
  it('accepts a host that does not resolve now (the send-time check still applies)', async () => {
    expect(await findUrlBlock('https://no-such-host.invalid/a.png', policy)).toBeNull();
  });
  it('accepts localhost when the allow-list covers loopback', async () => {
    expect(await findUrlBlock('http://localhost:1234/a.png', OutboundPolicy.fromLists('127.0.0.0/8,::1/128'))).toBeNull();
  });
});
