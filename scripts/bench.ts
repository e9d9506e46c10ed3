/**
 * npm run bench — the benchmark suite (docs/benchmarks.md#the-suite). Each scenario runs
 * on a stack of its own (scripts/bench-stack.ts) in each layout it is meant for: `roles`
 * (one process per role, as a deployment runs) and `all` (one process, as `npm start`
 * runs). k6 sends the events (loadtest/), scripts/live-dashboards.ts holds the dashboards,
 * and one more dashboard in this process watches every delta for the zero-loss
 * accounting: events acknowledged by ingest = raw events stored = the sum of the rolled-up
 * counts = the sum of the deltas it received. Any difference fails the run.
 *
 * Writes bench/results/<date>.json, the table between the `bench-suite` markers of
 * docs/benchmarks.md and docs/img/bench-timeline.png (lag and delay over time).
 *
 * Settings: BENCH_SCENARIOS (comma-separated: ingest-1, ingest-10, ingest-50, pipeline,
 * step, dashboards-1000, dashboards-10000, mixed; default all), BENCH_LAYOUTS
 * (roles,all), BENCH_SCALE (1; multiplies every duration: 0.1 for a quick try).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { MongoClient } from 'mongodb';
import WebSocket from 'ws';
import { findRollups } from '../model/rollup-deltas.js';
import { COLLECTIONS, type CountDoc } from '../model/collections.js';
import type { RawBucketDoc } from '../model/raw-events.js';
import { createRedis } from '../core/redis.js';
import { launchChromium } from '../test/browser.js';
import { lineChartSvg, p99PerWindow, replaceSection, resultsTable, zeroLossHolds, zeroLossProblems, type ScenarioResult, type Series } from './bench-report.js';
import { backlogOf, cpuTicks, log, pidsListeningOn, redisXaddPerSecond, rssMegabytes, startBenchStack, startJsonChild, startK6, storePids, STACK_LAYOUTS, sumOver, TICKS_PER_SECOND, type BenchStack, type JsonChild, type StackLayout } from './bench-stack.js';
import { metricSum, percentiles } from './bench-stats.js';
import { findK6, portAnswers } from './local-services.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
if (!(SCALE > 0)) throw new Error(`BENCH_SCALE=${process.env.BENCH_SCALE}: a positive number, e.g. 0.1 for a quick try`);
const seconds = (full: number) => Math.max(5, Math.round(full * SCALE));

/** One more dashboard, in this process: the sum of every events delta, and when each probe arrived. */
interface Watcher {
  delivered(): number;
  /** [ms since epoch it arrived, ms since it was sent] per probe. */
  probes: Array<[number, number]>;
  close(): void;
}

async function watchDashboard(stack: BenchStack): Promise<Watcher> {
  const socket = new WebSocket(`${stack.liveUrl.replace(/^http/, 'ws')}/v1/live?key=${encodeURIComponent(stack.readKey)}`, { perMessageDeflate: false });
  // Per minute bucket: a snapshot replaces what the deltas added (after a resync too).
  let total = 0;
  const probes: Array<[number, number]> = [];
  let subscribed: () => void;
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { type: string; channel?: string; increment?: number; event?: string; counts?: Array<{ count: number }>; error?: unknown };
    if (message.channel !== 'events') {
      if (message.type === 'error') log(`watching dashboard: ${JSON.stringify(message.error)}`);
      return;
    }
    if (message.type === 'snapshot') {
      total = message.counts!.reduce((a, c) => a + c.count, 0);
      subscribed();
    } else if (message.type === 'delta') {
      total += message.increment!;
      if (message.event!.startsWith('probe_')) probes.push([Date.now(), Date.now() - Number(message.event!.split('_')[1])]);
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'subscribe', channels: ['events'] }));
  await ready;
  return { delivered: () => total, probes, close: () => socket.close() };
}

/** The raw events stored and the sum of the day counts (with the changes not folded yet), read from MongoDB. */
async function storedAndRolledUp(stack: BenchStack): Promise<{ stored: number; rolledUp: number }> {
  const mongo = new MongoClient(stack.mongoUrl);
  try {
    const db = mongo.db();
    let stored = 0;
    for await (const doc of db.collection<RawBucketDoc>(COLLECTIONS.rawEvents).find({ projectId: stack.projectId }, { projection: { n: 1 } })) stored += doc.n;
    const days = await findRollups<CountDoc>(db, COLLECTIONS.countsDay, { projectId: stack.projectId });
    return { stored, rolledUp: days.reduce((a, d) => a + d.count, 0) };
  } finally {
    await mongo.close();
  }
}

interface Load {
  /** k6 (and the dashboards, when there are any), started once the watcher is on. */
  start(stack: BenchStack): { k6: JsonChild; dashboards?: JsonChild; dashboardCount: number };
  offeredPerSecond: number | null;
  /** While the load runs, e.g. report queries; its result goes into the notes. */
  alongside?: (stack: BenchStack, done: () => boolean) => Promise<string[]>;
}


/** Runs one scenario on a fresh stack in one layout and accounts for every event. */
/** What the dashboards process reported (scripts/live-dashboards.ts), and the CPU seconds each process used. */
interface RunDetails {
  dashboardsReport?: Record<string, unknown>;
  cpuSeconds: Record<string, number>;
}

async function runScenario(name: string, layout: StackLayout, load: Load, stackEnv: Record<string, string> = {}): Promise<ScenarioResult & RunDetails> {
  log(`${name} (${layout})`);
  const stack = await startBenchStack(layout, stackEnv);
  const redis = createRedis(stack.redisUrl, 'bench-suite', { enableOfflineQueue: true });
  let watcher: Watcher | undefined;
  try {
    watcher = await watchDashboard(stack);
    const w = watcher;
    const backlog = () => backlogOf(stack, redis);
    const store = storePids();
    const redisPids = pidsListeningOn(Number(new URL(stack.redisUrl).port || 6379));
    const started = Date.now();
    const { k6, dashboards, dashboardCount } = load.start(stack);
    const groups: Record<string, () => number[]> = {
      ...Object.fromEntries(stack.processes.map((p) => [p.name, () => [p.child.pid!]])),
      store: () => store,
      redis: () => redisPids,
      k6: () => [k6.pid],
      ...(dashboards === undefined ? {} : { dashboards: () => [dashboards.pid] }),
    };
    const ticksNow = () => Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, sumOver(pids(), cpuTicks)]));
    const first = ticksNow();
    // k6 and the dashboards exit before the end: their last reading is kept.
    const lastTicks = { ...first };
    const peakRssMb: Record<string, number> = {};
    const timeline: ScenarioResult['timeline'] = [];
    let peakBacklog = 0;
    const sampler = setInterval(() => {
      for (const [k, pids] of Object.entries(groups)) {
        lastTicks[k] = Math.max(lastTicks[k]!, sumOver(pids(), cpuTicks));
        peakRssMb[k] = Math.max(peakRssMb[k] ?? 0, sumOver(pids(), rssMegabytes));
      }
    }, 1000);
    const timelineSampler = setInterval(() => {
      const t = Math.round((Date.now() - started) / 1000);
      void backlog().then((events) => {
        peakBacklog = Math.max(peakBacklog, events);
        timeline.push({ t, backlog: events, delivered: w.delivered() });
      }, (err: unknown) => log(`sampling the backlog failed: ${String(err)}`));
    }, 5000);
    let loadDone = false;
    const alongside = load.alongside?.(stack, () => loadDone);
    let summary: Record<string, unknown>;
    let watched: Record<string, unknown> | undefined;
    let deliveredDuringLoad: number;
    try {
      summary = await k6.done;
      deliveredDuringLoad = w.delivered();
      loadDone = true;
      if (dashboards !== undefined) {
        // They wait TAIL (5 s) for the last probes, then close when told.
        await new Promise((r) => setTimeout(r, 5000));
        process.kill(dashboards.pid, 'SIGTERM');
        watched = await dashboards.done;
      }
    } finally {
      loadDone = true;
    }
    const notes = (await alongside) ?? [];
    const loadSeconds = Number(summary.loadSeconds ?? summary.seconds);
    const drainStart = Date.now();
    // Past the ceiling the backlog takes a while: wait as long as it keeps shrinking.
    let left = await backlog();
    for (let best = left, bestAt = Date.now(); left > 0 && Date.now() - bestAt < 30_000; left = await backlog()) {
      if (left < best) [best, bestAt] = [left, Date.now()];
      await new Promise((r) => setTimeout(r, 250));
    }
    if (left > 0) notes.push(`the backlog stopped shrinking at ${left} events`);
    const drainSeconds = Math.round((Date.now() - drainStart) / 100) / 10;
    clearInterval(sampler);
    clearInterval(timelineSampler);
    const wall = (Date.now() - started) / 1000;
    const end = ticksNow();
    const cpuSeconds = Object.fromEntries(Object.keys(groups).map((k) => [k, (Math.max(end[k]!, lastTicks[k]!) - first[k]!) / TICKS_PER_SECOND]));
    const cpuCores = Object.fromEntries(Object.entries(cpuSeconds).map(([k, v]) => [k, Number((v / wall).toFixed(2))]));

    // The last deltas reach the watcher a flush after the backlog is gone.
    let counted = await storedAndRolledUp(stack);
    const settle = Date.now();
    while (Date.now() - settle < 20_000 && (w.delivered() !== counted.rolledUp || counted.rolledUp !== Number(summary.eventsAcknowledged))) {
      await new Promise((r) => setTimeout(r, 500));
      counted = await storedAndRolledUp(stack);
    }
    const zeroLoss = { acknowledged: Number(summary.eventsAcknowledged), ...counted, delivered: w.delivered() };
    const delays = (watched?.delayMs ?? null) as ScenarioResult['dashboardDelayMs'];
    const latency = (summary.latencyMs ?? summary.ingestLatencyMs) as ScenarioResult['httpMs'];
    const refused = Number(summary.requestsRefused ?? 0);
    if (refused > 0) notes.push(`${refused} requests refused by ingest`);
    if (Number(summary.droppedIterations ?? 0) > 0) notes.push(`k6 could not send ${String(summary.droppedIterations)} of its requests in time (dropped iterations): the load generator was short of CPU`);
    if (watched !== undefined && Number(watched.subscribed) < dashboardCount) notes.push(`${String(watched.subscribed)} of ${dashboardCount} dashboards subscribed`);
    return {
      scenario: name,
      layout,
      seconds: Math.round(loadSeconds),
      offeredPerSecond: load.offeredPerSecond,
      acceptedPerSecond: Math.round(Number(summary.eventsAccepted) / loadSeconds),
      rolledUpPerSecond: Math.round(deliveredDuringLoad / loadSeconds),
      httpMs: latency,
      dashboardDelayMs: delays === null ? (w.probes.length === 0 ? null : percentiles(w.probes.map(([, d]) => d))) : delays,
      dashboards: dashboardCount,
      peakBacklog,
      drainSeconds,
      cpuCores,
      peakRssMb,
      zeroLoss,
      timeline,
      delays: w.probes.map(([at, d]) => [Math.round((at - started) / 100) / 10, d]),
      notes,
      ...(watched === undefined ? {} : { dashboardsReport: watched }),
      cpuSeconds,
    };
  } finally {
    watcher?.close();
    redis.disconnect();
    await stack.stop();
  }
}

/** k6 posting batches of `batch` as fast as 32 virtual users can (no dashboards). */
function ingestAsFastAsPossible(k6Path: string, batch: number, durationS: number): Load {
  return {
    offeredPerSecond: null,
    start: (stack) => ({ k6: startK6(k6Path, 'loadtest/ingest.js', { BASE_URL: stack.ingestUrl, WRITE_KEY: stack.writeKey, BATCH: String(batch), VUS: '32', DURATION: `${durationS}s`, CLIENT_EVENT_IDS: '1', RETRY_PERCENT: '2', EVENT_NAMES: '10' }), dashboardCount: 0 }),
  };
}

/** k6 posting `eventsPerSecond` with probes (loadtest/live.js) to `dashboards` dashboards in scripts/live-dashboards.ts. */
function eventsToDashboards(k6Path: string, eventsPerSecond: number, dashboards: number, durationS: number): Load {
  const rampS = Math.max(5, Math.ceil(dashboards / 500));
  return {
    offeredPerSecond: eventsPerSecond,
    start: (stack) => ({
      k6: startK6(k6Path, 'loadtest/live.js', {
        BASE_URL: stack.ingestUrl, LIVE_BASE_URL: stack.liveUrl, WRITE_KEY: stack.writeKey, READ_KEY: stack.readKey, DASHBOARDS: String(dashboards), EVENTS_PER_SECOND: String(eventsPerSecond),
        DURATION: `${durationS}s`, DASHBOARD_CLIENT: 'node', RAMP: `${rampS}s`, SETTLE: '3s', TAIL: '5s',
      }),
      dashboards: startJsonChild(process.execPath, ['--import', 'tsx', 'scripts/live-dashboards.ts'], { BASE_URL: stack.liveUrl, READ_KEY: stack.readKey, DASHBOARDS: String(dashboards), RAMP_MS: String(rampS * 1000) }),
      dashboardCount: dashboards,
    }),
  };
}

/** Report queries (time series, breakdown, active users, retention) one after another while `done()` is false. */
async function reportQueries(stack: BenchStack, done: () => boolean): Promise<string[]> {
  const today = new Date().toISOString().slice(0, 10);
  const monthAgo = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
  const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString();
  const paths = [
    () => `/v1/metrics/timeseries?event=page_view&granularity=minute&from=${hourAgo()}&to=${new Date().toISOString()}`,
    () => `/v1/metrics/timeseries?event=signup&granularity=day&from=${monthAgo}&to=${today}&breakdown=platform`,
    () => `/v1/metrics/active-users?window=day&from=${monthAgo}&to=${today}`,
    () => `/v1/metrics/retention?from=${monthAgo}&to=${today}`,
  ];
  const times: number[] = [];
  let failed = 0;
  for (let i = 0; !done(); i++) {
    const began = performance.now();
    const res = await fetch(`${stack.base}${paths[i % paths.length]!()}`, { headers: { authorization: `Bearer ${stack.readKey}` } });
    await res.arrayBuffer();
    if (res.status !== 200) failed++;
    times.push(performance.now() - began);
    await new Promise((r) => setTimeout(r, 100));
  }
  const p = percentiles(times);
  return [`${p.count} report queries alongside (${failed} failed): p50 ${p.p50?.toFixed(1)} / p95 ${p.p95?.toFixed(1)} / p99 ${p.p99?.toFixed(1)} ms`, 'no export job and no GDPR erase: those routes do not exist yet (docs/benchmarks.md#the-suite)'];
}

/** The highest rate ingest kept up with (accepted within 5% of offered), and the stage after it when there is one. */
function ceiling(rates: ReadonlyArray<readonly [number, number]>): string {
  const kept = rates.filter(([offered, accepted]) => accepted >= offered * 0.95);
  const best = kept.at(-1);
  const over = rates.find(([offered, accepted]) => accepted < offered * 0.95);
  if (best === undefined) return 'not even the first stage';
  return `${best[1].toLocaleString('en-US')} events/s accepted${over === undefined ? ', every stage kept up (the ceiling is above the last)' : `; at ${over[0].toLocaleString('en-US')} offered only ${over[1].toLocaleString('en-US')}`}`;
}

/**
 * The gateway against plain uWebSockets.js sending the same number of frames per socket
 * to as many sockets (scripts/plain-fanout.ts), measured by the same dashboards client:
 * CPU per frame delivered, as a ratio, and the plain fan-out's own delay.
 */
async function plainFanoutComparison(run: ScenarioResult & RunDetails, durationS: number): Promise<string[]> {
  const report = run.dashboardsReport;
  const messages = Number(report?.messages ?? 0);
  const subscribed = Number(report?.subscribed ?? 0);
  if (report === undefined || messages === 0 || subscribed === 0) return ['no plain uWS comparison: the dashboards received nothing'];
  const perSecond = Math.max(1, Math.round(messages / subscribed / run.seconds));
  const port = 19_000 + Math.floor(Math.random() * 900);
  const server = startJsonChild(process.execPath, ['--import', 'tsx', 'scripts/plain-fanout.ts'], { PORT: String(port), MESSAGES_PER_SECOND: String(perSecond) });
  let serverStopped = false;
  try {
    const deadline = Date.now() + 20_000;
    while (!(await portAnswers(port))) {
      if (Date.now() > deadline) throw new Error('plain-fanout did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const rampS = Math.max(5, Math.ceil(run.dashboards / 500));
    // The server's CPU from /proc over the dashboards' life, as the gateway's is measured (not its own count, which held its start-up).
    const ticksBefore = cpuTicks(server.pid);
    const dashboards = startJsonChild(process.execPath, ['--import', 'tsx', 'scripts/live-dashboards.ts'], { BASE_URL: `http://127.0.0.1:${port}`, READ_KEY: 'none', DASHBOARDS: String(run.dashboards), RAMP_MS: String(rampS * 1000) });
    await new Promise((r) => setTimeout(r, (rampS + durationS) * 1000));
    process.kill(dashboards.pid, 'SIGTERM');
    const plain = await dashboards.done;
    const plainCpuSeconds = (cpuTicks(server.pid) - ticksBefore) / TICKS_PER_SECOND;
    process.kill(server.pid, 'SIGTERM');
    serverStopped = true;
    await server.done;
    const gatewayMicros = ((run.cpuSeconds.realtime ?? 0) * 1e6) / messages;
    const plainMicros = (plainCpuSeconds * 1e6) / Number(plain.messages);
    const delay = plain.delayMs as { p50: number | null; p99: number | null };
    return [
      `plain uWS, the same ${run.dashboards.toLocaleString('en-US')} sockets at ${perSecond} frames/s each: ${plainMicros.toFixed(1)} µs of CPU per frame delivered, the gateway ${gatewayMicros.toFixed(1)} µs (**${(gatewayMicros / plainMicros).toFixed(1)}×**); plain fan-out delay p50 ${delay.p50} / p99 ${delay.p99} ms (the gateway's column is the whole pipeline's)`,
    ];
  } finally {
    if (!serverStopped) process.kill(server.pid, 'SIGTERM');
  }
}

interface Scenario {
  /** What BENCH_SCENARIOS names it by. */
  id: string;
  name: string;
  layouts: readonly StackLayout[];
  run(layout: StackLayout, k6: string): Promise<ScenarioResult>;
}

const SCENARIOS: Scenario[] = [
  ...[1, 10, 50].map((batch): Scenario => ({
    id: `ingest-${batch}`,
    name: `ingest, batch ${batch}`,
    layouts: ['roles', 'all'],
    run: async (layout, k6) => {
      const result = await runScenario(`ingest, batch ${batch}`, layout, ingestAsFastAsPossible(k6, batch, seconds(20)));
      if (batch === 50) {
        // Side by side: Redis's own pipelined XADD, same Redis, same box, right after.
        const xadd = redisXaddPerSecond(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', `bench-suite-xadd-${process.pid}`);
        result.notes.push(`Redis's own pipelined XADD (redis-benchmark, 50 per round trip): ${xadd.toLocaleString('en-US')}/s; ingest accepted ${(result.acceptedPerSecond / xadd).toFixed(2)} of it`);
      }
      return result;
    },
  })),
  {
    id: 'pipeline',
    name: 'pipeline at 10,000 events/s',
    layouts: ['roles', 'all'],
    run: (layout, k6) => runScenario('pipeline at 10,000 events/s', layout, eventsToDashboards(k6, 10_000, 10, seconds(300))),
  },
  {
    id: 'step',
    name: 'step load',
    layouts: ['roles'],
    run: async (layout, k6) => {
      const stages = [5_000, 10_000, 15_000, 20_000, 30_000, 40_000, 60_000, 80_000];
      const stageS = seconds(20);
      const result = await runScenario('step load', layout, {
        offeredPerSecond: null,
        start: (stack) => ({ k6: startK6(k6, 'loadtest/ingest.js', { BASE_URL: stack.ingestUrl, WRITE_KEY: stack.writeKey, BATCH: '50', STAGES: stages.map((r) => `${r}:${stageS}s`).join(','), CLIENT_EVENT_IDS: '1', RETRY_PERCENT: '2', EVENT_NAMES: '10' }), dashboardCount: 0 }),
        alongside: async (stack, done) => {
          // Accepted per stage, from ingest's own counter.
          const rates: Array<[number, number]> = [];
          const counter = async () => metricSum(await (await fetch(`${stack.ingestUrl}/metrics`)).text(), 'signalboard_ingest_events_total', 'result="accepted"');
          for (const rate of stages) {
            await new Promise((r) => setTimeout(r, 2000 + stageS * 250));
            const from = await counter();
            const at = Date.now();
            await new Promise((r) => setTimeout(r, stageS * 500));
            if (done()) break;
            rates.push([rate, Math.round(((await counter()) - from) / ((Date.now() - at) / 1000))]);
            await new Promise((r) => setTimeout(r, stageS * 250));
          }
          return [`events/s offered → accepted, per stage of ${stageS} s: ${rates.map(([offered, accepted]) => `${offered.toLocaleString('en-US')} → ${accepted.toLocaleString('en-US')}`).join('; ')}`, `ingest's ceiling here: ${ceiling(rates)}`];
        },
      });
      return result;
    },
  },
  ...[1_000, 10_000].map((dashboards): Scenario => ({
    id: `dashboards-${dashboards}`,
    name: `${dashboards.toLocaleString('en-US')} dashboards`,
    layouts: ['roles'],
    run: async (layout, k6) => {
      const run = await runScenario(`${dashboards.toLocaleString('en-US')} dashboards`, layout, eventsToDashboards(k6, 10_000, dashboards, seconds(60)), { LIVE_MAX_CONNECTIONS_PER_KEY: String(dashboards * 2) });
      run.notes.push(...(await plainFanoutComparison(run, seconds(30))));
      return run;
    },
  })),
  {
    id: 'mixed',
    name: 'mixed',
    layouts: ['roles'],
    run: (layout, k6) => runScenario('mixed', layout, { ...eventsToDashboards(k6, 5_000, 100, seconds(600)), alongside: reportQueries }),
  },
];

async function drawTimeline(results: readonly ScenarioResult[], path: string): Promise<void> {
  const colors: Record<string, string> = { roles: '#1f6feb', all: '#d9480f' };
  const runs = results.filter((r) => r.scenario.startsWith('pipeline'));
  if (runs.length === 0) return;
  const backlog: Series[] = runs.map((r) => ({ label: `${r.layout}: events not consumed yet`, color: colors[r.layout] ?? '#333', points: r.timeline.map((p) => [p.t, p.backlog] as const) }));
  const delay: Series[] = runs.map((r) => ({ label: `${r.layout}: p99 per 10 s`, color: colors[r.layout] ?? '#333', points: p99PerWindow(r.delays) }));
  const html = `<body style="margin:0">${lineChartSvg('Aggregator backlog at 10,000 events/s (events not consumed yet)', 'events', backlog)}${lineChartSvg('Event to dashboard delay (ms), one watching dashboard', 'ms', delay)}</body>`;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
    await page.setContent(html);
    await page.screenshot({ path, fullPage: true });
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  const wanted = process.env.BENCH_SCENARIOS?.split(',').map((s) => s.trim());
  const layouts = (process.env.BENCH_LAYOUTS?.split(',') ?? STACK_LAYOUTS) as StackLayout[];
  for (const l of layouts) if (!STACK_LAYOUTS.includes(l)) throw new Error(`BENCH_LAYOUTS: ${l} is not one of ${STACK_LAYOUTS.join(', ')}`);
  const unknown = wanted?.filter((w) => !SCENARIOS.some((s) => s.id === w)) ?? [];
  if (unknown.length > 0) throw new Error(`BENCH_SCENARIOS: ${unknown.join(', ')} unknown; the scenarios are ${SCENARIOS.map((s) => s.id).join(', ')}`);
  const chosen = wanted === undefined ? SCENARIOS : SCENARIOS.filter((s) => wanted.includes(s.id));
  const k6 = findK6(log);
  const results: ScenarioResult[] = [];
  for (const layout of layouts) for (const scenario of chosen) if (scenario.layouts.includes(layout)) results.push(await scenario.run(layout, k6));

  const date = new Date().toISOString().slice(0, 10);
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${date}.json`;
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), scale: SCALE, results }, null, 2)}\n`);
  const command = `${SCALE === 1 ? '' : `BENCH_SCALE=${SCALE} `}${process.env.BENCH_SCENARIOS === undefined ? '' : `BENCH_SCENARIOS='${process.env.BENCH_SCENARIOS}' `}${process.env.BENCH_LAYOUTS === undefined ? '' : `BENCH_LAYOUTS=${process.env.BENCH_LAYOUTS} `}npm run bench`;
  const notes = results.flatMap((r) => r.notes.map((n) => `- ${r.layout}, ${r.scenario}: ${n}`));
  const section = [`Run ${date} with \`${command}\` (${file}):`, '', resultsTable(results), '', ...notes, '', '![Backlog and event-to-dashboard delay over time](img/bench-timeline.png)'].join('\n');
  writeFileSync('docs/benchmarks.md', replaceSection(readFileSync('docs/benchmarks.md', 'utf8'), 'bench-suite', section));
  await drawTimeline(results, 'docs/img/bench-timeline.png');
  log(`wrote ${file}, docs/benchmarks.md and docs/img/bench-timeline.png`);
  console.log(resultsTable(results));
  const failed = results.filter((r) => !zeroLossHolds(r.zeroLoss));
  if (failed.length > 0) {
    for (const r of failed) console.error(`ZERO-LOSS CHECK FAILED: ${r.layout}, ${r.scenario}: ${zeroLossProblems(r.zeroLoss).join('; ')}`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
