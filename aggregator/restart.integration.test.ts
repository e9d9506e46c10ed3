import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMongoServer, startRedisServer, stopChild } from '../scripts/local-services.js';
import { generateDataset } from '../test/dataset.js';
import { freePort } from '../test/free-port.js';
import { startTestServer, testRedis, type TestServer } from '../test/helpers.js';
import { expectFiguresMatchRecount, sendAll, waitForDrain } from '../test/pipeline-check.js';

const DAY = 86_400_000;
const PARTITIONS = 4;

/** Redis killed and MongoDB restarted mid-stream; this test runs its own servers and leaves the shared ones alone. */
describe('Redis and MongoDB restarts while aggregating', () => {
  let dir: string;
  let redisPort: number;
  let mongoPort: number;
  let redisServer: ChildProcess;
  let mongoServer: ChildProcess;
  let server: TestServer;
  const log = () => undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-restarts-'));
    [redisPort, mongoPort] = [await freePort(), await freePort()];
    redisServer = await startRedisServer({ port: redisPort, dir: join(dir, 'redis') });
    mongoServer = await startMongoServer({ port: mongoPort, dir: join(dir, 'mongo'), log });
    server = await startTestServer(
      { REDIS_URL: `redis://127.0.0.1:${redisPort}`, MONGODB_URL: `mongodb://127.0.0.1:${mongoPort}/restarts`, STREAM_PARTITIONS: String(PARTITIONS), INGEST_RETRY_AFTER_SECONDS: '1', AGGREGATOR_BATCH_ENTRIES: '5' },
      ['ingest', 'api', 'aggregator'],
    );
  }, 120_000);
  afterAll(async () => {
    await server.stop();
    await stopChild(redisServer);
    await stopChild(mongoServer);
    rmSync(dir, { recursive: true, force: true });
  });

  it('still shows exactly the recounted figures', async () => {
    const project = await server.createProject('restarts');
    const dataset = generateDataset(23, 500, 42, Math.floor(Date.now() / DAY) - 1);
    const third = Math.floor(dataset.sends.length / 3);
    await sendAll(server.url, project.writeKey, dataset.sends.slice(0, third), 100, 2);

    redisServer.kill('SIGKILL');
    await new Promise((r) => redisServer.once('exit', r));
    redisServer = await startRedisServer({ port: redisPort, dir: join(dir, 'redis') });
    await sendAll(server.url, project.writeKey, dataset.sends.slice(third, 2 * third), 100, 2);

    await stopChild(mongoServer);
    await new Promise((r) => setTimeout(r, 500));
    mongoServer = await startMongoServer({ port: mongoPort, dir: join(dir, 'mongo'), log });
    await sendAll(server.url, project.writeKey, dataset.sends.slice(2 * third), 100, 2);

    const redis = testRedis(`redis://127.0.0.1:${redisPort}`);
    await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, PARTITIONS, 120_000);
    redis.disconnect();
    await expectFiguresMatchRecount(server.url, project.readKey, dataset);
    expect(dataset.sends.length).toBeGreaterThan(1000);
  }, 240_000);
});
