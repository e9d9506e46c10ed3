import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from '../core/redis.js';
import { startWorker, type Worker } from '../test/aggregator-workers.js';
import { generateDataset } from '../test/dataset.js';
import { startTestServer, testRedis, waitFor, type TestServer } from '../test/helpers.js';
import { expectFiguresMatchRecount, sendAll, waitForDrain } from '../test/pipeline-check.js';

const DAY = 86_400_000;
const PARTITIONS = 6;
const LEASE_MS = 1000;

async function owners(redis: Redis, prefix: string): Promise<Map<number, string>> {
  const result = new Map<number, string>();
  for (let p = 0; p < PARTITIONS; p++) {
    const value = await redis.get(`${prefix}:lease:{p${p}}`);
    if (value !== null) result.set(p, value.slice(0, value.lastIndexOf(':')));
  }
  return result;
}

describe('several aggregator workers share the partitions', () => {
  let server: TestServer;
  let redis: Redis;
  const workers: Worker[] = [];

  beforeAll(async () => {
    server = await startTestServer({ STREAM_PARTITIONS: String(PARTITIONS) }, ['ingest', 'api']);
    redis = testRedis();
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    redis.disconnect();
    await server.stop();
  });

  it('spreads partitions, takes over a dead worker within the lease time, hands over on SIGTERM, and loses or doubles nothing', async () => {
    const prefix = server.config.REDIS_KEY_PREFIX;
    for (let i = 0; i < 3; i++) workers.push(startWorker(server.config, { AGGREGATOR_LEASE_MS: String(LEASE_MS) }));
    await waitFor(async () => {
      const held = await owners(redis, prefix);
      return held.size === PARTITIONS && new Set(held.values()).size === 3;
    }, 'three workers to hold two partitions each', 20_000);

    const project = await server.createProject('workers');
    const dataset = generateDataset(5, 500, 42, Math.floor(Date.now() / DAY) - 1);
    const half = Math.floor(dataset.sends.length / 2);
    await sendAll(server.url, project.writeKey, dataset.sends.slice(0, half), 100, 2);

    // SIGKILL one: its leases lapse and the other two take its partitions.
    const before = await owners(redis, prefix);
    workers[0]!.child.kill('SIGKILL');
    await workers[0]!.exited;
    const killedAt = Date.now();
    const survivors = new Set(before.values());
    await waitFor(async () => {
      const held = await owners(redis, prefix);
      return held.size === PARTITIONS && new Set(held.values()).size === 2;
    }, 'the survivors to take over', 10_000);
    expect(Date.now() - killedAt).toBeLessThan(LEASE_MS * 3);
    expect(survivors.size).toBe(3);

    // SIGTERM another: it finishes its batch and hands its partitions back at once.
    await sendAll(server.url, project.writeKey, dataset.sends.slice(half), 100, 2);
    workers[1]!.child.kill('SIGTERM');
    expect((await workers[1]!.exited).code).toBe(0);
    await waitFor(async () => {
      const held = await owners(redis, prefix);
      return held.size === PARTITIONS && new Set(held.values()).size === 1;
    }, 'the last worker to hold everything', 10_000);

    await waitForDrain(redis, prefix, PARTITIONS, 120_000);
    await expectFiguresMatchRecount(server.url, project.readKey, dataset);
  }, 240_000);
});
