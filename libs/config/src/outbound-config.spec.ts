import { ConfigError, loadConfig } from './config.schema.js';

describe('outbound configuration', () => {
  it('defaults to no allow-list and a 1 MiB provider webhook cap', () => {
    expect(loadConfig({}).outbound).toEqual({ allowCidrs: [], allowHosts: [], providerWebhookMaxBytes: 1024 * 1024 });
  });
  it('parses the comma-separated lists', () => {
    const c = loadConfig({ OUTBOUND_ALLOW_CIDRS: ' 10.0.0.0/8, ::1/128 ', OUTBOUND_ALLOW_HOSTS: 'images.internal,127.0.0.1:8080' });
    expect(c.outbound.allowCidrs).toEqual(['10.0.0.0/8', '::1/128']);
    expect(c.outbound.allowHosts).toEqual(['images.internal', '127.0.0.1:8080']);
  });
  it.each([
    [{ OUTBOUND_ALLOW_CIDRS: '10.0.0.0/40' }, /OUTBOUND_ALLOW_CIDRS.*invalid prefix/],
    [{ OUTBOUND_ALLOW_CIDRS: 'intranet' }, /OUTBOUND_ALLOW_CIDRS.*"intranet" is not a CIDR/],
    [{ OUTBOUND_ALLOW_HOSTS: 'a:b:c' }, /OUTBOUND_ALLOW_HOSTS.*a:b:c/],
    [{ PROVIDER_WEBHOOK_MAX_BYTES: '10' }, /PROVIDER_WEBHOOK_MAX_BYTES/],
  ])('%j stops start-up naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
