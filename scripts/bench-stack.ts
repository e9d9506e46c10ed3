/**
 * The stack the benchmarks measure: local Redis/MongoDB if needed, Signalboard built and
 * started as a child process (compiled JS), one project; stop() removes what it wrote.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { withDatabase } from '../core/mongo.js';
import { createRedis, deleteKeysWithPrefix } from '../core/redis.js';
import { ensureLocalServices, portAnswers, stopChild } from './local-services.js';

export const log = (message: string) => console.error(`[bench] ${message}`);

export interface BenchStack {
  base: string;
  projectId: string;
  writeKey: string;
  readKey: string;
  adminToken: string;
  redisUrl: string;
  prefix: string;
  server: ChildProcess;
  stop(): Promise<void>;
}

export async function startBenchStack(role: string, env: Record<string, string> = {}): Promise<BenchStack> {
  const services = await ensureLocalServices(process.env, '.data', log);
  log('building');
  if (spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' }).status !== 0) throw new Error('build failed');
  const id = randomBytes(4).toString('hex');
  const adminToken = `bench-admin-${id}-0123456789`;
  const port = 18000 + Math.floor(Math.random() * 1000);
  const prefix = `bench${id}`;
  const mongoUrl = withDatabase(services.mongoUrl, `sbbench_${id}`);
  const server = spawn(process.execPath, ['dist/bin/signalboard.js', role], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: services.redisUrl,
      MONGODB_URL: mongoUrl,
      ADMIN_TOKEN: adminToken,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'sb-bench-')),
      REDIS_KEY_PREFIX: prefix,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      RATE_LIMIT_EVENTS: '0',
      ...env,
    },
    // The server's log goes to stderr: stdout carries the benchmark's JSON report.
    stdio: ['ignore', 2, 'inherit'],
  });
  const stop = async () => {
    await stopChild(server);
    const redis = createRedis(services.redisUrl, 'bench-cleanup', { enableOfflineQueue: true });
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
    const mongo = new MongoClient(mongoUrl);
    await mongo.db().dropDatabase();
    await mongo.close();
    await services.stop();
  };
  try {
    const deadline = Date.now() + 30_000;
    while (!(await portAnswers(port))) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error('Signalboard did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const base = `http://127.0.0.1:${port}`;
    const created = await fetch(`${base}/v1/projects`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` }, body: '{"name":"bench"}' });
    const { id: projectId, writeKey, readKey } = (await created.json()) as { id: string; writeKey: string; readKey: string };
    return { base, projectId, writeKey, readKey, adminToken, redisUrl: services.redisUrl, prefix, server, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Runs loadtest/<script> with k6 and returns the JSON line its handleSummary prints.
 * Asynchronous, so the benchmark keeps sampling while k6 runs.
 */
export function runK6(k6: string, script: string, env: Record<string, string>): Promise<Record<string, unknown>> {
  const child = spawn(k6, ['run', '--quiet', '--no-usage-report', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`k6 exited with ${code}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>);
    });
  });
}
