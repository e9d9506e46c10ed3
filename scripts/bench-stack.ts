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
import { loadConfig } from '../core/config.js';
import type { Redis } from '../core/redis.js';
import { allPartitions, unconsumedEvents } from '../model/event-stream.js';
import { ensureLocalServices, portAnswers, stopChild } from './local-services.js';

export const log = (message: string) => console.error(`[bench] ${message}`);

/**
 * How Signalboard runs: `all` is one process with every role, as `npm start` runs it;
 * `roles` is one process per role (ingest, aggregator, realtime, alerts, api), each on
 * a port of its own, as a deployment runs it behind its load balancer.
 */
export type StackLayout = 'all' | 'roles';
export const STACK_LAYOUTS: readonly StackLayout[] = ['roles', 'all'];
const ROLE_PROCESSES = ['ingest', 'aggregator', 'realtime', 'alerts', 'api'] as const;

export interface BenchProcess {
  /** The role, or `all`. */
  name: string;
  child: ChildProcess;
  url: string;
}

export interface BenchStack {
  layout: StackLayout;
  /** The api's address (in `all`, every route's). */
  base: string;
  /** Where events are posted and where dashboards connect (the ingest and realtime processes in `roles`). */
  ingestUrl: string;
  liveUrl: string;
  projectId: string;
  writeKey: string;
  readKey: string;
  adminToken: string;
  redisUrl: string;
  mongoUrl: string;
  prefix: string;
  /** The first (in `all`, the only) Signalboard process. */
  server: ChildProcess;
  processes: BenchProcess[];
  /** STREAM_PARTITIONS as the servers read it. */
  partitions: number;
  /** One more process of `role` over the same stores, once it answers; stopped with the stack or by `stopChild`. */
  startAnother(role: string): Promise<BenchProcess>;
  stop(): Promise<void>;
}

/** Events in the stack's streams not rolled up yet, over all its partitions. */
export async function backlogOf(stack: Pick<BenchStack, 'prefix' | 'partitions'>, redis: Redis): Promise<number> {
  return (await unconsumedEvents(redis, stack.prefix, allPartitions(stack.partitions))).reduce((a, b) => a + b, 0);
}

/** Starts Signalboard as `layout` ('all', or 'roles': a process per role) with one project. */
export async function startBenchStack(layout: StackLayout, env: Record<string, string> = {}): Promise<BenchStack> {
  const services = await ensureLocalServices(process.env, '.data', log);
  log('building');
  if (spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' }).status !== 0) throw new Error('build failed');
  const id = randomBytes(4).toString('hex');
  const adminToken = `bench-admin-${id}-0123456789`;
  const prefix = `bench${id}`;
  const mongoUrl = withDatabase(services.mongoUrl, `sbbench_${id}`);
  const firstPort = 18000 + Math.floor(Math.random() * 900);
  const serverEnv: Record<string, string | undefined> = {
    ...process.env,
    HOST: '127.0.0.1',
    REDIS_URL: services.redisUrl,
    MONGODB_URL: mongoUrl,
    ADMIN_TOKEN: adminToken,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    RATE_LIMIT_EVENTS: '0',
    ...env,
  };
  // The settings the servers run with, as they read them (the stream partitions, for the benchmarks' lag).
  const config = loadConfig(serverEnv);
  const spawnRole = (name: string, port: number): BenchProcess => {
    // SERVER_NODE_ARGS: extra node options for the server, e.g. `--cpu-prof --cpu-prof-dir=prof` to see where its time goes.
    const child = spawn(process.execPath, [...(process.env.SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), 'dist/bin/signalboard.js', name], {
      env: { ...serverEnv, PORT: String(port), DATA_DIR: mkdtempSync(join(tmpdir(), 'sb-bench-')) },
      // The server's log goes to stderr: stdout carries the benchmark's JSON report.
      stdio: ['ignore', 2, 'inherit'],
    });
    return { name, child, url: `http://127.0.0.1:${port}` };
  };
  const processes = layout === 'all' ? [spawnRole('all', firstPort)] : ROLE_PROCESSES.map((role, i) => spawnRole(role, firstPort + i));
  const answering = async (p: BenchProcess) => {
    const deadline = Date.now() + 30_000;
    while (!(await portAnswers(Number(new URL(p.url).port)))) {
      if (Date.now() > deadline || p.child.exitCode !== null) throw new Error(`Signalboard (${p.name}) did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const startAnother = async (role: string) => {
    const p = spawnRole(role, firstPort + 100 + processes.length);
    processes.push(p);
    await answering(p);
    return p;
  };
  const url = (name: string) => (processes.find((p) => p.name === name) ?? processes[0]!).url;
  const stop = async () => {
    await Promise.all(processes.map((p) => stopChild(p.child)));
    const redis = createRedis(services.redisUrl, 'bench-cleanup', { enableOfflineQueue: true });
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
    const mongo = new MongoClient(mongoUrl);
    await mongo.db().dropDatabase();
    await mongo.close();
    await services.stop();
  };
  try {
    for (const p of processes) await answering(p);
    const base = url('api');
    const created = await fetch(`${base}/v1/projects`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` }, body: '{"name":"bench"}' });
    const { id: projectId, writeKey, readKey } = (await created.json()) as { id: string; writeKey: string; readKey: string };
    return { layout, base, ingestUrl: url('ingest'), liveUrl: url('realtime'), projectId, writeKey, readKey, adminToken, redisUrl: services.redisUrl, mongoUrl, prefix, server: processes[0]!.child, processes, partitions: config.STREAM_PARTITIONS, startAnother, stop };
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

/** About the size of one stamped event in a stream entry. */
const XADD_PAYLOAD = 'x'.repeat(350);

/** redis-benchmark's pipelined XADD (50 per round trip, like a flush of ingest) against the stack's Redis: entries/s. */
export function redisXaddPerSecond(redisUrl: string, key: string): number {
  const { hostname, port } = new URL(redisUrl);
  const requests = process.env.XADD_REQUESTS ?? '1000000';
  const run = spawnSync('redis-benchmark', ['-h', hostname, '-p', port || '6379', '-c', '32', '-P', '50', '-n', requests, '-q', 'XADD', key, 'MAXLEN', '~', '100000', '*', 'e', XADD_PAYLOAD], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`redis-benchmark failed (${run.status}): ${run.stderr}`);
  // "XADD key MAXLEN ...: 812345.69 requests per second, p50=..."
  const match = /: ([\d.]+) requests per second/.exec(run.stdout.split('\r').pop() ?? run.stdout);
  if (match === null) throw new Error(`redis-benchmark: no rate in ${JSON.stringify(run.stdout.slice(-300))}`);
  return Math.round(Number(match[1]));
}
