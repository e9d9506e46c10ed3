/**
 * npm run bench:live — DASHBOARDS (1,000) dashboards on WebSocket /v1/live while k6 posts
 * EVENTS_PER_SECOND (10,000) for DURATION (60s); prints the event-sent to delta-received
 * delay measured by the dashboards (probe events, see loadtest/live.js), how many
 * dashboards connected and stayed, the messages they got, and the CPU of Signalboard
 * (`all`), k6, the dashboards, Redis and the MongoDB-compatible store, all on the same
 * machine. The dashboards run in scripts/live-dashboards.ts (DASHBOARD_CLIENT=node, the
 * default) or in k6 (DASHBOARD_CLIENT=k6). Passed on to k6 when set: BATCH (50), RAMP
 * (seconds to connect every dashboard), SETTLE, TAIL, CHANNELS, EVENT_NAMES (ten),
 * PROBE_INTERVAL_MS, CLIENT_EVENT_IDS (1), RETRY_PERCENT (2).
 *
 * SOURCE=feed measures the gateway alone: no events go through ingest and the
 * aggregator; this script appends to the project's live feed what the aggregator would
 * for EVENTS_PER_SECOND (FEED_ENTRIES_PER_SECOND entries, 160 by default: 16 partitions
 * each writing a batch every 100 ms), probes included, with the same Lua script. It also
 * times alerts: ALERT_PROBES (20) threshold rules, each crossed once by an event of its
 * own during the run, from that event's feed entry to the `alert` on the observer.
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { appendToFeed, feedChannel, readFeed } from '../live/feed.js';
import { bucketStart } from '../model/time-buckets.js';
import { createRedis } from '../core/redis.js';
import { backlogOf, cpuTicks, log, machineBusyTicks, pidsListeningOn, rssMegabytes, startBenchStack, startJsonChild, startK6, storePids, sumOver, TICKS_PER_SECOND } from './bench-stack.js';
import { metricSum, percentiles } from './bench-stats.js';
import { findK6 } from './local-services.js';

/** Seconds of load at the start reported apart (DASHBOARD_CLIENT=node), as bench:pipeline does. */
const WARMUP_SECONDS = 15;

/** Open files each process needs beyond one per dashboard: HTTP, Redis, MongoDB, files. */
const SPARE_FILES = 1024;

/** The hard limit on open files (the second figure of `Max open files`). */
function openFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
  const hard = line.slice('Max open files'.length).trim().split(/\s+/)[1]!;
  return hard === 'unlimited' ? Infinity : Number(hard);
}

/**
 * Every dashboard is one socket in k6 and one in Signalboard. Node and Go programs raise
 * their soft open-files limit to the hard one at start-up, so only the hard limit counts;
 * an unprivileged process cannot raise it (here: root in a container without
 * CAP_SYS_RESOURCE, `ulimit -Hn` 20000).
 */
function checkOpenFiles(needed: number): void {
  const hard = openFilesLimit();
  if (hard < needed) {
    throw new Error(
      `${needed} open files are needed (DASHBOARDS + ${SPARE_FILES}) but the hard limit is ${hard}: ` +
        'raise it where allowed (`ulimit -Hn 65536` as root, `docker run --ulimit nofile=65536:65536`, LimitNOFILE= in systemd) or lower DASHBOARDS',
    );
  }
}

const round2 = (n: number) => Number(n.toFixed(2));

/** Sent time of a probe event, from its name `probe_<epoch ms>_<n>` (loadtest/live.js). */
const probeSentAt = (event: string) => Number(event.split('_')[1]);

/**
 * When each probe's delta reached the project's Redis feed (what the gateways read), as
 * seen by this process: the delay of ingest and the aggregator.
 */
async function watchFeed(redisUrl: string, prefix: string, projectId: string): Promise<{ seen: Map<string, number>; stop(): void }> {
  const subscriber = createRedis(redisUrl, 'bench-live-feed', { enableOfflineQueue: true });
  const reader = createRedis(redisUrl, 'bench-live-feed-read', { enableOfflineQueue: true });
  const seen = new Map<string, number>();
  let readSeq = 0;
  let reading = Promise.resolve();
  await subscriber.subscribe(feedChannel(prefix));
  subscriber.on('message', () => {
    reading = reading
      .then(async () => {
        for (const entry of await readFeed(reader, prefix, projectId, readSeq)) {
          readSeq = entry.seq;
          if (entry.type !== 'delta') continue;
          for (const c of entry.counts) if (c.event.startsWith('probe_') && !seen.has(c.event)) seen.set(c.event, Date.now());
        }
      })
      .catch((err: unknown) => log(`reading the feed failed: ${String(err)}`));
  });
  return {
    seen,
    stop: () => {
      subscriber.disconnect();
      reader.disconnect();
    },
  };
}

/**
 * One more dashboard, in this process rather than in k6: when each probe's delta reaches
 * it. Against watchFeed's times, per probe, that is what the gateway adds (read the feed,
 * wait for the flush, fan out) without k6's own backlog; it is one socket among N.
 */
async function observe(base: string, readKey: string, channels: string[]): Promise<{ arrived: Map<string, number>; alerted: Map<string, number>; closeCode: () => number | null; close(): void }> {
  const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/live?key=${encodeURIComponent(readKey)}`);
  const arrived = new Map<string, number>();
  // Rule name → when its firing alert arrived.
  const alerted = new Map<string, number>();
  let closeCode: number | null = null;
  socket.on('message', (data: Buffer) => {
    const at = Date.now();
    const text = data.toString();
    if (text.startsWith('{"type":"alert"')) {
      const { name, state } = JSON.parse(text) as { name: string; state: string };
      if (state === 'firing' && !alerted.has(name)) alerted.set(name, at);
      return;
    }
    if (!text.startsWith('{"type":"delta"')) return;
    const { event } = JSON.parse(text) as { event?: string };
    if (event?.startsWith('probe_') === true) arrived.set(event, at);
  });
  socket.on('close', (code: number) => (closeCode = code));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'subscribe', channels }));
  return { arrived, alerted, closeCode: () => closeCode, close: () => socket.close() };
}

/** The threshold rule that the event `alert_probe_<k>` crosses: it fires on the first one. */
const alertProbeRule = (k: number) => ({
  name: `alert probe ${k}`,
  metric: { type: 'count', event: `alert_probe_${k}` },
  condition: { kind: 'threshold', op: '>', value: 0, window: '5m' },
});

/**
 * SOURCE=feed: for `durationMs`, appends the deltas that EVENTS_PER_SECOND spread over
 * EVENT_NAMES would make, one entry per partition batch, a probe (an event named after
 * its send time) every PROBE_INTERVAL_MS, and `alertProbes` alert probes spread over the
 * run (`alertSent`: rule name → when). Returns the entries and probes appended.
 */
async function feedSynthetic(
  redisUrl: string, prefix: string, projectId: string, durationMs: number, alertProbes: number, alertSent: Map<string, number>, stopped: () => boolean,
): Promise<{ entries: number; probes: number }> {
  const eventsPerSecond = Number(process.env.EVENTS_PER_SECOND ?? 10_000);
  const entriesPerSecond = Number(process.env.FEED_ENTRIES_PER_SECOND ?? 160);
  const probeIntervalMs = Number(process.env.PROBE_INTERVAL_MS ?? 200);
  const names = (process.env.EVENT_NAMES ?? 'page_view,click,signup,purchase,search').split(',');
  const redis = createRedis(redisUrl, 'bench-live-feeder', { enableOfflineQueue: true });
  const batches = new Map<number, number>();
  const perEntry = eventsPerSecond / entriesPerSecond;
  const startAt = Date.now();
  let nextProbe = startAt;
  let probes = 0;
  let i = 0;
  try {
    // Paced against the clock, not by sleeps, so a slow append doesn't lower the rate.
    for (; !stopped() && Date.now() < startAt + durationMs; i++) {
      const due = startAt + (i * 1000) / entriesPerSecond;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const now = Date.now();
      const bucket = new Date(bucketStart(now, 'minute')).toISOString();
      // Whole events, spread over the names, adding up to eventsPerSecond each second.
      const events = Math.floor((i + 1) * perEntry) - Math.floor(i * perEntry);
      const counts = names.map((event, n) => ({ event, bucket, increment: Math.floor((events + n) / names.length) })).filter((c) => c.increment > 0);
      if (now >= nextProbe) {
        counts.push({ event: `probe_${now}_${probes++}`, bucket, increment: 1 });
        nextProbe += probeIntervalMs;
      }
      const k = alertSent.size;
      if (k < alertProbes && now >= startAt + ((k + 0.5) * durationMs) / alertProbes) {
        counts.push({ event: `alert_probe_${k}`, bucket, increment: 1 });
        alertSent.set(alertProbeRule(k).name, now);
      }
      const partition = i % 16;
      const batch = (batches.get(partition) ?? 0) + 1;
      batches.set(partition, batch);
      await appendToFeed(redis, prefix, { type: 'delta', projectId, partition, batch, receivedAt: now, counts, activeUsers: [], retention: [] });
    }
  } finally {
    redis.disconnect();
  }
  return { entries: i, probes };
}

/** Seconds in a setting as this script reads it: "60s", "2m" or a number of seconds. */
function durationSeconds(name: string, value: string): number {
  const match = /^(\d+)(s|m)?$/.exec(value);
  if (match === null) throw new Error(`${name}=${value}: use seconds ("60s", "60") or minutes ("2m")`);
  return Number(match[1]) * (match[2] === 'm' ? 60 : 1);
}

async function main(): Promise<void> {
  const dashboards = Number(process.env.DASHBOARDS ?? 1000);
  const eventsPerSecond = Number(process.env.EVENTS_PER_SECOND ?? 10_000);
  const duration = process.env.DURATION ?? '60s';
  checkOpenFiles(dashboards + SPARE_FILES);

  const fromFeed = process.env.SOURCE === 'feed';
  if (process.env.SOURCE !== undefined && !fromFeed) throw new Error(`SOURCE=${process.env.SOURCE}: the only other source is "feed"`);
  const dashboardClient = process.env.DASHBOARD_CLIENT ?? (fromFeed ? 'k6' : 'node');
  if (dashboardClient !== 'k6' && dashboardClient !== 'node') throw new Error(`DASHBOARD_CLIENT=${dashboardClient}: use "node" or "k6"`);
  if (fromFeed && dashboardClient === 'node') throw new Error('SOURCE=feed runs its dashboards in k6 (DASHBOARD_CLIENT=k6)');
  // The dashboards connect over the ramp, whichever process runs them; k6 sends after it.
  const rampSeconds = process.env.RAMP === undefined ? Math.max(5, Math.ceil(dashboards / 500)) : durationSeconds('RAMP', process.env.RAMP);
  const settleSeconds = process.env.SETTLE === undefined ? 3 : durationSeconds('SETTLE', process.env.SETTLE);
  const tailSeconds = process.env.TAIL === undefined ? 5 : durationSeconds('TAIL', process.env.TAIL);
  // Only the feed needs it in ms; k6 reads DURATION itself, in all its forms ("1m30s").
  const feedMs = fromFeed ? durationSeconds('DURATION', duration) * 1000 : 0;
  const k6 = findK6(log);
  const stack = await startBenchStack('all', {
    LIVE_MAX_CONNECTIONS_PER_KEY: String(dashboards * 2),
  });
  const redis = createRedis(stack.redisUrl, 'bench-live', { enableOfflineQueue: true });
  let feed: Awaited<ReturnType<typeof watchFeed>> | undefined;
  let observer: Awaited<ReturnType<typeof observe>> | undefined;
  try {
    feed = await watchFeed(stack.redisUrl, stack.prefix, stack.projectId);
    // With SOURCE=feed the observer joins after k6's dashboards: last in the topic, the
    // worst place in a publish's fan-out.
    if (!fromFeed) observer = await observe(stack.base, stack.readKey, ['events']);
    const dashboardsOnServer = (text: string) => metricSum(text, 'signalboard_live_connections') - (observer === undefined ? 0 : 1);
    const serverPid = stack.server.pid!;
    const store = storePids();
    const redisPids = pidsListeningOn(Number(new URL(stack.redisUrl).port || 6379));
    // bench: this script (the feed watcher, the samplers); machine: every process on the box.
    const serviceTicks = () => ({ signalboard: cpuTicks(serverPid), store: sumOver(store, cpuTicks), redis: sumOver(redisPids, cpuTicks), bench: cpuTicks('self'), machine: machineBusyTicks() });
    const metrics = async () => (await fetch(`${stack.base}/metrics`)).text();

    log(`k6: ${dashboards} dashboards, ${eventsPerSecond} events/s ${fromFeed ? 'as feed entries' : 'through ingest'} for ${duration}`);
    const started = Date.now();
    const childTicksBefore = cpuTicks('self', true);
    const run = startK6(k6, 'loadtest/live.js', {
      BASE_URL: stack.base,
      WRITE_KEY: stack.writeKey,
      READ_KEY: stack.readKey,
      DASHBOARDS: String(dashboards),
      EVENTS_PER_SECOND: String(eventsPerSecond),
      DURATION: duration,
      SOURCE: fromFeed ? 'feed' : 'ingest',
      DASHBOARD_CLIENT: dashboardClient,
      // The timeline as this script counts it, so both sides agree on it.
      RAMP: `${rampSeconds}s`,
      SETTLE: `${settleSeconds}s`,
      TAIL: `${tailSeconds}s`,
      ...Object.fromEntries(['BATCH', 'CHANNELS', 'EVENT_NAMES', 'PROBE_INTERVAL_MS', 'CLIENT_EVENT_IDS', 'RETRY_PERCENT'].flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]!]]))),
    });
    const nodeDashboards = dashboardClient === 'k6' ? undefined : startJsonChild(process.execPath, ['--import', 'tsx', 'scripts/live-dashboards.ts'], {
      BASE_URL: stack.base,
      READ_KEY: stack.readKey,
      DASHBOARDS: String(dashboards),
      RAMP_MS: String(rampSeconds * 1000),
      // k6 starts sending SETTLE after the ramp; the first 15 s of load are the warmup.
      WARMUP_UNTIL: String(Date.now() + (rampSeconds + settleSeconds + WARMUP_SECONDS) * 1000),
      ...(process.env.CHANNELS === undefined ? {} : { CHANNELS: process.env.CHANNELS }),
    });
    const ticks = () => ({ ...serviceTicks(), k6: cpuTicks(run.pid), dashboards: nodeDashboards === undefined ? 0 : cpuTicks(nodeDashboards.pid) });
    const first = ticks();
    // Every 5 s: cores each process used since the last sample, open sockets, aggregator backlog.
    const timeline: Array<{ t: number; cores: Record<string, number>; liveConnections: number; backlogEvents: number }> = [];
    const peakRss = { signalboard: 0, k6: 0, dashboards: 0 };
    let last = { at: started, ticks: first };
    let peakConnections = 0;
    const sampler = setInterval(() => {
      const now = Date.now();
      const current = ticks();
      const seconds = (now - last.at) / 1000;
      const cores = Object.fromEntries(Object.entries(current).map(([k, v]) => [k, round2((v - last.ticks[k as keyof typeof current]) / TICKS_PER_SECOND / seconds)]));
      last = { at: now, ticks: current };
      peakRss.signalboard = Math.max(peakRss.signalboard, rssMegabytes(serverPid));
      peakRss.k6 = Math.max(peakRss.k6, rssMegabytes(run.pid));
      if (nodeDashboards !== undefined) peakRss.dashboards = Math.max(peakRss.dashboards, rssMegabytes(nodeDashboards.pid));
      void Promise.all([metrics(), backlogOf(stack, redis)]).then(
        ([text, lag]) => {
          const open = dashboardsOnServer(text);
          peakConnections = Math.max(peakConnections, open);
          timeline.push({ t: Math.round((now - started) / 1000), cores, liveConnections: open, backlogEvents: lag });
        },
        (err: unknown) => log(`sample failed: ${String(err)}`),
      );
    }, 5000);

    // A crashed server makes the rest of the run meaningless: stop k6 and say so.
    let serverExit: string | null = null;
    const onServerExit = (code: number | null, signal: string | null) => {
      serverExit = `Signalboard exited during the run (code ${code}, signal ${signal}); its output above says why`;
      log(serverExit);
      process.kill(run.pid, 'SIGINT');
      if (nodeDashboards !== undefined) process.kill(nodeDashboards.pid, 'SIGTERM');
    };
    stack.server.once('exit', onServerExit);
    // SOURCE=feed: the deltas start once k6's dashboards are all connected (the ramp), or
    // a minute past the ramp's estimate, and run for DURATION, before k6's SETTLE + TAIL run out.
    let k6Done = false;
    let feedFailed: unknown;
    const alertProbes = Number(process.env.ALERT_PROBES ?? 20);
    const alertSent = new Map<string, number>();
    const fed = !fromFeed ? undefined : (async () => {
      const until = Date.now() + (Math.ceil(dashboards / 500) + 60) * 1000;
      while (!k6Done && Date.now() < until && dashboardsOnServer(await metrics()) < dashboards) await new Promise((r) => setTimeout(r, 200));
      for (let k = 0; k < alertProbes; k++) {
        const res = await fetch(`${stack.base}/v1/alerts?project=${stack.projectId}`, { method: 'POST', headers: { authorization: `Bearer ${stack.adminToken}` }, body: JSON.stringify(alertProbeRule(k)) });
        if (res.status !== 201) throw new Error(`creating alert probe rule ${k}: ${res.status} ${await res.text()}`);
      }
      observer = await observe(stack.base, stack.readKey, ['events', 'alerts']);
      // The evaluator loads new rules every ALERTS_RULES_REFRESH_MS (2 s).
      await new Promise((r) => setTimeout(r, 3000));
      log('feed: dashboards connected; appending deltas');
      return feedSynthetic(stack.redisUrl, stack.prefix, stack.projectId, feedMs, alertProbes, alertSent, () => k6Done);
    })().catch((err: unknown) => {
      // Kept, not thrown here: k6 runs on, and the report says the feed failed.
      feedFailed = err;
      log(`feed: appending failed: ${String(err)}`);
      return undefined;
    });
    let summary: Record<string, unknown>;
    let dashboardsCpuSeconds = 0;
    try {
      summary = await run.done.catch((err: unknown) => {
        throw new Error(serverExit ?? String(err));
      });
      // The samples stop with k6 (its CPU is read from its process, gone now).
      clearInterval(sampler);
      if (nodeDashboards !== undefined) {
        // k6 stops once it sent the last probe: the dashboards wait TAIL for it, then close.
        await new Promise((r) => setTimeout(r, tailSeconds * 1000));
        process.kill(nodeDashboards.pid, 'SIGTERM');
        const watched = await nodeDashboards.done;
        dashboardsCpuSeconds = Number(watched.cpuSeconds);
        summary = {
          ...summary,
          ...watched,
          messagesReceived: watched.messages,
          probeDeliveries: watched.probeDeltas,
          probeDeliveriesExpected: Number(summary.probesSent) * Number(watched.subscribed),
          delayHandledMs: null,
        };
      }
    } finally {
      k6Done = true;
      clearInterval(sampler);
      stack.server.off('exit', onServerExit);
    }
    const feedAppended = await fed;
    if (feedFailed !== undefined) throw new Error(`SOURCE=feed: appending the deltas failed: ${String(feedFailed)}`);
    const wall = (Date.now() - started) / 1000;
    const end = serviceTicks();
    // k6 (and the dashboards) have exited and been waited for: their CPU time is in this process's children's.
    const k6Seconds = (cpuTicks('self', true) - childTicksBefore) / TICKS_PER_SECOND - dashboardsCpuSeconds;
    const used = (k: keyof typeof end) => round2((end[k] - first[k]) / TICKS_PER_SECOND);
    const cpuSeconds = { signalboard: used('signalboard'), k6: round2(k6Seconds), ...(nodeDashboards === undefined ? {} : { dashboards: round2(dashboardsCpuSeconds) }), store: used('store'), redis: used('redis'), bench: used('bench'), machine: used('machine') };
    const text = await metrics();
    const delayCount = metricSum(text, 'signalboard_live_delay_seconds_count');
    const loadSeconds = Number(summary.loadSeconds);
    const subscribed = Number(summary.subscribed);
    const { seen } = feed;
    const feedDelays = [...seen].map(([event, at]) => at - probeSentAt(event));
    const alertDelays = [...alertSent].flatMap(([name, at]) => (observer?.alerted.has(name) === true ? [observer.alerted.get(name)! - at] : []));
    const gatewayAdds = [...(observer?.arrived ?? [])].flatMap(([event, at]) => (seen.has(event) ? [at - seen.get(event)!] : []));
    console.log(
      JSON.stringify(
        {
          benchmark: 'live',
          dashboards: {
            client: dashboardClient,
            requested: dashboards,
            connected: summary.connected,
            subscribed,
            heldToTheEnd: summary.held,
            peakOnServer: peakConnections,
            rampSeconds: summary.rampSeconds,
            subscribeMs: summary.subscribeMs,
          },
          events: feedAppended !== undefined ? { source: 'feed', perSecond: eventsPerSecond, feedEntries: feedAppended.entries } : {
            source: 'ingest',
            offeredPerSecond: eventsPerSecond,
            acceptedPerSecond: summary.eventsPerSecond,
            requestsRefused: summary.requestsRefused,
            k6DroppedIterations: summary.droppedIterations,
            ingestLatencyMs: summary.ingestLatencyMs,
          },
          // From the probe's POST to the delta's frame read by the dashboard's socket;
          // handled: to the dashboard's JavaScript running, later when k6's event loop lags.
          delayMs: summary.delayMs,
          ...(summary.delayMsAfterWarmup === undefined ? {} : { delayMsAfterWarmup: { fromSecond: WARMUP_SECONDS, ...(summary.delayMsAfterWarmup as object) } }),
          delayHandledMs: summary.delayHandledMs,
          // Sent to the probe's delta in the Redis feed (ingest + aggregator), then from the
          // feed to the observer socket in this process (the gateway), per probe.
          feedDelayMs: percentiles(feedDelays),
          gatewayAddsMs: percentiles(gatewayAdds),
          observerCloseCode: observer?.closeCode() ?? null,
          // SOURCE=feed: from the crossing event's feed entry to the observer getting the alert.
          ...(fromFeed ? { alerts: { rules: alertProbes, crossed: alertSent.size, fired: alertDelays.length, delayMs: percentiles(alertDelays) } } : {}),
          probes: feedAppended !== undefined
            ? { sent: feedAppended.probes, deliveries: summary.probeDeliveries, expected: feedAppended.probes * subscribed }
            : { sent: summary.probesSent, deliveries: summary.probeDeliveries, expected: summary.probeDeliveriesExpected },
          messagesReceived: summary.messagesReceived,
          messagesPerDashboardPerSecond: subscribed > 0 ? round2(Number(summary.messagesReceived) / subscribed / loadSeconds) : 0,
          errors: { connectFailed: summary.connectFailed, socket: summary.socketErrors, server: summary.serverErrors, unexpectedCloses: summary.unexpectedCloses },
          gateway: {
            messagesSent: metricSum(text, 'signalboard_live_messages_sent_total'),
            slowConsumersDegraded: metricSum(text, 'signalboard_live_slow_consumers_total', 'action="degraded"'),
            slowConsumersClosed: metricSum(text, 'signalboard_live_slow_consumers_total', 'action="closed"'),
            refused: metricSum(text, 'signalboard_live_refused_total'),
            // The gateway's own view: oldest event of a flush, receivedAt to publish.
            deltasWithin250ms: delayCount > 0 ? round2(metricSum(text, 'signalboard_live_delay_seconds_bucket', 'le="0.25"') / delayCount) : null,
            deltasWithin1s: delayCount > 0 ? round2(metricSum(text, 'signalboard_live_delay_seconds_bucket', 'le="1"') / delayCount) : null,
          },
          backlogEventsAtEnd: await backlogOf(stack, redis),
          // Over the whole k6 run (VU start-up, ramp, load, tail): CPU seconds and average cores;
          // machine minus the others is what else ran on the box meanwhile.
          k6RunSeconds: round2(wall),
          cpuSeconds,
          cpuCores: Object.fromEntries(Object.entries(cpuSeconds).map(([k, v]) => [k, round2(v / wall)])),
          peakRssMb: peakRss,
          openFilesLimit: openFilesLimit(),
          timeline,
        },
        null,
        2,
      ),
    );
  } finally {
    observer?.close();
    feed?.stop();
    redis.disconnect();
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
