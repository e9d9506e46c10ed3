import { BSON, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS, type CountDoc } from '../model/collections.js';
import { countsKey, partitionFor, streamKey, STREAM_FORMAT_VERSION, unconsumedEvents, type StampedEvent } from '../model/event-stream.js';
import { readRawEvents } from '../model/raw-events.js';
import { findRollups } from '../model/rollup-deltas.js';
import { readDeadLetters, type DeadLetter } from '../aggregator/dead-letters.js';
import { metricSum } from '../scripts/bench-stats.js';
import { startTestServer, testRedis, waitFor, type TestServer } from './helpers.js';
import { sendAll, waitForDrain, waitForFolded } from './pipeline-check.js';

/**
 * Events a public write key can send (or an older ingest let into the streams) that once
 * stopped the pipeline for every project: each is answered or set aside on its own, and
 * a bystander project's events are still counted exactly, folded and all.
 */
const PARTITIONS = 4;
const DAY = 86_400_000;

type Project = { id: string; writeKey: string; readKey: string };

async function post(server: TestServer, key: string, body: string): Promise<{ status: number; body: { accepted: number; rejected: Array<{ index: number; errors: string[] }> } }> {
  const res = await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
  return { status: res.status, body: (await res.json()) as never };
}

/** Sends `n` events for the bystander and waits until each is counted and every delta of both projects is folded. */
async function expectBystanderCounted(server: TestServer, bystander: Project, n: number, event: string, others: Project[] = []): Promise<void> {
  const events = Array.from({ length: n }, (_, i) => ({ event, userId: `b${i % 50}`, eventId: `${event}-${i}`, context: { platform: 'web' } }));
  await sendAll(server.url, bystander.writeKey, events);
  const redis = testRedis();
  try {
    await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, PARTITIONS, 60_000);
  } finally {
    redis.disconnect();
  }
  const db = server.running.runtime.mongo.db;
  for (const project of [bystander, ...others]) await waitForFolded(db, project.id, 60_000);
  expect(await storedAndCounted(db, bystander.id, event)).toEqual({ stored: n, counted: n });
}

/** Raw events of one name stored for a project, and that name's day rollups, folded or not. */
async function storedAndCounted(db: Db, projectId: string, event: string): Promise<{ stored: number; counted: number }> {
  const today = Math.floor(Date.now() / DAY);
  let stored = 0;
  for await (const e of readRawEvents(db, { projectId, fromDay: today - 1, toDay: today + 1 })) if (e.event === event) stored++;
  const days = await findRollups<CountDoc>(db, COLLECTIONS.countsDay, { projectId, event });
  return { stored, counted: days.reduce((a, d) => a + d.count, 0) };
}

/** Every dead letter, as `signalboard dead-letters` lists them. */
async function deadLetters(server: TestServer): Promise<DeadLetter[]> {
  const redis = testRedis();
  try {
    return await readDeadLetters(redis, server.config.REDIS_KEY_PREFIX, 1000);
  } finally {
    redis.disconnect();
  }
}

async function metrics(server: TestServer): Promise<string> {
  return (await fetch(`${server.url}/metrics`)).text();
}

describe('poison events: nothing a write key sends stops the pipeline for anyone', () => {
  let server: TestServer;
  let db: Db;
  beforeAll(async () => {
    server = await startTestServer({ STREAM_PARTITIONS: String(PARTITIONS), AGGREGATOR_FOLD_MS: '100' }, ['ingest', 'api', 'aggregator']);
    db = server.running.runtime.mongo.db;
  });
  afterAll(() => server.stop());

  it('a NUL in a breakdown value is counted under a storable name, and folding goes on for everyone', async () => {
    const poisoner = await server.createProject('nul');
    const bystander = await server.createProject('bystander-nul');
    const sent = await post(server, poisoner.writeKey, JSON.stringify([{ event: 'x', userId: 'a1', context: { platform: 'a\u0000b' } }]));
    expect(sent).toEqual({ status: 202, body: { accepted: 1, rejected: [] } });
    await expectBystanderCounted(server, bystander, 300, 'after-nul', [poisoner]);

    const today = Math.floor(Date.now() / DAY) * DAY;
    const q = `event=x&granularity=day&from=${new Date(today).toISOString()}&to=${new Date(today + DAY - 1).toISOString()}&breakdown=platform`;
    const res = await fetch(`${server.url}/v1/metrics/timeseries?${q}`, { headers: { authorization: `Bearer ${poisoner.readKey}` } });
    const body = (await res.json()) as { breakdown: { values: Array<{ value: string; total: number }> } };
    expect(body.breakdown.values.map((v) => [v.value, v.total])).toEqual([['a\uFFFDb', 1]]);
  }, 120_000);

  it('deltas an older version wrote that no fold could write: one with a NUL in a name folds under the storable name, one the server refuses is dead-lettered alone; everything else is folded', async () => {
    const poisoner = await server.createProject('old-deltas');
    const bystander = await server.createProject('bystander-deltas');
    await expectBystanderCounted(server, bystander, 100, 'before-deltas');
    // Deltas of committed batches, as the version before this fix could write them.
    const partitions = (await db.collection(COLLECTIONS.partitions).findOne({ _id: 'partitions' as never }))!;
    const part = [...Array(PARTITIONS).keys()].find((p) => ((partitions[`p${p}`] as { seq?: number } | undefined)?.seq ?? 0) >= 1)!;
    const bucket = new Date(Math.floor(Date.now() / DAY) * DAY);
    const change = (event: string, value: string) => ({ _id: `${poisoner.id}|${bucket.getTime()}|${event}`, projectId: poisoner.id, event, bucket, count: 1, by: { platform: { [value]: 1 } }, expireAt: new Date(bucket.getTime() + 400 * DAY) });
    const nul = change('nul', 'a\u0000b');
    // A value that was never escaped: the server refuses a field name starting with "$" (BadValue), every time.
    const refused = change('refused', '$where');
    const deltas = db.collection(COLLECTIONS.rollupDeltas);
    await deltas.insertOne({ _id: `${poisoner.id}|${part}|1` as never, projectId: poisoner.id, part, seq: 1, changes: BSON.EJSON.stringify({ counts_day: [nul, refused] }, { relaxed: true }) });

    await expectBystanderCounted(server, bystander, 300, 'after-deltas', [poisoner]);
    const [folded] = await findRollups<CountDoc>(db, COLLECTIONS.countsDay, { projectId: poisoner.id, event: 'nul' });
    expect(folded).toMatchObject({ count: 1, by: { platform: { 'a\uFFFDb': 1 } } });
    const letters = (await deadLetters(server)).filter((d) => d.reason === 'unwritable rollup document');
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ partition: part, entry: `${part}:1`, at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(BSON.EJSON.parse(letters[0]!.payload, { relaxed: true })).toMatchObject({ collection: COLLECTIONS.countsDay, id: refused._id, pieces: [{ part, seq: 1, change: { count: 1 } }] });
    expect(metricSum(await metrics(server), 'signalboard_aggregator_dead_letters_total', 'reason="unwritable rollup document"')).toBe(1);
  }, 120_000);

  it('names and ids that are not valid Unicode are refused at ingest, and dead-lettered when an older ingest let them into a stream', async () => {
    const poisoner = await server.createProject('surrogates');
    const bystander = await server.createProject('bystander-surrogates');
    // JSON.stringify writes a lone surrogate as the escape "\ud800", as a client's JSON would.
    const sent = await post(server, poisoner.writeKey, JSON.stringify([{ event: 'a\ud800', userId: 'u' }, { event: 'ok', anonymousId: '\udc00x' }, { event: 'ok', userId: 'u1' }]));
    expect(sent.status).toBe(202);
    expect(sent.body.accepted).toBe(1);
    expect(sent.body.rejected).toEqual([
      { index: 0, errors: ['event: is not valid Unicode (it holds an unpaired UTF-16 surrogate)'] },
      { index: 1, errors: ['anonymousId: is not valid Unicode (it holds an unpaired UTF-16 surrogate)'] },
    ]);

    const old: StampedEvent = { eventId: 'old-1', projectId: poisoner.id, event: 'ok', userId: 'v\ud800', timestamp: Date.now(), receivedAt: Date.now(), context: {} };
    const prefix = server.config.REDIS_KEY_PREFIX;
    await server.running.runtime.redis.sbAppendEvents(streamKey(prefix, 0), countsKey(prefix, 0), STREAM_FORMAT_VERSION, 1, JSON.stringify([old]));
    await expectBystanderCounted(server, bystander, 300, 'after-surrogates', [poisoner]);
    const letters = (await deadLetters(server)).filter((d) => d.reason.startsWith('unstorable'));
    expect(letters.map((d) => [d.reason, (JSON.parse(d.payload) as StampedEvent).eventId])).toEqual([['unstorable: userId is not valid Unicode (it holds an unpaired UTF-16 surrogate)', 'old-1']]);
    expect(await storedAndCounted(db, poisoner.id, 'ok')).toEqual({ stored: 1, counted: 1 });
  }, 120_000);
});

describe('poison events: a burst of large events with many distinct names', () => {
  it('is stored and counted in documents MongoDB can hold, however large one batch would be', async () => {
    // Ingest alone first, so the whole burst waits in one partition's stream and the aggregator meets it as a backlog.
    const dims = 'platform,country,appVersion,d4,d5,d6,d7,d8';
    // With the distinct-name and -value limits lifted (a deployment may): sizes alone must hold.
    const ingest = await startTestServer({ STREAM_PARTITIONS: '1', INGEST_MAX_BODY_BYTES: String(2 * 1024 * 1024), INGEST_MAX_EVENT_NAMES_PER_HOUR: '0', INGEST_MAX_DIMENSION_VALUES_PER_DAY: '0' }, ['ingest', 'api']);
    const project = await ingest.createProject('burst');
    const value = (i: number, d: number) => `${i}-${d}-${'値'.repeat(32)}`;
    const events = Array.from({ length: 6400 }, (_, i) => ({
      event: `${i}-${'名'.repeat(64)}`,
      userId: `u${i % 100}`,
      eventId: `burst-${i}`,
      context: Object.fromEntries(dims.split(',').map((d, k) => [d, value(i, k)])),
    }));
    await Promise.all(Array.from({ length: 8 }, (_, k) => sendAll(ingest.url, project.writeKey, events.slice(k * 800, (k + 1) * 800), 800, 1)));

    const aggregator = await startTestServer(
      { STREAM_PARTITIONS: '1', AGGREGATOR_FOLD_MS: '100', AGGREGATOR_DIMENSIONS: dims, REDIS_KEY_PREFIX: ingest.config.REDIS_KEY_PREFIX, MONGODB_URL: ingest.config.MONGODB_URL! },
      ['aggregator'],
    );
    try {
      const redis = testRedis();
      await waitForDrain(redis, ingest.config.REDIS_KEY_PREFIX, 1, 120_000).finally(() => redis.disconnect());
      const db = aggregator.running.runtime.mongo.db;
      await waitForFolded(db, project.id, 120_000);
      let stored = 0;
      for await (const doc of db.collection(COLLECTIONS.rawEvents).find({ projectId: project.id }, { projection: { n: 1 } })) stored += doc.n as number;
      const days = await findRollups<CountDoc>(db, COLLECTIONS.countsDay, { projectId: project.id });
      expect({ stored, counted: days.reduce((n, d) => n + d.count, 0), names: new Set(days.map((d) => d.event)).size }).toEqual({ stored: 6400, counted: 6400, names: 6400 });
      expect(await deadLetters(aggregator)).toEqual([]);
    } finally {
      await aggregator.running.stop();
      await ingest.stop();
    }
  }, 300_000);
});

describe('poison events: a batch the store refuses for a reason nothing checked before', () => {
  it('sets its partition aside, logged once and metered, while every other partition goes on', async () => {
    const server = await startTestServer({ STREAM_PARTITIONS: String(PARTITIONS), AGGREGATOR_FOLD_MS: '100' }, ['ingest', 'api', 'aggregator']);
    try {
      const project = await server.createProject('stall');
      // No ingest takes an eventId of 17 MB (128 ASCII characters at most): its eventId document is too large for MongoDB.
      const poison: StampedEvent = { eventId: 'x'.repeat(17 * 1024 * 1024), projectId: project.id, event: 'poison', userId: 'p', timestamp: Date.now(), receivedAt: Date.now(), context: {} };
      const prefix = server.config.REDIS_KEY_PREFIX;
      await server.running.runtime.redis.sbAppendEvents(streamKey(prefix, 0), countsKey(prefix, 0), STREAM_FORMAT_VERSION, 1, JSON.stringify([poison]));

      const users = Array.from({ length: 400 }, (_, i) => `u${i}`).filter((u) => partitionFor(project.id, u, PARTITIONS) !== 0);
      const events = users.map((userId, i) => ({ event: 'bystander', userId, eventId: `b-${i}` }));
      await sendAll(server.url, project.writeKey, events);
      const db = server.running.runtime.mongo.db;
      await waitFor(async () => (await storedAndCounted(db, project.id, 'bystander')).counted === events.length, 'the other partitions counted', 60_000);
      expect(await storedAndCounted(db, project.id, 'bystander')).toEqual({ stored: events.length, counted: events.length });
      // The other partitions may have been counted before partition 0's turn to be tried alone came.
      await waitFor(async () => metricSum(await metrics(server), 'signalboard_aggregator_partitions_stalled') === 1, 'partition 0 set aside');
      const redis = testRedis();
      try {
        expect(await unconsumedEvents(redis, prefix, [0])).toEqual([1]);
      } finally {
        redis.disconnect();
      }
    } finally {
      await server.stop();
    }
  }, 120_000);
});

describe('poison events: distinct names and values per project are bounded', () => {
  it('refuses new event names past the hour\'s limit and counts new breakdown values past the day\'s as (other), exactly as the raw events say, and other projects are untouched', async () => {
    const server = await startTestServer({ STREAM_PARTITIONS: String(PARTITIONS), AGGREGATOR_FOLD_MS: '100', INGEST_MAX_EVENT_NAMES_PER_HOUR: '5', INGEST_MAX_DIMENSION_VALUES_PER_DAY: '3' }, ['ingest', 'api', 'aggregator']);
    try {
      const flood = await server.createProject('flood');
      const bystander = await server.createProject('bystander-flood');
      // 8 names: the first 5 are admitted; a known name stays accepted afterwards.
      const names = Array.from({ length: 8 }, (_, i) => ({ event: `name-${i}`, userId: 'u', eventId: `n-${i}` }));
      const sent = await post(server, flood.writeKey, JSON.stringify([...names, { event: 'name-0', userId: 'u', eventId: 'n-again' }]));
      expect(sent.status).toBe(202);
      expect(sent.body.accepted).toBe(6);
      expect(sent.body.rejected.map((r) => r.index)).toEqual([5, 6, 7]);
      expect(sent.body.rejected[0]!.errors[0]).toMatch(/^event: the project already sent 5 distinct event names this hour.*INGEST_MAX_EVENT_NAMES_PER_HOUR/);

      // 6 platforms in one name: 3 named, then the rest (and a repeat of a new one) as (other); (none) never counts.
      const platforms = ['ios', 'web', 'android', 'tv', 'car', 'tv', 'web'];
      const views = [...platforms.map((platform, i) => ({ event: 'name-0', userId: `p${i}`, eventId: `v-${i}`, context: { platform } })), { event: 'name-0', userId: 'none', eventId: 'v-none' }];
      expect((await post(server, flood.writeKey, JSON.stringify(views))).body).toEqual({ accepted: views.length, rejected: [] });
      // The bystander's names and values are its own.
      const own = Array.from({ length: 5 }, (_, i) => ({ event: `own-${i}`, userId: 'b', eventId: `own-${i}`, context: { platform: `own-${i % 3}` } }));
      expect((await post(server, bystander.writeKey, JSON.stringify(own))).body).toEqual({ accepted: 5, rejected: [] });

      const redis = testRedis();
      await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, PARTITIONS, 60_000).finally(() => redis.disconnect());
      const today = Math.floor(Date.now() / DAY) * DAY;
      const breakdown = async (project: Project, event: string) => {
        const q = `event=${event}&granularity=day&from=${new Date(today).toISOString()}&to=${new Date(today + DAY - 1).toISOString()}&breakdown=platform`;
        const body = (await (await fetch(`${server.url}/v1/metrics/timeseries?${q}`, { headers: { authorization: `Bearer ${project.readKey}` } })).json()) as { breakdown: { values: Array<{ value: string; total: number }> } };
        return Object.fromEntries(body.breakdown.values.map((v) => [v.value, v.total]));
      };
      expect(await breakdown(flood, 'name-0')).toEqual({ ios: 1, web: 2, android: 1, '(none)': 3, '(other)': 3 });
      expect(await breakdown(bystander, 'own-4')).toEqual({ 'own-1': 1 });
      // The raw events carry the decision, so a recount (or a recompute) agrees with the figures.
      const db = server.running.runtime.mongo.db;
      const overflowed = [];
      for await (const e of readRawEvents(db, { projectId: flood.id, fromDay: today / DAY, toDay: today / DAY })) if (e.overflow !== undefined) overflowed.push([e.eventId, e.overflow]);
      expect(overflowed.sort()).toEqual([['v-3', ['platform']], ['v-4', ['platform']], ['v-5', ['platform']]]);
      const text = await metrics(server);
      expect(metricSum(text, 'signalboard_ingest_distinct_limited_total', 'kind="name_refused"')).toBe(3);
      expect(metricSum(text, 'signalboard_ingest_distinct_limited_total', 'kind="value_other"')).toBe(3);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
