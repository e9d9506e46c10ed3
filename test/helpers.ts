import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { startSignalboard, type RoleName, type RunningSignalboard } from '../bin/start.js';
import { loadConfig, type Config } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { withDatabase } from '../core/mongo.js';
import { createRedis, deleteKeysWithPrefix, type Redis } from '../core/redis.js';
import type { Clock } from '../core/runtime.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** A unique Redis key prefix and MongoDB database per test server, so test files never meet. */
export function isolatedConfig(overrides: Record<string, string> = {}): Config {
  const id = randomBytes(5).toString('hex');
  return loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'sb-test-')),
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    REDIS_KEY_PREFIX: `t${id}`,
    MONGODB_URL: withDatabase(inject('mongoUrl'), `sbtest_${id}`),
    REDIS_URL: inject('redisUrl'),
    ...overrides,
  });
}

export interface TestServer {
  url: string;
  config: Config;
  running: RunningSignalboard;
  createProject(name?: string, allowedOrigins?: string[]): Promise<{ id: string; writeKey: string; readKey: string }>;
  stop(): Promise<void>;
}

/** A clock that runs with the system's, `offsetMs` ahead: a test moves it instead of waiting for a minute to turn. */
export class TestClock implements Clock {
  offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }
}

/** A real Signalboard on a free port against the shared Redis and MongoDB-compatible server. */
export async function startTestServer(overrides: Record<string, string> = {}, roles: RoleName[] = ['ingest', 'api'], clock?: Clock): Promise<TestServer> {
  const config = isolatedConfig(overrides);
  // SB_TEST_LOG_LEVEL=debug keeps the servers' logs (in the temporary directory) when a test needs explaining.
  const level = process.env.SB_TEST_LOG_LEVEL;
  const logger = level === undefined ? createLogger('silent') : createLogger(level, 'signalboard', join(tmpdir(), 'sb-test-logs', `${config.REDIS_KEY_PREFIX}.log`));
  const running = await startSignalboard(roles, config, logger, { redisUrl: config.REDIS_URL!, mongoUrl: config.MONGODB_URL! }, { clock });
  const url = `http://127.0.0.1:${running.port}`;
  return {
    url,
    config,
    running,
    async createProject(name = 'test', allowedOrigins?: string[]) {
      const res = await fetch(`${url}/v1/projects`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(allowedOrigins === undefined ? { name } : { name, allowedOrigins }),
      });
      if (res.status !== 201) throw new Error(`creating a project failed: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string; writeKey: string; readKey: string };
    },
    async stop() {
      await running.runtime.mongo.db.dropDatabase().catch(() => undefined);
      await deleteKeysWithPrefix(running.runtime.redis, config.REDIS_KEY_PREFIX).catch(() => undefined);
      await running.stop();
    },
  };
}

/** A separate connection for reading what the server wrote. */
export function testRedis(url: string = inject('redisUrl')): Redis {
  return createRedis(url, 'test', { enableOfflineQueue: true, maxRetriesPerRequest: 3 });
}

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
