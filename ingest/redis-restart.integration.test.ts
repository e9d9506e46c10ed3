import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry, streamKey } from '../model/event-stream.js';
import { startRedisServer, stopChild } from '../scripts/local-services.js';
import { freePort } from '../test/free-port.js';
import { startTestServer, testRedis, waitFor, type TestServer } from '../test/helpers.js';

/**
 * Invariant 1: an event answered 202 is never lost, even when Redis is killed
 * (SIGKILL, no shutdown) while requests are in flight. This test runs its own
 * redis-server with the AOF settings docker-compose.yml uses, and leaves the shared one alone.
 */
describe('a Redis crash while requests are in flight', () => {
  let port: number;
  let dir: string;
  let redisServer: ChildProcess;
  let server: TestServer;

  beforeAll(async () => {
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'sb-redis-crash-'));
    redisServer = await startRedisServer({ port, dir, appendOnly: true });
    server = await startTestServer({ REDIS_URL: `redis://127.0.0.1:${port}`, INGEST_RETRY_AFTER_SECONDS: '1', REDIS_COMMAND_TIMEOUT_MS: '500' });
  });
  afterAll(async () => {
    await server.stop();
    await stopChild(redisServer);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every event that was answered 202; everything else got 503 with Retry-After', async () => {
    const project = await server.createProject('crash');
    const acknowledged: string[] = [];
    const statuses = new Map<number, number>();
    let batchNo = 0;
    let stop = false;

    const client = async (clientNo: number) => {
      while (!stop) {
        const ids = Array.from({ length: 20 }, (_, i) => `c${clientNo}-b${batchNo}-${i}`);
        batchNo++;
        const body = JSON.stringify(ids.map((eventId, i) => ({ event: 'crash', userId: `u${i}`, eventId })));
        const res = await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${project.writeKey}` }, body });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 202) acknowledged.push(...ids);
        else expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        await res.arrayBuffer();
        if (res.status !== 202) await new Promise((r) => setTimeout(r, 20));
      }
    };
    const clients = Array.from({ length: 6 }, (_, i) => client(i));

    await waitFor(() => acknowledged.length >= 2000, 'traffic before the crash', 20_000);
    redisServer.kill('SIGKILL');
    await new Promise((r) => redisServer.once('exit', r));
    await new Promise((r) => setTimeout(r, 300));
    redisServer = await startRedisServer({ port, dir, appendOnly: true });
    const afterRestart = acknowledged.length;
    await waitFor(() => acknowledged.length >= afterRestart + 2000, 'traffic after the restart', 20_000);
    stop = true;
    await Promise.all(clients);

    expect([...statuses.keys()].sort()).toEqual([202, 503]);
    const redis = testRedis(`redis://127.0.0.1:${port}`);
    const stored = new Set<string>();
    for (let p = 0; p < server.config.STREAM_PARTITIONS; p++) {
      for (const [, fields] of await redis.xrange(streamKey(server.config.REDIS_KEY_PREFIX, p), '-', '+')) {
        for (const event of decodeEntry(fields)) stored.add(event.eventId);
      }
    }
    redis.disconnect();
    const lost = acknowledged.filter((id) => !stored.has(id));
    expect(lost).toEqual([]);
  }, 90_000);

  it('answers 503 within the command timeout when Redis stalls, instead of hanging', async () => {
    const project = await server.createProject('stall');
    redisServer.kill('SIGSTOP');
    try {
      const started = Date.now();
      const res = await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${project.writeKey}` }, body: '{"event":"stall","userId":"u"}' });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: { code: 'SB_STORAGE_UNAVAILABLE' } });
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      redisServer.kill('SIGCONT');
    }
  }, 30_000);
});
