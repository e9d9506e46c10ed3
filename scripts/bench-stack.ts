/**
 * The stack the benchmarks measure: local Redis/MongoDB if needed, Signalboard built and
 * started as a child process (compiled JS), one project; stop() removes what it wrote.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  // SERVER_NODE_ARGS: extra node options for the server, e.g. `--cpu-prof --cpu-prof-dir=prof` to see where its time goes.
  const server = spawn(process.execPath, [...(process.env.SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), 'dist/bin/signalboard.js', role], {
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

/** Ticks (user + system) a process has used so far, from /proc; children it has waited for with `children`. */
export function cpuTicks(pid: number | 'self', children = false): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return children ? Number(fields[13]) + Number(fields[14]) : Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}
export const TICKS_PER_SECOND = 100;

export function rssMegabytes(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return line === undefined ? 0 : Math.round(Number(line.split(/\s+/)[1]) / 1024);
  } catch {
    return 0;
  }
}

/** The processes listening on a local TCP port (the store and Redis the stack uses, not any other). */
export function pidsListeningOn(port: number): number[] {
  const found = spawnSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
  return [...new Set([...(found.stdout ?? '').matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
}

/** A figure of a group of processes (the store's, Redis's): the sum of each one's, e.g. `sumOver(pids, cpuTicks)`. */
export function sumOver(pids: readonly number[], of: (pid: number) => number): number {
  return pids.reduce((total, pid) => total + of(pid), 0);
}

/** The MongoDB-compatible server's processes (MONGODB_URL's port, else the local one on 27017). */
export function storePids(): number[] {
  return pidsListeningOn(Number(new URL(process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27017').port || 27017));
}

/** Ticks the whole machine has been busy (all but idle and iowait), summed over its cores. */
export function machineBusyTicks(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return fields.slice(0, 8).reduce((a, b) => a + b, 0) - fields[3]! - fields[4]!;
}

export interface JsonChild {
  pid: number;
  /** The last line the child printed, as JSON, once it exited with 0. */
  done: Promise<Record<string, unknown>>;
}

/** Starts a program whose last line of output is its JSON report (k6, the dashboards). */
export function startJsonChild(command: string, args: string[], env: Record<string, string>): JsonChild {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const done = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited with ${code}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>);
    });
  });
  return { pid: child.pid!, done };
}

/** Runs loadtest/<script> with k6: its pid (to sample its CPU and memory) and the JSON line its handleSummary prints. */
export function startK6(k6: string, script: string, env: Record<string, string>): JsonChild {
  return startJsonChild(k6, ['run', '--quiet', '--no-usage-report', script], env);
}

/** Runs loadtest/<script> with k6 and returns the JSON line its handleSummary prints. */
export function runK6(k6: string, script: string, env: Record<string, string>): Promise<Record<string, unknown>> {
  return startK6(k6, script, env).done;
}
