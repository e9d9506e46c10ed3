/**
 * npm run bench:reports — reports over EVENTS (10,000,000) events of PERSONS (100,000)
 * persons over DAYS (30) days, 20 event names, 5 properties, 30% of the persons anonymous
 * until a link. Signalboard `all` (every role) as `npm start` runs it; the events are
 * stored through the aggregator's own write path (raw buckets and identity links, the
 * same documents a write cycle writes). Next to it DuckDB (in-memory table of the same
 * events, persons resolved) runs the same five queries in the same run; the answers must
 * agree. Prints first (day segments built from the raw buckets, and stored), cold (a
 * new api process: nothing in memory, the stored segments read), held (segments in
 * memory, result not cached) and warm (cached) times, DuckDB's, p50/p95 under CLIENTS (20)
 * concurrent clients, the api process's peak RSS, and what the queries cost the pipeline
 * while 5,000 events/s flow. Redis's own XADD rate is printed beside (machines differ).
 * QUERIES (e.g. "3" or "1,3"): only those of the five (from 1); QUERIES_ONLY=1 skips the
 * concurrent clients and the pipeline phases.
 */
import { mkdtempSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { MongoClient } from 'mongodb';
import { AnalyticsStore } from '../aggregator/analytics-store.js';
import { LruMap } from '../aggregator/lru-map.js';
import { RecentEventIds } from '../aggregator/recent-event-ids.js';
import { createLogger } from '../core/logger.js';
import { createRedis } from '../core/redis.js';
import { markRawDaysChanged } from '../live/raw-day-versions.js';
import type { StampedEvent } from '../model/event-stream.js';
import type { IdentityLink } from '../model/persons.js';
import { seeded } from '../test/dataset.js';
import { percentiles } from './bench-stats.js';
import { stopChild } from './local-services.js';
import { backlogOf, log, redisXaddPerSecond, rssMegabytes, startBenchStack, type BenchStack } from './bench-stack.js';

const EVENTS = Number(process.env.EVENTS ?? 10_000_000);
const PERSONS = Number(process.env.PERSONS ?? 100_000);
const DAYS = Number(process.env.DAYS ?? 30);
const CLIENTS = Number(process.env.CLIENTS ?? 20);
const DAY = 86_400_000;
const NAMES = Array.from({ length: 20 }, (_, i) => `e${i}`);
const PLANS = ['free', 'free', 'free', 'pro', 'pro', 'team', 'enterprise', ''];
const COUNTRIES = ['DE', 'US', 'FR', 'GB', 'IN', 'BR', 'JP', 'NL', 'ES', 'IT'];
const PLATFORMS = ['web', 'ios', 'android'];

/** The day's events (one project), generated in person order, and their links; the same for the same day. */
function* generateDays(projectId: string, today: number): Generator<{ day: number; events: StampedEvent[] }> {
  const rand = seeded(28);
  // Each person: a first day, how active they are, and (30%) the day their anonymous id is linked.
  const first = Int32Array.from({ length: PERSONS }, () => Math.floor(rand() * DAYS * 0.7));
  const weight = Float64Array.from({ length: PERSONS }, () => rand() ** 3);
  const linkDay = Int32Array.from({ length: PERSONS }, (_, p) => (p % 10 < 3 ? first[p]! + Math.floor(rand() * 10) : -1));
  const linked = new Uint8Array(PERSONS);
  // Each active person-day gets events in proportion to the person's weight, scaled so the total is about EVENTS.
  const activeWeight = weight.reduce((a, w, p) => a + w * (DAYS - first[p]!), 0);
  let n = 0;
  for (let d = 0; d < DAYS; d++) {
    const day = today - DAYS + 1 + d;
    const events: StampedEvent[] = [];
    for (let p = 0; p < PERSONS; p++) {
      if (d < first[p]!) continue;
      const expected = (weight[p]! / activeWeight) * EVENTS;
      let count = Math.floor(expected) + (rand() < expected % 1 ? 1 : 0);
      for (; count > 0; count--) {
        const timestamp = day * DAY + Math.floor(rand() * DAY);
        // Anonymous until the first event on or after the link day, which carries both ids; identified after.
        const anonymous = linkDay[p]! >= 0 && linked[p] === 0 && d < linkDay[p]!;
        const links = linkDay[p]! >= 0 && linked[p] === 0 && d >= linkDay[p]!;
        if (links) linked[p] = 1;
        const ids = links ? { userId: `u${p}`, anonymousId: `a${p}` } : anonymous ? { anonymousId: `a${p}` } : { userId: `u${p}` };
        const name = NAMES[Math.min(19, Math.floor(-Math.log2(rand() + 1e-9)))]!;
        events.push({
          eventId: `b${n++}`,
          projectId,
          event: name,
          ...ids,
          timestamp,
          receivedAt: timestamp,
          properties: { plan: PLANS[p % PLANS.length]!, amount: Math.round(rand() * 20000) / 100, path: `/p/${Math.floor(rand() * 50)}` },
          context: { country: COUNTRIES[p % COUNTRIES.length]!, platform: PLATFORMS[p % PLATFORMS.length]! },
          generated: true,
        });
      }
    }
    yield { day, events };
  }
}

/** Stores the events as the aggregator does (raw buckets, identity links, the days' counters), and writes them as CSV for DuckDB. */
async function load(stack: BenchStack, csvPath: string): Promise<number> {
  const mongo = new MongoClient(stack.mongoUrl);
  const redis = createRedis(stack.redisUrl, 'bench-reports-load', { enableOfflineQueue: true });
  const store = new AnalyticsStore(mongo.db(), createLogger('warn', 'bench-reports', undefined, false));
  const recent = new RecentEventIds(1);
  const known = new LruMap<string, IdentityLink>(PERSONS);
  const csv = createWriteStream(csvPath);
  csv.write('ts,event,person,plan,amount,country,platform\n');
  const seqs = new Array<number>(16).fill(0);
  let stored = 0;
  const started = Date.now();
  for (const { day, events } of generateDays(stack.projectId, Math.floor(Date.now() / DAY))) {
    for (let i = 0; i < events.length; i += 5000) {
      const batch = events.slice(i, i + 5000);
      const part = (i / 5000) % 16;
      const fresh = await store.insertEvents([{ part, seq: ++seqs[part]!, events: batch, recent, asOf: Date.now() }], 365);
      const linked = await store.storeLinks([{ events: fresh[0]!, known }]);
      await markRawDaysChanged(redis, stack.prefix, new Map([[stack.projectId, new Set([day])]]), linked);
    }
    for (const e of events) {
      const person = e.userId ?? `u${e.anonymousId!.slice(1)}`;
      if (!csv.write(`${e.timestamp},${e.event},${person},${e.properties!.plan as string},${e.properties!.amount as number},${e.context.country as string},${e.context.platform as string}\n`)) await once(csv, 'drain');
    }
    stored += events.length;
    log(`stored ${stored.toLocaleString('en')} events (${day - Math.floor(Date.now() / DAY) + DAYS}/${DAYS} days), ${Math.round(stored / ((Date.now() - started) / 1000)).toLocaleString('en')}/s`);
  }
  csv.end();
  await once(csv, 'finish');
  redis.disconnect();
  await mongo.close();
  return stored;
}

interface Query {
  name: string;
  definition: Record<string, unknown>;
  duckdb: string;
  /** The Signalboard answer in the form the DuckDB query gives, to compare. */
  fromApi(result: unknown): unknown;
  fromDuck(rows: unknown[][]): unknown;
}

function queries(from: string, to: string, fromMs: number): Query[] {
  const range = { from, to };
  const inRange = `ts >= ${fromMs}`;
  const day = 'CAST(epoch_ms(ts) AS DATE)';
  return [
    {
      name: '30-day daily trend, breakdown by plan, filter country != FR',
      definition: { kind: 'trends', ...range, interval: 'day', series: [{ event: 'e1', filters: [{ property: 'context.country', op: 'neq', value: 'FR' }] }], breakdown: { property: 'plan', limit: 25 } },
      duckdb: `SELECT CASE WHEN plan IS NULL OR plan = '' THEN '(none)' ELSE plan END AS p, sum(1) FROM ev WHERE event = 'e1' AND country <> 'FR' AND ${inRange} GROUP BY p ORDER BY p`,
      fromApi: (r) => (r as { results: Array<{ breakdown: string; total: number }> }).results.map((x) => [x.breakdown, x.total]).sort(),
      fromDuck: (rows) => rows.map(([p, n]) => [p, Number(n)]).sort(),
    },
    {
      name: 'distinct persons per day',
      definition: { kind: 'trends', ...range, interval: 'day', series: [{ event: 'e0', math: 'users' }] },
      duckdb: `SELECT ${day} AS d, count(DISTINCT person) FROM ev WHERE event = 'e0' AND ${inRange} GROUP BY d ORDER BY d`,
      fromApi: (r) => (r as { results: Array<{ values: number[] }> }).results[0]!.values,
      fromDuck: (rows) => rows.map(([, n]) => Number(n)),
    },
    {
      name: '3-step funnel, 7-day window, breakdown by the first step',
      definition: { kind: 'funnel', ...range, steps: [{ event: 'e2' }, { event: 'e3' }, { event: 'e4' }], window: { value: 7, unit: 'day' }, breakdown: { property: 'plan', attribution: 'step', step: 0 } },
      // Each attempt: the first e3 at or after its e2 within 7 days, then the first e4 at or after that within the window; per person the furthest, from the first attempt that got there.
      duckdb: `WITH s0 AS (SELECT person, ts AS t0, plan FROM ev WHERE event = 'e2' AND ${inRange}),
        s1 AS (SELECT person, ts AS t1 FROM ev WHERE event = 'e3'), s2 AS (SELECT person, ts AS t2 FROM ev WHERE event = 'e4'),
        a1 AS (SELECT s0.*, CASE WHEN t1 <= t0 + ${7 * DAY} THEN t1 END AS t1 FROM s0 ASOF LEFT JOIN s1 ON s0.person = s1.person AND s1.t1 >= s0.t0),
        a2 AS (SELECT a1.*, CASE WHEN a1.t1 IS NOT NULL AND t2 <= t0 + ${7 * DAY} THEN t2 END AS t2 FROM a1 ASOF LEFT JOIN s2 ON a1.person = s2.person AND s2.t2 >= a1.t1),
        steps AS (SELECT person, plan, t0, CASE WHEN t2 IS NOT NULL THEN 2 WHEN t1 IS NOT NULL THEN 1 ELSE 0 END AS k FROM a2),
        best AS (SELECT person, arg_min(plan, (-k, t0)) AS plan, max(k) AS k FROM steps GROUP BY person)
        SELECT CASE WHEN plan IS NULL OR plan = '' THEN '(none)' ELSE plan END AS p, count(*), count(*) FILTER (k >= 1), count(*) FILTER (k >= 2) FROM best GROUP BY p ORDER BY p`,
      fromApi: (r) => (r as { breakdowns: Array<{ value: string; steps: Array<{ count: number }> }> }).breakdowns.map((b) => [b.value, ...b.steps.map((s) => s.count)]).sort(),
      fromDuck: (rows) => rows.map((row) => [row[0], ...row.slice(1).map(Number)]).sort(),
    },
    {
      name: 'weekly first-time retention',
      definition: { kind: 'retention', ...range, period: 'week', type: 'first_time', startEvent: { event: 'e5' }, returnEvent: { event: 'e0' } },
      duckdb: `WITH firsts AS (SELECT person, date_trunc('week', epoch_ms(min(ts))) AS c FROM ev WHERE event = 'e5' GROUP BY person HAVING min(ts) >= ${fromMs}),
        returns AS (SELECT DISTINCT person, date_trunc('week', epoch_ms(ts)) AS w FROM ev WHERE event = 'e0' AND ${inRange})
        SELECT c, 0 AS k, count(*) FROM firsts GROUP BY c
        UNION ALL SELECT c, date_diff('week', c, w) AS k, count(*) FROM firsts JOIN returns USING (person) WHERE w > c GROUP BY c, k
        ORDER BY c, k`,
      fromApi: (r) => (r as { cohorts: Array<{ cohort: string; retained: number[] }> }).cohorts.flatMap((c) => c.retained.map((n, k) => [c.cohort.slice(0, 10), k, n]).filter(([, , n]) => n !== 0)),
      fromDuck: (rows) => rows.map(([c, k, n]) => [String(c).slice(0, 10), Number(k), Number(n)]),
    },
    {
      name: 'daily lifecycle',
      definition: { kind: 'lifecycle', ...range, interval: 'day', event: 'e0' },
      duckdb: `WITH active AS (SELECT DISTINCT person, ${day} AS d FROM ev WHERE event = 'e0'),
        born AS (SELECT person, min(${day}) AS b FROM ev GROUP BY person),
        days AS (SELECT DISTINCT ${day} AS d FROM ev WHERE ${inRange}),
        now_ AS (SELECT a.person, a.d, CASE WHEN b.b = a.d THEN 'new' WHEN p.person IS NOT NULL THEN 'returning' ELSE 'resurrecting' END AS s
          FROM active a JOIN born b USING (person) LEFT JOIN active p ON p.person = a.person AND p.d = a.d - 1 WHERE a.d IN (SELECT d FROM days)),
        gone AS (SELECT p.person, p.d + 1 AS d, 'dormant' AS s FROM active p LEFT JOIN active a ON a.person = p.person AND a.d = p.d + 1 WHERE a.person IS NULL AND p.d + 1 IN (SELECT d FROM days))
        SELECT s, d, count(*) FROM (SELECT * FROM now_ UNION ALL SELECT * FROM gone) GROUP BY s, d ORDER BY s, d`,
      fromApi: (r) => {
        const x = r as { intervals: string[]; new: number[]; returning: number[]; resurrecting: number[]; dormant: number[] };
        return (['dormant', 'new', 'resurrecting', 'returning'] as const).flatMap((s) => x[s].map((n, i) => [s, x.intervals[i]!.slice(0, 10), Math.abs(n)]).filter(([, , n]) => n !== 0));
      },
      fromDuck: (rows) => rows.map(([s, d, n]) => [s, String(d).slice(0, 10), Number(n)]),
    },
  ];
}

async function post(stack: BenchStack, definition: unknown, base = stack.base): Promise<{ ms: number; body: { result: unknown; cached: boolean } }> {
  const began = performance.now();
  const res = await fetch(`${base}/v1/reports/query`, { method: 'POST', headers: { authorization: `Bearer ${stack.readKey}`, 'content-type': 'application/json' }, body: JSON.stringify(definition) });
  const body = (await res.json()) as { result: unknown; cached: boolean };
  if (res.status !== 200) throw new Error(`report query answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
  return { ms: performance.now() - began, body };
}

async function duck(connection: DuckDBConnection, sql: string): Promise<{ ms: number; rows: unknown[][] }> {
  const began = performance.now();
  const reader = await connection.runAndReadAll(sql);
  return { ms: performance.now() - began, rows: reader.getRows() as unknown[][] };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Sends 5,000 events/s (batches of 100 every 20 ms) for `seconds`; the largest aggregator backlog seen and the answers' p99. */
async function sideLoad(stack: BenchStack, seconds: number, tag: string): Promise<{ accepted: number; maxBacklog: number; postP99: number }> {
  const redis = createRedis(stack.redisUrl, 'bench-reports-side', { enableOfflineQueue: true });
  const times: number[] = [];
  let accepted = 0;
  let maxBacklog = 0;
  const end = Date.now() + seconds * 1000;
  const sampler = setInterval(() => {
    void backlogOf(stack, redis).then((b) => (maxBacklog = Math.max(maxBacklog, b)));
  }, 250);
  const sends: Array<Promise<void>> = [];
  for (let tick = 0; Date.now() < end; tick++) {
    const batch = Array.from({ length: 100 }, (_, i) => ({ event: NAMES[i % 20], userId: `side-${tag}-${(tick * 100 + i) % 5000}`, properties: { plan: 'pro' } }));
    const began = performance.now();
    sends.push(
      fetch(`${stack.ingestUrl}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${stack.writeKey}` }, body: JSON.stringify(batch) }).then(async (res) => {
        await res.arrayBuffer();
        times.push(performance.now() - began);
        if (res.status === 202) accepted += 100;
      }),
    );
    await new Promise((r) => setTimeout(r, Math.max(0, end - seconds * 1000 + (tick + 1) * 20 - Date.now())));
  }
  await Promise.all(sends);
  clearInterval(sampler);
  redis.disconnect();
  return { accepted, maxBacklog, postP99: percentiles(times).p99 ?? 0 };
}

async function main(): Promise<void> {
  // Cold reports of 10M events take longer than the default 30 s: the benchmark measures them whole.
  const stack = await startBenchStack('all', { REPORTS_TIMEOUT_MS: '600000' });
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-reports-'));
  const serverPid = stack.server.pid!;
  let peakRss = 0;
  const rss = setInterval(() => (peakRss = Math.max(peakRss, rssMegabytes(serverPid))), 200);
  try {
    const csv = join(dir, 'events.csv');
    const stored = await load(stack, csv);
    const today = Math.floor(Date.now() / DAY);
    const isoDay = (d: number) => new Date(d * DAY).toISOString().slice(0, 10);
    const [from, to] = [isoDay(today - DAYS + 1), isoDay(today)];

    log('loading the same events into DuckDB (in memory)');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const loadStarted = performance.now();
    await connection.run(`CREATE TABLE ev AS SELECT * FROM read_csv('${csv}', header = true, columns = {'ts': 'BIGINT', 'event': 'VARCHAR', 'person': 'VARCHAR', 'plan': 'VARCHAR', 'amount': 'DOUBLE', 'country': 'VARCHAR', 'platform': 'VARCHAR'})`);
    const duckLoadMs = performance.now() - loadStarted;

    const rows: Array<Record<string, unknown>> = [];
    const redis = createRedis(stack.redisUrl, 'bench-reports', { enableOfflineQueue: true });
    const chosen = process.env.QUERIES === undefined ? undefined : new Set(process.env.QUERIES.split(',').map(Number));
    for (const [i, q] of queries(from, to, (today - DAYS + 1) * DAY).entries()) {
      if (chosen !== undefined && !chosen.has(i + 1)) continue;
      // First: a new epoch makes every held and stored segment stale, so the query builds its days from the raw buckets (and stores the closed ones).
      await redis.del(`${stack.prefix}:rawdays:{${stack.projectId}}`);
      const first = await post(stack, q.definition);
      // Cold: a new api process, nothing in memory; a question not cached (a `to` one millisecond different).
      const fresh = await stack.startAnother('api');
      const cold = await post(stack, { ...q.definition, to: new Date((today + 1) * DAY - 4).toISOString() }, fresh.url);
      await stopChild(fresh.child);
      // Held: segments in memory, the result not cached (a `to` one millisecond different is a new question).
      const held = [];
      for (let i = 1; i <= 3; i++) held.push((await post(stack, { ...q.definition, to: new Date((today + 1) * DAY - i).toISOString() })).ms);
      const warm = [];
      for (let i = 0; i < 5; i++) warm.push((await post(stack, q.definition)).ms);
      const duckTimes = [];
      let duckRows: unknown[][] = [];
      for (let i = 0; i < 3; i++) {
        const run = await duck(connection, q.duckdb);
        duckTimes.push(run.ms);
        duckRows = run.rows;
      }
      const agree = JSON.stringify(q.fromApi(first.body.result)) === JSON.stringify(q.fromDuck(duckRows)) && JSON.stringify(q.fromApi(cold.body.result)) === JSON.stringify(q.fromApi(first.body.result));
      if (!agree) log(`${q.name}: the answers differ\n  signalboard ${JSON.stringify(q.fromApi(first.body.result)).slice(0, 600)}\n  duckdb      ${JSON.stringify(q.fromDuck(duckRows)).slice(0, 600)}`);
      const row = { query: q.name, firstMs: Math.round(first.ms), coldMs: Math.round(cold.ms), heldMs: Math.round(median(held)), warmMs: Number(median(warm).toFixed(1)), duckdbMs: Math.round(median(duckTimes)), heldOverDuckdb: Number((median(held) / median(duckTimes)).toFixed(2)), answersAgree: agree };
      log(JSON.stringify(row));
      rows.push(row);
    }

    if (process.env.QUERIES_ONLY === '1') {
      redis.disconnect();
      console.log(JSON.stringify({ events: stored, persons: PERSONS, days: DAYS, duckdbLoadMs: Math.round(duckLoadMs), queries: rows, peakRssMb: peakRss }, null, 1));
      return;
    }
    log(`${CLIENTS} concurrent clients, segments held, results not cached`);
    const qs = queries(from, to, (today - DAYS + 1) * DAY);
    const latencies: number[] = [];
    let n = 0;
    const concurrentStarted = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = 0; i < qs.length; i++) {
          const q = qs[(c + i) % qs.length]!;
          latencies.push((await post(stack, { ...q.definition, to: new Date((today + 1) * DAY - 10 - n++).toISOString() })).ms);
        }
      }),
    );
    const concurrent = { ...percentiles(latencies), seconds: Number(((performance.now() - concurrentStarted) / 1000).toFixed(1)) };

    log('the pipeline at 5,000 events/s for 20 s, without and then with the clients querying');
    const quiet = await sideLoad(stack, 20, 'quiet');
    let querying = true;
    const background = Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (querying) await post(stack, { ...qs[n % qs.length]!.definition, to: new Date((today + 1) * DAY - 100_000 - n++).toISOString() });
      }),
    );
    const busy = await sideLoad(stack, 20, 'busy');
    querying = false;
    await background;

    clearInterval(rss);
    redis.disconnect();
    const xadd = redisXaddPerSecond(stack.redisUrl, `${stack.prefix}:xadd-bench`);
    console.log(JSON.stringify({ events: stored, persons: PERSONS, days: DAYS, duckdbLoadMs: Math.round(duckLoadMs), queries: rows, concurrent: { clients: CLIENTS, ...concurrent }, peakRssMb: peakRss, pipeline: { quiet, busy }, redisXaddPerSecond: xadd }, null, 1));
  } finally {
    clearInterval(rss);
    rmSync(dir, { recursive: true, force: true });
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
