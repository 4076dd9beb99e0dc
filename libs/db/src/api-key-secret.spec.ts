import { apiKeyMatches, generateApiKey, hashApiKey, managedKeyId } from './api-key-secret.js';

describe('managed API keys', () => {
  it('are mf_live_<id>_<secret>, found by id and matched by hash', () => {
    const { id, key, keyHash } = generateApiKey();
    expect(key).toMatch(/^mf_live_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    expect(managedKeyId(key)).toBe(id);
    expect(keyHash).toBe(hashApiKey(key));
    expect(apiKeyMatches(key, keyHash)).toBe(true);
    expect(apiKeyMatches(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`, keyHash)).toBe(false);
    expect(apiKeyMatches(key, 'abcd')).toBe(false);
  });

  it('are unique and not confused with other strings', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => generateApiKey().id));
    expect(ids.size).toBe(1000);
    expect(managedKeyId('maskflow-dev-key')).toBeNull();
    expect(managedKeyId('mf_live_short_x')).toBeNull();
    expect(managedKeyId(`mf_live_abcdefghijkl_${'a'.repeat(42)}`)).toBeNull();
  });
});
