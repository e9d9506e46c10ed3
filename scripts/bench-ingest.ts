/**
 * npm run bench:ingest — starts Redis/MongoDB if needed and Signalboard (built JS, `all`
 * roles) as a child process, creates a project, drives POST /v1/events with k6 on the
 * same machine, prints events/s accepted and latency, then removes what it wrote.
 * Settings: BATCH (default 50), VUS (32), DURATION (30s).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { withDatabase } from '../core/mongo.js';
import { createRedis, deleteKeysWithPrefix } from '../core/redis.js';
import { ensureLocalServices, findK6, portAnswers, stopChild } from './local-services.js';

const log = (message: string) => console.error(`[bench] ${message}`);

async function main(): Promise<void> {
  const batch = process.env.BATCH ?? '50';
  const vus = process.env.VUS ?? '32';
  const duration = process.env.DURATION ?? '30s';
  const k6 = findK6(log);
  const services = await ensureLocalServices(process.env, '.data', log);
  log('building');
  if (spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' }).status !== 0) throw new Error('build failed');

  const id = randomBytes(4).toString('hex');
  const adminToken = `bench-admin-${id}-0123456789`;
  const port = 18000 + Math.floor(Math.random() * 1000);
  const prefix = `bench${id}`;
  const mongoUrl = withDatabase(services.mongoUrl, `sbbench_${id}`);
  const server = spawn(process.execPath, ['dist/bin/signalboard.js', 'all'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: services.redisUrl,
      MONGODB_URL: mongoUrl,
      ADMIN_TOKEN: adminToken,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'sb-bench-')),
      REDIS_KEY_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_EVENTS: '0',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    const deadline = Date.now() + 30_000;
    while (!(await portAnswers(port))) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error('Signalboard did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const base = `http://127.0.0.1:${port}`;
    const created = await fetch(`${base}/v1/projects`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` }, body: '{"name":"bench"}' });
    const { writeKey } = (await created.json()) as { writeKey: string };

    log(`k6: ${vus} VUs, batches of ${batch}, ${duration}`);
    const k6Run = spawnSync(k6, ['run', '--quiet', '--no-usage-report', 'loadtest/ingest.js'], {
      env: { ...process.env, BASE_URL: base, WRITE_KEY: writeKey, BATCH: batch, VUS: vus, DURATION: duration },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    });
    if (k6Run.status !== 0) throw new Error(`k6 exited with ${k6Run.status}`);
    const summary = JSON.parse(k6Run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    console.log(JSON.stringify({ benchmark: 'ingest', ...summary }, null, 2));
  } finally {
    await stopChild(server);
    const redis = createRedis(services.redisUrl, 'bench-cleanup', { enableOfflineQueue: true });
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
    const mongo = new MongoClient(mongoUrl);
    await mongo.db().dropDatabase();
    await mongo.close();
    await services.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
