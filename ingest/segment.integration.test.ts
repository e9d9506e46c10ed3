import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedis, startTestServer, type TestServer } from '../test/helpers.js';
import { waitForDrain } from '../test/pipeline-check.js';
import type { Redis } from '../core/redis.js';

/**
 * A proxy in front of the server that forwards every request, but answers the first
 * `failFirst` with 503 after the server took them: the client retries a batch that was
 * stored, as after an answer lost on the way, so the retry must count once.
 */
function flakyProxy(target: string, failFirst: number): Promise<{ url: string; failed: () => number; close: () => Promise<void> }> {
  let failed = 0;
  const server: Server = createServer((req, res) => {
    const upstream = httpRequest(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      if (failed < failFirst) {
        failed++;
        answer.resume();
        answer.on('end', () => res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"proxy"}'));
        return;
      }
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    failed: () => failed,
    close: () => new Promise((done) => server.close(() => done())),
  })));
}

async function timeseriesTotal(server: TestServer, readKey: string, event: string): Promise<number> {
  const from = new Date(Date.now() - 2 * 3600_000).toISOString();
  const to = new Date(Date.now() + 3600_000).toISOString();
  const res = await fetch(`${server.url}/v1/metrics/timeseries?event=${encodeURIComponent(event)}&granularity=hour&from=${from}&to=${to}`, { headers: { authorization: `Bearer ${readKey}` } });
  expect(res.status).toBe(200);
  const { points } = (await res.json()) as { points: { count: number }[] };
  return points.reduce((sum, p) => sum + p.count, 0);
}

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
    const proxy = await flakyProxy(server.url, 2);
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
    expect(proxy.failed()).toBe(2);
    await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, server.config.STREAM_PARTITIONS);
    const totals = Object.fromEntries(await Promise.all(['Order Completed', '$identify', '$page', '$screen', '$group', '$alias'].map(async (e) => [e, await timeseriesTotal(server, project.readKey, e)] as const)));
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
    expect((await fetch(`${server.url}/v1/projects/sbw_unknown/settings`)).status).toBe(401);

    const tooLarge = await post('/v1/batch', { batch: [{ type: 'track', event: 'x', userId: 'u', properties: { blob: 'x'.repeat(520 * 1024) } }] }, { authorization: basic });
    expect(tooLarge.status).toBe(413);
  });
});
