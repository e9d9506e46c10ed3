import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../model/collections.js';
import { readRawEvents } from '../model/raw-events.js';
import { generateDataset } from '../test/dataset.js';
import { startTestServer, testRedis, type TestServer } from '../test/helpers.js';
import { expectFiguresMatchRecount, sendAll, waitForDrain } from '../test/pipeline-check.js';

const DAY = 86_400_000;
const isoDay = (d: number) => new Date(d * DAY).toISOString().slice(0, 10);

describe('ingest → aggregator → metrics routes, against a brute-force recount', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ STREAM_PARTITIONS: '8', AGGREGATOR_FOLD_MS: '600000' }, ['ingest', 'api', 'aggregator']);
  });
  afterAll(() => server.stop());

  it('shows exactly the recounted counts, DAU/WAU/MAU and retention for thousands of users over 45 days', async () => {
    const project = await server.createProject('pipeline');
    const yesterday = Math.floor(Date.now() / DAY) - 1;
    const dataset = generateDataset(7, 1500, 45, yesterday);
    await sendAll(server.url, project.writeKey, dataset.sends);
    const redis = testRedis();
    await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, 8);
    redis.disconnect();
    // No fold has run yet (AGGREGATOR_FOLD_MS): the routes add up documents and deltas.
    // (aggregator/recompute.integration.test.ts reads the rollups once folded.)
    expect(await server.running.runtime.mongo.db.collection(COLLECTIONS.rollupDeltas).countDocuments({ projectId: project.id })).toBeGreaterThan(0);
    await expectFiguresMatchRecount(server.url, project.readKey, dataset);
    expect(dataset.sends.length).toBeGreaterThan(5000);

    // Every raw event is stored exactly once, as sent.
    const stored = [];
    for await (const e of readRawEvents(server.running.runtime.mongo.db, { projectId: project.id, fromDay: dataset.firstDay, toDay: dataset.lastDay })) {
      stored.push({ event: e.event, userId: e.userId, eventId: e.eventId, timestamp: e.timestamp, properties: e.properties });
    }
    const byId = (a: { eventId: string }, b: { eventId: string }) => (a.eventId < b.eventId ? -1 : 1);
    expect(stored.sort(byId)).toEqual([...new Map(dataset.sends.map((e) => [e.eventId, e])).values()].sort(byId));

    // The event names a report picker lists: every name with its count, most sent first, as the dataset holds them.
    const counts = new Map<string, number>();
    for (const e of new Map(dataset.sends.map((s) => [s.eventId, s])).values()) counts.set(e.event, (counts.get(e.event) ?? 0) + 1);
    const names = (await (await fetch(`${server.url}/v1/events/names?from=${isoDay(dataset.firstDay)}&to=${isoDay(dataset.lastDay)}&limit=2`, { headers: { authorization: `Bearer ${project.readKey}` } })).json()) as { names: number; events: Array<{ name: string; count: number }> };
    const ranked = [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)).map(([name, count]) => ({ name, count }));
    expect(names).toEqual({ from: isoDay(dataset.firstDay), to: isoDay(dataset.lastDay), names: counts.size, events: ranked.slice(0, 2) });

    // The property keys a picker lists for one event: from the newest events, each key with the types seen.
    const viewed = (await (await fetch(`${server.url}/v1/properties?event=${ranked[0]!.name}`, { headers: { authorization: `Bearer ${project.readKey}` } })).json()) as { event: string; sampled: number; properties: Array<{ key: string; types: string[]; events: number }> };
    const recent = [...new Map(dataset.sends.map((s) => [s.eventId, s])).values()].filter((e) => e.event === ranked[0]!.name && e.timestamp >= (dataset.lastDay - 28) * DAY).length; // the last 30 days, today (no events) included
    expect(viewed.sampled).toBe(Math.min(recent, 10_000));
    expect(viewed.properties.find((p) => p.key === 'platform')).toEqual({ key: 'platform', types: ['string'], events: viewed.sampled });
    expect(viewed.properties.map((p) => p.key)).toContain('context.userAgent');

    // Invariant 4: another project's read key sees none of it.
    const other = await server.createProject('other');
    const day = (d: number) => new Date(d * DAY).toISOString().slice(0, 10);
    const get = async (path: string) => (await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${other.readKey}` } })).json() as Promise<Record<string, Array<Record<string, number>>>>;
    const users = await get(`/v1/metrics/active-users?window=month&from=${day(dataset.firstDay)}&to=${day(dataset.lastDay)}`);
    expect(users.series!.every((p) => p.users === 0)).toBe(true);
    expect((await get(`/v1/metrics/retention?from=${day(dataset.firstDay)}&to=${day(dataset.lastDay)}`)).cohorts).toEqual([]);
    const points = await get(`/v1/metrics/timeseries?event=page_view&granularity=day&from=${day(dataset.firstDay)}&to=${day(dataset.lastDay)}`);
    expect(points.points!.every((p) => p.count === 0)).toBe(true);
  }, 180_000);
});
