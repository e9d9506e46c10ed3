import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';

describe('loadConfig', () => {
  it('applies the documented defaults and freezes the result', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 8080, DATA_DIR: './.data', LOG_LEVEL: 'info', STREAM_PARTITIONS: 16, INGEST_MAX_EVENT_AGE_DAYS: 365, INGEST_MAX_FUTURE_SECONDS: 600 });
    expect(config.REDIS_URL).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '' }).PORT).toBe(8080);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['PORT', ' '],
    ['PORT', '0x1F90'],
    ['PORT', '80.5'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['REDIS_URL', 'redis-cluster://a:7000,b'],
    ['REDIS_URL', 'redis-cluster://'],
    ['MONGODB_URL', 'localhost:27017'],
    ['LOG_LEVEL', 'loud'],
    ['INGEST_MAX_BODY_BYTES', '-1'],
    ['ALLOW_UWS_FALLBACK', 'yes'],
  ])('names %s when it is %j', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}: .*\\(got "${value}"\\)`));
  });

  it('names every bad variable at once and never prints the admin token', () => {
    let message = '';
    try {
      loadConfig({ PORT: 'x', ADMIN_TOKEN: 'short-secret' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/PORT:/);
    expect(message).toMatch(/ADMIN_TOKEN: must be at least 16 characters \(got \(hidden\)\)/);
    expect(message).not.toContain('short-secret');
  });

  it.each(['change-me-to-a-long-random-token', 'CHANGEME-please-0123456789', 'your-admin-token-goes-here', 'example-admin-token-1234'])('refuses the placeholder admin token %j at start', (token) => {
    expect(() => loadConfig({ ADMIN_TOKEN: token })).toThrow(/ADMIN_TOKEN: is a placeholder from an example; generate a token/);
    expect(loadConfig({ ADMIN_TOKEN: 'f3a9c1e07b5d42a8b6e9d0c1' }).ADMIN_TOKEN).toBe('f3a9c1e07b5d42a8b6e9d0c1');
  });
});
