import { describe, expect, it } from 'vitest';
import { clusterAddress } from './redis.js';

describe('clusterAddress', () => {
  it('reads the seed nodes and the credentials of a redis-cluster:// URL', () => {
    expect(clusterAddress('redis-cluster://127.0.0.1:7000,127.0.0.1:7001')).toEqual({ nodes: [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }] });
    expect(clusterAddress('redis-cluster://app:p%40ss@redis-a:6379,[::1]:6380/')).toEqual({ nodes: [{ host: 'redis-a', port: 6379 }, { host: '::1', port: 6380 }], username: 'app', password: 'p@ss' });
    expect(clusterAddress('redis-cluster://:secret@a:1')).toEqual({ nodes: [{ host: 'a', port: 1 }], password: 'secret' });
  });

  it('is undefined for a server URL, which ioredis reads itself', () => {
    expect(clusterAddress('redis://127.0.0.1:6379')).toBeUndefined();
    expect(clusterAddress('rediss://u:p@host:6380/2')).toBeUndefined();
  });

  it.each([
    ['redis-cluster://', 'a cluster URL is redis-cluster://'],
    ['redis-cluster://a', '"a" in a cluster URL is not host:port'],
    ['redis-cluster://a:7000,b', '"b" in a cluster URL is not host:port'],
    ['redis-cluster://a:0', '"a:0" in a cluster URL is not host:port'],
    ['redis-cluster://a:7000/3', 'a cluster URL is redis-cluster://'],
  ])('refuses %j, saying what is wrong', (url, message) => {
    expect(() => clusterAddress(url)).toThrow(message);
  });
});
