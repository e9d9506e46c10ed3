import { Analytics } from '@segment/analytics-node';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedis, startTestServer, type TestServer } from '../test/helpers.js';
import { flakyProxy } from '../test/flaky-proxy.js';
import { recentTotal, waitForDrain } from '../test/pipeline-check.js';
import type { Redis } from '../core/redis.js';

describe('Segment-compatible ingest', () => {
  let server: TestServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await startTestServer({}, ['ingest', 'aggregator', 'api']);
    redis = testRedis();
  });

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('counts exactly what the real @segment/analytics-node sends, retries of stored batches included', async () => {
    const project = await server.createProject('segment');
    // The first two batches are stored, then answered 503: the SDK retries them.
    const proxy = await flakyProxy(server.url, (n) => (n < 2 ? { status: 503, afterForwarding: true } : 'forward'));
    const errors: unknown[] = [];
    const analytics = new Analytics({ writeKey: project.writeKey, host: proxy.url, flushAt: 40, flushInterval: 200, maxRetries: 5 });
    analytics.on('error', (err) => errors.push(err));
    const users = Array.from({ length: 30 }, (_, i) => `seg-user-${i}`);
    for (const userId of users) {
      analytics.identify({ userId, traits: { plan: 'pro' } });
      analytics.page({ userId, name: 'Pricing', properties: { path: '/pricing' } });
      for (let i = 0; i < 4; i++) analytics.track({ userId, event: 'Order Completed', properties: { total: 10 + i } });
    }
    analytics.screen({ anonymousId: 'device-1', name: 'Home' });
    analytics.group({ userId: users[0]!, groupId: 'acme', traits: { seats: 5 } });
    analytics.alias({ userId: users[1]!, previousId: 'device-1' });
    await analytics.closeAndFlush({ timeout: 20_000 });
    await proxy.close();

    expect(errors).toEqual([]);
    // Two requests failed (the first two always do) and the rest got through.
    expect(proxy.requests.length).toBeGreaterThan(2);
    await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, server.config.STREAM_PARTITIONS);
    const totals = Object.fromEntries(await Promise.all(['Order Completed', '$identify', '$page', '$screen', '$group', '$alias'].map(async (e) => [e, await recentTotal(server.url, project.readKey, e)] as const)));
    expect(totals).toEqual({ 'Order Completed': 120, $identify: 30, $page: 30, $screen: 1, $group: 1, $alias: 1 });
  });

  it('takes the write key as the Basic user, in the body, or on analytics.js\'s short paths, names the Segment field in a rejection, and serves the SDKs\' settings', async () => {
    const project = await server.createProject('segment-http');
    const basic = `Basic ${Buffer.from(`${project.writeKey}:`).toString('base64')}`;
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

    const batch = await post('/v1/batch', { batch: [
      { type: 'track', event: 'Signed Up', userId: 'u1', messageId: 'm-1' },
      { type: 'track', event: 'Signed Up', userId: 'u1', messageId: 'has spaces' },
      { type: 'identify', userId: 'u1', traits: JSON.parse('{"__proto__": 1}') as unknown },
    ] }, { authorization: basic });
    expect(batch.status).toBe(200);
    expect(await batch.json()).toEqual({ success: true, accepted: 1, rejected: [
      { index: 1, errors: ['messageId: must be printable ASCII without spaces'] },
      { index: 2, errors: ['traits.__proto__: the key "__proto__" is not allowed'] },
    ] });

    const short = await fetch(`${server.url}/v1/t`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ writeKey: project.writeKey, event: 'Signed Up', anonymousId: 'a1' }) });
    expect(short.status).toBe(200);
    expect(await short.json()).toEqual({ success: true, accepted: 1, rejected: [] });

    const wrong = await post('/v1/track', { event: 'Signed Up', userId: 'u1' }, { authorization: `Basic ${Buffer.from('sbw_wrong:').toString('base64')}` });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('SB_AUTH_INVALID');

    const settings = await fetch(`${server.url}/v1/projects/${project.writeKey}/settings`);
    expect(settings.status).toBe(200);
    expect(await settings.json()).toMatchObject({ integrations: { 'Segment.io': { apiKey: project.writeKey, apiHost: `${new URL(server.url).host}/v1` } } });
    expect(settings.headers.get('cache-control')).toBe('no-store');
    expect((await fetch(`${server.url}/v1/projects/sbw_unknown/settings`)).status).toBe(401);
    // The admin token in the path is an unknown key like any other: never an admin credential in a URL.
    const admin = await fetch(`${server.url}/v1/projects/${server.config.ADMIN_TOKEN}/settings`);
    expect({ status: admin.status, code: ((await admin.json()) as { error: { code: string } }).error.code }).toEqual({ status: 401, code: 'SB_AUTH_INVALID' });

    const tooLarge = await post('/v1/batch', { batch: [{ type: 'track', event: 'x', userId: 'u', properties: { blob: 'x'.repeat(520 * 1024) } }] }, { authorization: basic });
    expect(tooLarge.status).toBe(413);
  });
});

describe('Segment-compatible ingest: keys in the body', () => {
  it('counts a request whose body holds no valid key against AUTH_FAILURES_PER_MINUTE before reading it, and gives the attempt back for a valid one', async () => {
    const server = await startTestServer({ AUTH_FAILURES_PER_MINUTE: '2' }, ['ingest', 'api']);
    try {
      const project = await server.createProject('segment-keys');
      const track = (body: unknown) => fetch(`${server.url}/v1/t`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(body) });
      // A valid key in the body, more often than the limit: each gives its attempt back.
      for (let i = 0; i < 4; i++) expect((await track({ writeKey: project.writeKey, event: 'ok', anonymousId: 'a' })).status).toBe(200);
      // No key, and a body that costs work: about 1 KB on the wire, 400 KB once inflated.
      const bomb = gzipSync(JSON.stringify({ event: 'x', anonymousId: 'a', properties: { pad: ' '.repeat(400 * 1024) } }));
      const keyless = () => fetch(`${server.url}/v1/t`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
      expect([(await keyless()).status, (await keyless()).status]).toEqual([401, 401]);
      const third = await keyless();
      expect(third.status).toBe(429);
      expect(((await third.json()) as { error: { code: string } }).error.code).toBe('SB_AUTH_THROTTLED');
    } finally {
      await server.stop();
    }
  });
});
