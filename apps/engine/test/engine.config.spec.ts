import { loadEngineConfig } from '../src/engine.config.js';

describe('loadEngineConfig', () => {
  it('has working defaults', () => {
    const c = loadEngineConfig({});
    expect(c.port).toBe(7000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.model).toBe('fp16');
    expect(c.apiKey).toBeUndefined();
    expect(c.publicUrl).toBeUndefined();
  });

  it('parses values and trims the public URL', () => {
    const c = loadEngineConfig({ ENGINE_PORT: '7123', ENGINE_PUBLIC_URL: 'http://engine.local:9/', ENGINE_MODEL: 'quint8', ENGINE_API_KEY: 'k' });
    expect(c).toMatchObject({ port: 7123, publicUrl: 'http://engine.local:9', model: 'quint8', apiKey: 'k' });
  });

  it.each([
    ['ENGINE_PORT', 'seventy'],
    ['ENGINE_MODEL', 'fp64'],
    ['ENGINE_MODEL', 'fp32'],
    ['ENGINE_SYNC_WAIT_MS', '-1'],
    ['ENGINE_PUBLIC_URL', 'ftp://x'],
    ['ENGINE_MEM_ARENA', 'maybe'],
  ])('a bad %s (%s) throws an error naming it', (name, value) => {
    expect(() => loadEngineConfig({ [name]: value })).toThrow(name);
  });
});
