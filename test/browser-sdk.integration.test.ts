import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard } from '../scripts/build-dashboard.js';
import type { Redis } from '../core/redis.js';
import { launchChromium } from './browser.js';
import { startTestServer, testRedis, type TestServer } from './helpers.js';
import { flakyProxy, type FlakyProxy } from './flaky-proxy.js';
import { recentTotal, waitForDrain } from './pipeline-check.js';

const batchSize = (body: string) => (JSON.parse(body) as { batch: unknown[] }).batch.length;

/** A page on its own origin that loads the script-tag build from the Signalboard server, as a site would, and runs `script`. */
function pageServer(sdkUrl: string, script: () => string): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    if (req.url === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>shop</title><script src="${sdkUrl}"></script><script>${script()}</script>`);
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

describe('the browser SDK in Chromium', () => {
  let server: TestServer;
  let redis: Redis;
  let browser: Browser;
  let page: { server: Server; origin: string };
  let project: { writeKey: string; readKey: string };
  let proxy: FlakyProxy;
  let staticDir: string;

  beforeAll(async () => {
    staticDir = mkdtempSync(join(tmpdir(), 'sb-static-'));
    await buildDashboard(staticDir);
    server = await startTestServer({ DASHBOARD_DIR: staticDir }, ['ingest', 'aggregator', 'api']);
    proxy = await flakyProxy(server.url, () => 'forward');
    redis = testRedis();
    page = await pageServer(`${server.url}/sdk/signalboard.min.js`, () => `
      signalboard.init({ writeKey: ${JSON.stringify(project.writeKey)}, endpoint: ${JSON.stringify(proxy.url)}, flushAt: 10, flushInterval: 600000 });
      for (let i = 0; i < 25; i++) signalboard.track('clicked', { n: i });`);
    // The page's origin is the only one the project lets send.
    project = await server.createProject('browser', [page.origin]);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    page?.server.close();
    await proxy?.close();
    redis?.disconnect();
    await server?.stop();
    if (staticDir !== undefined) rmSync(staticDir, { recursive: true, force: true });
  });

  it('sends a batch once flushAt events wait, what is left by beacon when the page is left, and each event counts once', async () => {
    const tab = await browser.newPage();
    // Seen at a proxy: the browser's own request events miss a beacon sent as the page goes.
    const sent = () => proxy.requests.filter((r) => r.method === 'POST').map((r) => `${batchSize(r.body)} by ${r.path.includes('?key=') ? 'beacon' : 'fetch'}`);
    const queued = () => tab.evaluate(() => (globalThis as unknown as { signalboard: { queueStatus(): { queued: number } } }).signalboard.queueStatus().queued);
    // The 10th track starts a request; the 15 queued while it is out go in the next.
    await tab.goto(page.origin);
    await expect.poll(queued, { timeout: 5000 }).toBe(0);
    expect(sent()).toEqual(['10 by fetch', '15 by fetch']);

    // Two more, below flushAt: they wait until the page is left (pagehide), then go by beacon.
    await tab.evaluate(() => {
      const sb = (globalThis as unknown as { signalboard: { identify(id: string, traits: object): void; page(): void } }).signalboard;
      sb.identify('browser-user', { plan: 'pro' });
      sb.page();
    });
    expect(await queued()).toBe(2);
    await tab.goto('about:blank');
    await expect.poll(() => sent().length, { timeout: 5000 }).toBe(3);
    expect(sent()).toEqual(['10 by fetch', '15 by fetch', '2 by beacon']);
    await tab.close();

    // The proxy sees the beacon before the server has it: wait for the server's answer, then for the streams to drain.
    await expect.poll(() => proxy.requests.filter((r) => r.method === 'POST').every((r) => r.upstreamStatus === 202), { timeout: 5000 }).toBe(true);
    await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, server.config.STREAM_PARTITIONS);
    expect({ clicked: await recentTotal(server.url, project.readKey, 'clicked'), identify: await recentTotal(server.url, project.readKey, '$identify'), page: await recentTotal(server.url, project.readKey, '$page') })
      .toEqual({ clicked: 25, identify: 1, page: 1 });
  });
});
