import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '../test/dataset.js';
import { startTestServer, testRedis, type TestServer } from '../test/helpers.js';
import { expectFiguresMatchRecount, sendAll, waitForDrain } from '../test/pipeline-check.js';

const DAY = 86_400_000;

describe('ingest → aggregator → metrics routes, against a brute-force recount', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ STREAM_PARTITIONS: '8' }, ['ingest', 'api', 'aggregator']);
  });
  afterAll(() => server.stop());

  it('shows exactly the recounted counts, DAU/WAU/MAU and retention for thousands of users over 45 days', async () => {
    const project = await server.createProject('pipeline');
    const yesterday = Math.floor(Date.now() / DAY) - 1;
    const dataset = generateDataset(7, 1500, 45, yesterday);
    await sendAll(server.url, project.writeKey, dataset.sends);
    const redis = testRedis();
    await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, 8);
    redis.disconnect();
    await expectFiguresMatchRecount(server.url, project.readKey, dataset);
    expect(dataset.sends.length).toBeGreaterThan(5000);
  }, 180_000);
});
