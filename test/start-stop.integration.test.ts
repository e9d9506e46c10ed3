import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deleteKeysWithPrefix } from '../core/redis.js';
import { buildDashboard } from '../scripts/build-dashboard.js';
import { startMongoServer, stopChild } from '../scripts/local-services.js';
import { listeningUrl, runCli, waitForOutput, type CliRun } from './cli-process.js';
import { generateDataset } from './dataset.js';
import { freePort } from './free-port.js';
import { ADMIN_TOKEN, testRedis } from './helpers.js';
import { expectFiguresMatchRecount, sendAll, waitForDrain } from './pipeline-check.js';

const DAY = 86_400_000;
const PARTITIONS = 4;

/** `signalboard all` as `npm start` runs it (the dashboard built), logging at info. */
function startAll(env: Record<string, string>): CliRun {
  return runCli(['all'], { LOG_LEVEL: 'info', PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN, STREAM_PARTITIONS: String(PARTITIONS), DASHBOARD_DIR: dashboardDir, ...env });
}
let dashboardDir: string;

/** Log lines at warn (40) or above, as pino writes them. */
function warnings(output: string): string[] {
  return output.split('\n').filter((line) => /"level":([4-9]\d)/.test(line));
}

/** Starting and stopping as a user does: a second start on the same data, and Ctrl-C while MongoDB is gone. */
describe('signalboard all: start, stop, start again', () => {
  let dir: string;
  let mongoPort: number;
  let mongo: ChildProcess;
  const prefix = `tss${process.pid}`;
  const log = () => undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-start-stop-'));
    dashboardDir = join(dir, 'dashboard');
    await buildDashboard(dashboardDir);
    mongoPort = await freePort();
    mongo = await startMongoServer({ port: mongoPort, dir: join(dir, 'mongo'), log });
  }, 120_000);
  afterAll(async () => {
    await stopChild(mongo);
    const redis = testRedis();
    for (const run of ['a', 'b']) await deleteKeysWithPrefix(redis, `${prefix}${run}`);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs no warning on a first or a second start on the same data, and has its indexes and expiry mode', async () => {
    const env = { REDIS_URL: inject('redisUrl'), MONGODB_URL: `mongodb://127.0.0.1:${mongoPort}/again`, REDIS_KEY_PREFIX: `${prefix}a`, DATA_DIR: join(dir, 'data-a') };
    for (const start of ['first', 'second']) {
      const run = startAll(env);
      await listeningUrl(run, 30_000);
      await waitForOutput(run, /expiry: (MongoDB TTL indexes|this server has no TTL indexes)/);
      // A few lease periods: index retries, the alerts leader and the live feed all had their turn.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      run.child.kill('SIGTERM');
      expect(await run.exit, `${start} start's exit code`).toBe(0);
      expect(warnings(run.output()), `${start} start's warnings`).toEqual([]);
    }
  }, 90_000);

  it('stops within the drain timeout when MongoDB is already gone, and the next start rolls up everything', async () => {
    const env = {
      REDIS_URL: inject('redisUrl'),
      MONGODB_URL: `mongodb://127.0.0.1:${mongoPort}/ctrlc`,
      REDIS_KEY_PREFIX: `${prefix}b`,
      DATA_DIR: join(dir, 'data-b'),
      AGGREGATOR_DRAIN_TIMEOUT_MS: '2000',
      AGGREGATOR_BATCH_ENTRIES: '2',
      INGEST_RETRY_AFTER_SECONDS: '1',
    };
    const first = startAll(env);
    const url = await listeningUrl(first, 30_000);
    const created = await fetch(`${url}/v1/projects`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: '{"name":"ctrl-c"}' });
    const project = (await created.json()) as { writeKey: string; readKey: string };
    const dataset = generateDataset(31, 400, 20, Math.floor(Date.now() / DAY) - 1);
    await sendAll(url, project.writeKey, dataset.sends, 50, 4);

    // Ctrl-C in the terminal of `npm start` signals the local MongoDB-compatible server too.
    await stopChild(mongo);
    const stopped = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    // The drain timeout, plus the other roles' own bounded stops.
    expect(Date.now() - stopped).toBeLessThan(8_000);

    mongo = await startMongoServer({ port: mongoPort, dir: join(dir, 'mongo'), log });
    const second = startAll(env);
    const again = await listeningUrl(second, 30_000);
    const redis = testRedis();
    await waitForDrain(redis, env.REDIS_KEY_PREFIX, PARTITIONS, 120_000);
    redis.disconnect();
    await expectFiguresMatchRecount(again, project.readKey, dataset);
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
  }, 240_000);
});
