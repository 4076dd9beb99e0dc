import { ConfigError, loadConfig } from './config.schema.js';

describe('access settings', () => {
  it('defaults: no admin API, 5 s key cache, 6000 requests per 60 s, a tenant may use every slot', () => {
    const c = loadConfig({});
    expect(c.access).toEqual({ adminApiKey: undefined, keyCacheTtlMs: 5000, rateLimit: { requests: 6000, windowSeconds: 60 }, tenantMaxInFlight: 5 });
  });

  it.each([
    [{ PROVIDER_MAX_IN_FLIGHT: '10', TENANT_MAX_SHARE: '0.5' }, 5],
    [{ PROVIDER_MAX_IN_FLIGHT: '5', TENANT_MAX_SHARE: '0.7' }, 3],
    [{ PROVIDER_MAX_IN_FLIGHT: '5', TENANT_MAX_SHARE: '0.01' }, 1],
    [{ PROVIDER_MAX_IN_FLIGHT: '10', TENANT_MAX_IN_FLIGHT: '3' }, 3],
    [{ PROVIDER_MAX_IN_FLIGHT: '4', TENANT_MAX_IN_FLIGHT: '9' }, 4],
    [{ PROVIDER_MAX_IN_FLIGHT: '10', TENANT_MAX_SHARE: '0.5', TENANT_MAX_IN_FLIGHT: '2' }, 2],
  ])('a tenant share of %o is %i slots', (env, slots) => {
    expect(loadConfig(env).access.tenantMaxInFlight).toBe(slots);
  });

  it.each([
    [{ TENANT_MAX_SHARE: '0' }, 'TENANT_MAX_SHARE'],
    [{ TENANT_MAX_SHARE: '1.5' }, 'TENANT_MAX_SHARE'],
    [{ ADMIN_API_KEY: 'short' }, 'ADMIN_API_KEY'],
    [{ RATE_LIMIT_WINDOW_SECONDS: '0' }, 'RATE_LIMIT_WINDOW_SECONDS'],
  ])('stops start-up naming the bad variable: %o', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(name));
  });
});
