import type { Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { breakdownDimensions } from '../core/config.js';
import { breakdownValue } from '../model/breakdown-values.js';
import { COLLECTIONS, type CountDoc } from '../model/collections.js';
import { readRawEvents } from '../model/raw-events.js';
import { findRollups } from '../model/rollup-deltas.js';
import { bucketStart } from '../model/time-buckets.js';
import { readDeadLetters } from '../aggregator/dead-letters.js';
import { metricSum } from '../scripts/bench-stats.js';
import { seeded } from './dataset.js';
import { startTestServer, testRedis, waitFor } from './helpers.js';
import { hostileEvents } from './hostile-events.js';
import { connectLive, deltaTotals, type LiveClient } from './live-client.js';
import { sendAll, waitForDrain, waitForFolded } from './pipeline-check.js';

/**
 * The whole pipeline under hostile events (not only ingest's HTTP answers): a seeded
 * run of events of every shape through ingest, the aggregator, the gateway and the
 * alerts, beside a bystander project. Afterwards the bystander's events are counted
 * exactly (stored, rolled up, on its open dashboard, and its alert fired), the hostile
 * project's figures equal a recount of the raw events it got stored, nothing was
 * dead-lettered, and the metrics count what ingest refused.
 * PIPELINE_FUZZ_SEED=<n> replays a run; PIPELINE_FUZZ_EVENTS sets its length.
 */
const SEED = Number(process.env.PIPELINE_FUZZ_SEED ?? 20261207);
const EVENTS = Number(process.env.PIPELINE_FUZZ_EVENTS ?? 3000);
const PARTITIONS = 4;
const DAY = 86_400_000;

type Answer = { accepted: number; rejected: Array<{ index: number; errors: string[] }> };

/** Sends events in requests of at most `batch` (one at a time when a request is too large): the events accepted, and how many were refused. */
async function sendHostile(url: string, key: string, events: readonly unknown[], batch = 25): Promise<{ accepted: unknown[]; rejections: number }> {
  const accepted: unknown[] = [];
  let rejections = 0;
  const post = async (slice: readonly unknown[]): Promise<void> => {
    const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(slice) });
    if (res.status === 413 && slice.length > 1) {
      for (const one of slice) await post([one]);
      return;
    }
    const body = (await res.json()) as Answer;
    expect(res.status, JSON.stringify(body).slice(0, 300)).toBe(202);
    for (const r of body.rejected) expect(r.errors.length).toBeGreaterThan(0);
    const refused = new Set(body.rejected.map((r) => r.index));
    rejections += refused.size;
    slice.forEach((e, i) => {
      if (!refused.has(i)) accepted.push(e);
    });
  };
  for (let i = 0; i < events.length; i += batch) await post(events.slice(i, i + batch));
  return { accepted, rejections };
}

/** Adds `n` to `counts[key]`, an own field even when the key is "constructor". */
function bump(counts: Record<string, number>, key: string, n: number): void {
  counts[key] = (Object.hasOwn(counts, key) ? counts[key]! : 0) + n;
}

/** Each count document's count and breakdowns, summed over its folded document and unfolded changes. */
async function dayFigures(db: Db, projectId: string): Promise<Map<string, { count: number; by: Record<string, Record<string, number>> }>> {
  const figures = new Map<string, { count: number; by: Record<string, Record<string, number>> }>();
  for (const doc of await findRollups<CountDoc>(db, COLLECTIONS.countsDay, { projectId })) {
    const key = JSON.stringify([doc.event, doc.bucket.getTime()]);
    const figure = figures.get(key) ?? { count: 0, by: {} };
    figure.count += doc.count;
    for (const [dimension, values] of Object.entries(doc.by ?? {})) {
      for (const [value, n] of Object.entries(values)) bump((figure.by[dimension] ??= {}), value, n);
    }
    figures.set(key, figure);
  }
  for (const figure of figures.values()) {
    for (const [dimension, values] of Object.entries(figure.by)) {
      figure.by[dimension] = Object.fromEntries(Object.entries(values).filter(([, n]) => n !== 0));
    }
  }
  return figures;
}

describe('the whole pipeline under hostile events', () => {
  it(`counts a bystander exactly, and the hostile project as its raw events say (seed ${SEED})`, async () => {
    console.log(`pipeline fuzz: seed ${SEED} (PIPELINE_FUZZ_SEED=${SEED} replays it), ${EVENTS} events`);
    const server = await startTestServer(
      { STREAM_PARTITIONS: String(PARTITIONS), AGGREGATOR_FOLD_MS: '200', LIVE_FLUSH_MS: '20', ALERTS_RULES_REFRESH_MS: '200', INGEST_MAX_EVENT_NAMES_PER_HOUR: '300', INGEST_MAX_DIMENSION_VALUES_PER_DAY: '100' },
      ['ingest', 'aggregator', 'realtime', 'alerts', 'api'],
    );
    const dashboards: LiveClient[] = [];
    try {
      const hostile = (await server.createProject('hostile')) as { id: string; writeKey: string; readKey: string; adminKey: string };
      const bystander = (await server.createProject('bystander')) as { id: string; writeKey: string; readKey: string; adminKey: string };
      const rule = async (project: typeof hostile, body: unknown) => {
        const res = await fetch(`${server.url}/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${project.adminKey}` }, body: JSON.stringify(body) });
        expect(res.status).toBe(201);
        return ((await res.json()) as { id: string }).id;
      };
      // The alerts evaluate the hostile project's figures too, with a filter on a hostile value.
      await rule(hostile, { name: 'nul', metric: { type: 'count', event: 'view', where: { platform: 'a\u0000b' } }, condition: { kind: 'threshold', op: '>', value: 1, window: '5m' } });
      const steady = await rule(bystander, { name: 'steady', metric: { type: 'count', event: 'steady-0' }, condition: { kind: 'threshold', op: '>', value: 99, window: '5m' } });
      for (const project of [hostile, bystander]) {
        const dashboard = await connectLive(server.url, `?key=${project.readKey}`);
        dashboard.send({ type: 'subscribe', channels: ['events', 'activeUsers', 'alerts'] });
        await dashboard.waitFor((m) => m.some((x) => x.type === 'snapshot' && x.channel === 'events'), 'the events snapshot');
        dashboards.push(dashboard);
      }
      await new Promise((r) => setTimeout(r, 400)); // the evaluator picks the rules up

      const now = Date.now();
      const events = hostileEvents(seeded(SEED), EVENTS, now);
      const normal = Array.from({ length: 600 }, (_, i) => ({ event: `steady-${i % 5}`, userId: `b${i % 40}`, eventId: `s-${i}`, context: { platform: ['web', 'ios'][i % 2] } }));
      const [sent] = await Promise.all([sendHostile(server.url, hostile.writeKey, events), sendAll(server.url, bystander.writeKey, normal, 50, 1)]);
      expect(sent.rejections).toBeGreaterThan(EVENTS / 20);
      expect(sent.accepted.length).toBeGreaterThan(EVENTS / 6);

      const redis = testRedis();
      try {
        await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, PARTITIONS, 120_000);
        expect((await readDeadLetters(redis, server.config.REDIS_KEY_PREFIX, 100)).map((d) => `${d.reason}: ${d.payload.slice(0, 300)}`)).toEqual([]);
      } finally {
        redis.disconnect();
      }
      const db = server.running.runtime.mongo.db;
      for (const project of [hostile, bystander]) await waitForFolded(db, project.id, 120_000);

      // The bystander: stored, rolled up, live and alerted exactly.
      const sentByName = new Map<string, number>();
      for (const e of normal) sentByName.set(e.event, (sentByName.get(e.event) ?? 0) + 1);
      const today = bucketStart(now, 'day');
      const expected = new Map([...sentByName].map(([name, n]) => [JSON.stringify([name, today]), n]));
      expect(new Map([...(await dayFigures(db, bystander.id))].map(([key, f]) => [key, f.count]))).toEqual(expected);
      await dashboards[1]!.waitFor((m) => [...sentByName].every(([name, n]) => deltaTotals(m).get(name) === n), 'the bystander\'s dashboard adding up to what it sent', 10_000);
      await dashboards[1]!.waitFor((m) => m.some((x) => x.type === 'alert' && x.ruleId === steady && x.state === 'firing'), 'the bystander\'s alert firing', 10_000);

      // The hostile project: every figure is a recount of the raw events stored for it, and every accepted event is stored once.
      const dimensions = breakdownDimensions(server.config);
      const recount = new Map<string, { count: number; by: Record<string, Record<string, number>> }>();
      const ids = new Set<string>();
      for await (const e of readRawEvents(db, { projectId: hostile.id, fromDay: Math.floor(now / DAY) - 366, toDay: Math.floor(now / DAY) + 1 })) {
        expect(ids.has(e.eventId), `eventId ${e.eventId} stored twice`).toBe(false);
        ids.add(e.eventId);
        const key = JSON.stringify([e.event, bucketStart(e.timestamp, 'day')]);
        const figure = recount.get(key) ?? { count: 0, by: {} };
        figure.count++;
        for (const dimension of dimensions) {
          bump((figure.by[dimension] ??= {}), breakdownValue(e, dimension), 1);
        }
        recount.set(key, figure);
      }
      const acceptedIds = new Set(sent.accepted.flatMap((e) => ((e as { eventId?: string }).eventId === undefined ? [] : [(e as { eventId: string }).eventId])));
      const generated = sent.accepted.filter((e) => (e as { eventId?: string }).eventId === undefined).length;
      expect(ids.size).toBe(acceptedIds.size + generated);
      expect(await dayFigures(db, hostile.id)).toEqual(recount);

      // What was refused is counted, and the hostile dashboard is still served.
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(metricSum(text, 'signalboard_ingest_events_total', 'result="rejected"')).toBe(sent.rejections);
      expect(metricSum(text, 'signalboard_ingest_distinct_limited_total')).toBeGreaterThan(0);
      expect(dashboards[0]!.socket.readyState).toBe(dashboards[0]!.socket.OPEN);
      await waitFor(() => dashboards[0]!.messages.some((m) => m.type === 'delta'), 'a delta on the hostile project\'s dashboard');
    } finally {
      for (const d of dashboards) d.socket.terminate();
      await server.stop();
    }
  }, 300_000);
});
