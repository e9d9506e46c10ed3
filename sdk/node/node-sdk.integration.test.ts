import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from '../../core/redis.js';
import { flakyProxy } from '../../test/flaky-proxy.js';
import { startTestServer, testRedis, type TestServer } from '../../test/helpers.js';
import { recentTotal, waitForDrain } from '../../test/pipeline-check.js';
import { DeliveryError, Signalboard, type Properties, type TrackMessage } from './index.js';

const batchSize = (body: string) => (JSON.parse(body) as { batch: unknown[] }).batch.length;

describe('the Node SDK against a running stack', () => {
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

  it('halves a batch on 413, waits Retry-After after a 503, and every event counts once', async () => {
    const project = await server.createProject('node-sdk');
    // 1st request: 413 before the server sees it. 2nd: stored, then answered 503 with
    // Retry-After: 1, so the SDK resends the same events a second later.
    const proxy = await flakyProxy(server.url, (n) =>
      n === 0 ? { status: 413, afterForwarding: false } : n === 1 ? { status: 503, headers: { 'retry-after': '1' }, afterForwarding: true } : 'forward',
    );
    const errors: Error[] = [];
    const client = new Signalboard({ writeKey: project.writeKey, endpoint: proxy.url, flushAt: 40, flushInterval: 60_000, onError: (e) => errors.push(e) });
    for (let i = 0; i < 40; i++) client.track({ userId: `node-user-${i % 8}`, event: 'invoice paid', properties: { cents: 100 * i } });
    client.identify({ userId: 'node-user-0', traits: { plan: 'team' } });
    client.page({ anonymousId: 'crawler-1', url: 'https://shop.example/pricing', path: '/pricing' });
    await client.shutdown();
    await proxy.close();

    expect(errors).toEqual([]);
    const sizes = proxy.requests.map((r) => batchSize(r.body));
    expect(sizes.slice(0, 3)).toEqual([40, 20, 20]);
    expect(proxy.requests[2]!.body).toBe(proxy.requests[1]!.body);
    expect(proxy.requests[2]!.at - proxy.requests[1]!.at).toBeGreaterThanOrEqual(1000);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(40 + 40 + 20 + 2);

    await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, server.config.STREAM_PARTITIONS);
    const totals = { paid: await recentTotal(server.url, project.readKey, 'invoice paid'), identify: await recentTotal(server.url, project.readKey, '$identify'), page: await recentTotal(server.url, project.readKey, '$page') };
    expect(totals).toEqual({ paid: 40, identify: 1, page: 1 });
  });

  it('reports a wrong key as refused with the server\'s error, and what shutdown() could not deliver', async () => {
    const refused: DeliveryError[] = [];
    const wrongKey = new Signalboard({ writeKey: 'sbw_not_a_key', endpoint: server.url, flushAt: 1, onError: (e) => refused.push(e as DeliveryError) });
    wrongKey.track({ anonymousId: 'a1', event: 'x' });
    await wrongKey.shutdown();
    expect(refused.map((e) => [e.reason, e.status, e.events.length])).toEqual([['refused', 401, 1]]);
    expect(refused[0]!.message).toMatch(/HTTP 401 SB_AUTH_INVALID/);

    // A server that answers 503 to everything: shutdown() gives up after its timeout.
    const project = await server.createProject('node-sdk-down');
    const down = await flakyProxy(server.url, () => ({ status: 503, headers: { 'retry-after': '5' }, afterForwarding: false }));
    const lost: DeliveryError[] = [];
    const client = new Signalboard({ writeKey: project.writeKey, endpoint: down.url, timeout: 300, onError: (e) => lost.push(e as DeliveryError) });
    client.track({ anonymousId: 'a1', event: 'x' });
    client.track({ anonymousId: 'a1', event: 'y' });
    await client.shutdown();
    client.track({ anonymousId: 'a1', event: 'z' });
    await down.close();
    expect(lost.map((e) => [e.reason, e.events.map((ev) => ev.event)])).toEqual([['shutdown', ['x', 'y']], ['shutdown', ['z']]]);
  });

  it('reports a call it cannot queue as a TypeError, sending nothing', async () => {
    const proxy = await flakyProxy(server.url, () => 'forward');
    const bad: Error[] = [];
    const client = new Signalboard({ writeKey: 'sbw_unused', endpoint: proxy.url, flushAt: 1, onError: (e) => bad.push(e) });
    client.page({ anonymousId: 'a1', properties: 'abc' as unknown as Properties });
    client.track({ event: 'x' } as TrackMessage);
    client.track({ userId: 'u1', event: 'x', timestamp: 'yesterday' });
    await client.shutdown();
    await proxy.close();
    expect(bad.map((e) => [e.constructor, e.message])).toEqual([
      [TypeError, '$page: properties must be an object'],
      [TypeError, 'x: one of userId and anonymousId is required'],
      [TypeError, 'timestamp must be a Date, an ISO-8601 string or epoch milliseconds'],
    ]);
    expect(proxy.requests).toEqual([]);
  });
});
