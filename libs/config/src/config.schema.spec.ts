import { ConfigError, loadConfig } from './config.schema.js';

describe('loadConfig', () => {
  it('starts on embedded defaults with the engine when no ModelsLab key is set', () => {
    const c = loadConfig({});
    expect(c.http.port).toBe(3000);
    expect(c.provider.kind).toBe('engine');
    expect(c.provider.maxInFlight).toBe(5);
    expect(c.redis.prefix).toBe('{maskflow}');
    expect(c.usingDevApiKey).toBe(true);
  });

  it('uses ModelsLab when a key is set', () => {
    const c = loadConfig({ MODELSLAB_API_KEY: 'k', API_KEYS: 'a, b' });
    expect(c.provider).toMatchObject({ kind: 'modelslab', baseUrl: 'https://modelslab.com', apiKey: 'k' });
    expect(c.apiKeys).toEqual(['a', 'b']);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PROVIDER_MAX_IN_FLIGHT: '0' }, 'PROVIDER_MAX_IN_FLIGHT'],
    [{ QUEUE_PREFIX: 'maskflow' }, 'QUEUE_PREFIX'],
    [{ DATABASE_URL: 'mysql://x/y' }, 'DATABASE_URL'],
    [{ PUBLIC_BASE_URL: 'ftp://x' }, 'PUBLIC_BASE_URL'],
    [{ PROVIDER: 'modelslab' }, 'MODELSLAB_API_KEY'],
    [{ S3_FORCE_PATH_STYLE: 'maybe' }, 'S3_FORCE_PATH_STYLE'],
    [{ NODE_ENV: 'production' }, 'API_KEYS'],
  ])('stops start-up naming the bad variable: %o', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^invalid configuration:[\\s\\S]*${name}`));
  });
});
