import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updatesAreAtomic } from '../core/store-compat.js';
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

/**
 * On FerretDB (the test store) updates are not atomic, so one worker writes at a time
 * and the others stand by (aggregator.ts); on MongoDB they would share the partitions.
 */
describe('several aggregator workers on a store without atomic updates', () => {
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

  it('one writes and the others stand by; a standby takes over a dead writer within the lease time and on SIGTERM; nothing lost or doubled', async () => {
    expect(await updatesAreAtomic(server.running.runtime.mongo.db)).toBe(false);
    const prefix = server.config.REDIS_KEY_PREFIX;
    const writer = async () => {
      const held = await owners(redis, prefix);
      const holders = new Set(held.values());
      return held.size === PARTITIONS && holders.size === 1 ? [...holders][0] : undefined;
    };
    for (let i = 0; i < 3; i++) workers.push(startWorker(server.config, { AGGREGATOR_LEASE_MS: String(LEASE_MS) }));
    await waitFor(async () => (await writer()) !== undefined, 'one worker to hold every partition', 20_000);
    const first = (await writer())!;
    expect(await redis.get(`${prefix}:aggregators:writer`)).toBe(first);

    const project = await server.createProject('workers');
    const dataset = generateDataset(5, 500, 42, Math.floor(Date.now() / DAY) - 1);
    const half = Math.floor(dataset.sends.length / 2);
    await sendAll(server.url, project.writeKey, dataset.sends.slice(0, half), 100, 2);

    // SIGKILL the writer: its keys lapse and a standby takes every partition.
    // A worker id is `host-pid-random`.
    const byId = (id: string) => workers.find((w) => id.split('-').at(-2) === String(w.child.pid))!;
    const active = byId(first);
    active.child.kill('SIGKILL');
    await active.exited;
    const killedAt = Date.now();
    await waitFor(async () => ((await writer()) ?? first) !== first, 'a standby to take over', 10_000);
    expect(Date.now() - killedAt).toBeLessThan(LEASE_MS * 3);

    // SIGTERM the new writer: it finishes its cycle and hands over at once.
    await sendAll(server.url, project.writeKey, dataset.sends.slice(half), 100, 2);
    const second = (await writer())!;
    const next = byId(second);
    next.child.kill('SIGTERM');
    expect((await next.exited).code).toBe(0);
    await waitFor(async () => ![undefined, first, second].includes(await writer()), 'the last worker to hold everything', 10_000);

    await waitForDrain(redis, prefix, PARTITIONS, 120_000);
    await expectFiguresMatchRecount(server.url, project.readKey, dataset);
  }, 240_000);
});
