/**
 * npm run bench:pipeline — events through ingest and the aggregator at a fixed rate.
 * Signalboard `all` (ingest + aggregator + api in one process) against local Redis and
 * MongoDB; k6 posts EVENTS_PER_SECOND (10,000) in batches of BATCH (50) for DURATION
 * (60s), with client eventIds (ID_ORDER time, as the SDKs send them, or random) and
 * RETRY_PERCENT (2) of requests sent twice, and LATE_RETRY_PERCENT (0) of requests resending
 * one acknowledged seconds to minutes earlier (past what the aggregator remembers). A
 * dashboard (scripts/live-dashboards.ts) watches the project on /v1/live and times probe
 * events (one every 200 ms) from the client's send to their delta on its socket. Prints events/s rolled up (from the published deltas), the lag every 5 s, the
 * receivedAt-to-delta delay, and how long the backlog took to drain afterwards.
 */
import { feedChannel, readFeed } from '../live/feed.js';
import { createRedis } from '../core/redis.js';
import { backlogOf, cpuTicks, log, rssMegabytes, startBenchStack, startJsonChild, startK6, storePids, sumOver, TICKS_PER_SECOND } from './bench-stack.js';
import { quantile } from './bench-stats.js';
import { findK6 } from './local-services.js';

/** Seconds at the start of the load reported apart: every user is new then. */
const WARMUP_SECONDS = 15;

async function main(): Promise<void> {
  const eventsPerSecond = Number(process.env.EVENTS_PER_SECOND ?? 10_000);
  const batch = Number(process.env.BATCH ?? 50);
  const duration = process.env.DURATION ?? '60s';
  const k6 = findK6(log);
  const stack = await startBenchStack('all');
  const subscriber = createRedis(stack.redisUrl, 'bench-deltas', { enableOfflineQueue: true });
  const redis = createRedis(stack.redisUrl, 'bench-lag', { enableOfflineQueue: true });
  let closing = false;
  try {
    const delays: number[] = [];
    /** [seconds since the load started, delay] per delta, for the delay over time. */
    const timedDelays: Array<[number, number]> = [];
    let rolledUp = 0;
    // The feed's pub/sub message only names the project; the deltas are read from its stream, in order.
    let readSeq = 0;
    let reading = Promise.resolve();
    await subscriber.subscribe(feedChannel(stack.prefix));
    subscriber.on('message', () => {
      reading = reading.then(async () => {
        for (const entry of await readFeed(redis, stack.prefix, stack.projectId, readSeq)) {
          readSeq = entry.seq;
          if (entry.type !== 'delta') continue;
          // The delta's oldest event: the delay of the slowest event it carries.
          delays.push(Date.now() - entry.receivedAt);
          timedDelays.push([(Date.now() - started) / 1000, Date.now() - entry.receivedAt]);
          for (const c of entry.counts) rolledUp += c.increment;
        }
      }).catch((err: unknown) => {
        // A message still arriving while the connections close at the end is no failure.
        if (!closing) log(`reading the feed failed: ${String(err)}`);
      });
    });
    // One dashboard, connected before the load: the delay from a client's send to the delta on a dashboard's socket, as users see it.
    const dashboard = startJsonChild(process.execPath, ['--import', 'tsx', 'scripts/live-dashboards.ts'], {
      BASE_URL: stack.base,
      READ_KEY: stack.readKey,
      DASHBOARDS: '1',
      RAMP_MS: '0',
      WARMUP_UNTIL: String(Date.now() + 2000 + WARMUP_SECONDS * 1000),
    });
    await new Promise((r) => setTimeout(r, 2000));
    const lagNow = () => backlogOf(stack, redis);
    const started = Date.now();
    const store = storePids();
    const serverPid = stack.server.pid!;
    let k6Pid = 0;
    const cpu = () => ({ signalboard: cpuTicks(serverPid), store: sumOver(store, cpuTicks), k6: k6Pid === 0 ? 0 : cpuTicks(k6Pid) });
    const cpuBefore = cpu();
    const peakRssMb = { signalboard: 0, store: 0, k6: 0 };
    const sampleRss = () => {
      peakRssMb.signalboard = Math.max(peakRssMb.signalboard, rssMegabytes(serverPid));
      peakRssMb.store = Math.max(peakRssMb.store, sumOver(store, rssMegabytes));
      if (k6Pid !== 0) peakRssMb.k6 = Math.max(peakRssMb.k6, rssMegabytes(k6Pid));
    };
    const lagSamples: Array<[number, number]> = [];
    const sampler = setInterval(() => {
      sampleRss();
      void lagNow().then((lag) => lagSamples.push([Math.round((Date.now() - started) / 1000), lag]));
    }, 5000);
    let k6Ticks = 0;

    log(`k6: ${eventsPerSecond} events/s in batches of ${batch} for ${duration}`);
    const run = startK6(k6, 'loadtest/ingest.js', {
      PROBE_INTERVAL_MS: '200',
      BASE_URL: stack.base,
      WRITE_KEY: stack.writeKey,
      BATCH: String(batch),
      RATE: String(Math.round(eventsPerSecond / batch)),
      DURATION: duration,
      EVENT_NAMES: process.env.EVENT_NAMES ?? '10',
      CLIENT_EVENT_IDS: process.env.CLIENT_EVENT_IDS ?? '1',
      RETRY_PERCENT: process.env.RETRY_PERCENT ?? '2',
      LATE_RETRY_PERCENT: process.env.LATE_RETRY_PERCENT ?? '0',
      ID_ORDER: process.env.ID_ORDER ?? 'time',
    });
    k6Pid = run.pid;
    const k6Sampler = setInterval(() => {
      k6Ticks = Math.max(k6Ticks, cpu().k6);
      sampleRss();
    }, 1000);
    const summary = await run.done;
    clearInterval(k6Sampler);
    const loadSeconds = (Date.now() - started) / 1000;
    const rolledDuringLoad = rolledUp;
    const drainStart = Date.now();
    while ((await lagNow()) > 0 && Date.now() - drainStart < 120_000) await new Promise((r) => setTimeout(r, 250));
    clearInterval(sampler);
    process.kill(dashboard.pid, 'SIGTERM');
    const watched = (await dashboard.done) as { probeDeltas: number; delayMs: unknown; delayMsAfterWarmup: unknown };
    const cpuAfter = cpu();
    const wallSeconds = (Date.now() - started) / 1000;
    const sorted = [...delays].sort((a, b) => a - b);
    // The first seconds insert every user (5,000 new users at once): reported apart.
    const steady = timedDelays.filter(([t]) => t >= WARMUP_SECONDS).map(([, d]) => d).sort((a, b) => a - b);
    const p99Every10s: Array<[number, number]> = [];
    for (let from = 0; from < loadSeconds; from += 10) {
      const window = timedDelays.filter(([t]) => t >= from && t < from + 10).map(([, d]) => d).sort((a, b) => a - b);
      if (window.length > 0) p99Every10s.push([from, quantile(window, 0.99)!]);
    }
    console.log(
      JSON.stringify(
        {
          benchmark: 'pipeline',
          offeredEventsPerSecond: eventsPerSecond,
          acceptedEventsPerSecond: summary.eventsPerSecond,
          eventsResentLate: summary.eventsResentLate,
          rolledUpEventsPerSecondDuringLoad: Math.round(rolledDuringLoad / loadSeconds),
          lagEverySeconds: lagSamples,
          backlogDrainSeconds: (Date.now() - drainStart) / 1000,
          backlogLeft: await lagNow(),
          deltaDelayMs: { p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), p99: quantile(sorted, 0.99), deltas: sorted.length },
          deltaDelayMsAfterWarmup: { fromSecond: WARMUP_SECONDS, p50: quantile(steady, 0.5), p95: quantile(steady, 0.95), p99: quantile(steady, 0.99), deltas: steady.length },
          deltaDelayP99Every10s: p99Every10s,
          // From the client's send to the probe's delta read on a dashboard's socket (probes every 200 ms).
          sendToDashboardMs: { probes: watched.probeDeltas, ...(watched.delayMs as object) },
          sendToDashboardMsAfterWarmup: watched.delayMsAfterWarmup,
          ingestLatencyMs: summary.latencyMs,
          // Cores used from the start of the load to the end of the drain (2 cores here); k6's during the load.
          cpuCores: {
            signalboard: Number(((cpuAfter.signalboard - cpuBefore.signalboard) / TICKS_PER_SECOND / wallSeconds).toFixed(2)),
            store: Number(((cpuAfter.store - cpuBefore.store) / TICKS_PER_SECOND / wallSeconds).toFixed(2)),
            k6: Number((k6Ticks / TICKS_PER_SECOND / loadSeconds).toFixed(2)),
          },
          peakRssMb,
        },
        null,
        2,
      ),
    );
  } finally {
    closing = true;
    subscriber.disconnect();
    redis.disconnect();
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
