/**
 * npm run bench:ingest — Signalboard `all` (every role, the aggregator consuming) against
 * local Redis and MongoDB, k6 driving POST /v1/events on the same machine with client
 * eventIds (as the SDKs send them); prints events/s accepted and latency, what the
 * aggregator consumed meanwhile, CPU and peak RSS per process, and next to it, as ratios:
 * the same k6 load against a plain uWebSockets.js server that appends each body to a
 * Redis stream as it came (scripts/plain-ingest-server.ts: the same units, ingest's own
 * work left out), and Redis's own pipelined XADD rate (redis-benchmark, one event-sized
 * entry each: a machine's yardstick, not the same units).
 * Settings: BATCH (default 50), VUS (32), DURATION (30s), CLIENT_EVENT_IDS (1; 0 for
 * server-made eventIds), XADD_REQUESTS (1,000,000).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRedis } from '../core/redis.js';
import { freePort } from '../test/free-port.js';
import { backlogOf, cpuTicks, log, pidsListeningOn, redisXaddPerSecond, rssMegabytes, runK6, startBenchStack, startK6, storePids, sumOver, TICKS_PER_SECOND } from './bench-stack.js';
import { findK6 } from './local-services.js';

async function main(): Promise<void> {
  const batch = process.env.BATCH ?? '50';
  const vus = process.env.VUS ?? '32';
  const duration = process.env.DURATION ?? '30s';
  const k6 = findK6(log);
  const stack = await startBenchStack('all');
  const redis = createRedis(stack.redisUrl, 'bench-ingest', { enableOfflineQueue: true });
  try {
    const serverPid = stack.server.pid!;
    const store = storePids();
    const redisPids = pidsListeningOn(Number(new URL(stack.redisUrl).port || 6379));
    // First, while the stack is idle (after ingest's run the aggregator would still be draining its backlog beside it).
    log('the same load against a plain uWS server appending each body to a stream');
    const plainPort = await freePort();
    const plainKey = `${stack.prefix}:plain-ingest`;
    const plain = spawn(process.execPath, ['--import', 'tsx', 'scripts/plain-ingest-server.ts'], { env: { ...process.env, PORT: String(plainPort), REDIS_URL: stack.redisUrl, STREAM_KEY: plainKey, BATCH: batch }, stdio: ['ignore', 'pipe', 'inherit'] });
    await once(plain.stdout!, 'data');
    const plainSummary = await runK6(k6, 'loadtest/ingest.js', { BASE_URL: `http://127.0.0.1:${plainPort}`, WRITE_KEY: 'none', BATCH: batch, VUS: vus, DURATION: duration, CLIENT_EVENT_IDS: process.env.CLIENT_EVENT_IDS ?? '1', ID_ORDER: 'time', EVENT_NAMES: '10' });
    plain.kill('SIGTERM');
    await redis.del(plainKey);
    const plainPerSecond = Number(plainSummary.eventsPerSecond);
    log(`k6: ${vus} VUs, batches of ${batch}, ${duration}`);
    const started = Date.now();
    const run = startK6(k6, 'loadtest/ingest.js', { BASE_URL: stack.base, WRITE_KEY: stack.writeKey, BATCH: batch, VUS: vus, DURATION: duration, CLIENT_EVENT_IDS: process.env.CLIENT_EVENT_IDS ?? '1', ID_ORDER: 'time', EVENT_NAMES: '10' });
    const before = { signalboard: cpuTicks(serverPid), store: sumOver(store, cpuTicks), redis: sumOver(redisPids, cpuTicks) };
    const ticks = { k6: 0 };
    const peakRssMb = { signalboard: 0, store: 0, redis: 0, k6: 0 };
    const sampler = setInterval(() => {
      ticks.k6 = Math.max(ticks.k6, cpuTicks(run.pid));
      peakRssMb.signalboard = Math.max(peakRssMb.signalboard, rssMegabytes(serverPid));
      peakRssMb.store = Math.max(peakRssMb.store, sumOver(store, rssMegabytes));
      peakRssMb.redis = Math.max(peakRssMb.redis, sumOver(redisPids, rssMegabytes));
      peakRssMb.k6 = Math.max(peakRssMb.k6, rssMegabytes(run.pid));
    }, 1000);
    const summary = await run.done;
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    const cores = (now: number, then: number) => Number(((now - then) / TICKS_PER_SECOND / seconds).toFixed(2));
    const cpuCores = {
      signalboard: cores(cpuTicks(serverPid), before.signalboard),
      store: cores(sumOver(store, cpuTicks), before.store),
      redis: cores(sumOver(redisPids, cpuTicks), before.redis),
      k6: cores(ticks.k6, 0),
    };
    const accepted = Number(summary.eventsAccepted ?? 0);
    const backlog = await backlogOf(stack, redis);

    log('redis-benchmark: pipelined XADD');
    const xaddKey = `${stack.prefix}:xadd-bench`;
    const xaddPerSecond = redisXaddPerSecond(stack.redisUrl, xaddKey);
    await redis.del(xaddKey);
    const eventsPerSecond = Number(summary.eventsPerSecond);
    console.log(
      JSON.stringify(
        {
          benchmark: 'ingest',
          ...summary,
          // What the aggregator rolled up while ingest took the load (the rest waits in the streams).
          aggregatorConsumedPerSecond: Math.round((accepted - backlog) / seconds),
          cpuCores,
          peakRssMb,
          plainServerEventsPerSecond: plainPerSecond,
          ratioToPlainServer: Number((eventsPerSecond / plainPerSecond).toFixed(2)),
          redisXaddPerSecond: xaddPerSecond,
          ratioToRedisXadd: Number((eventsPerSecond / xaddPerSecond).toFixed(2)),
        },
        null,
        2,
      ),
    );
  } finally {
    redis.disconnect();
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
