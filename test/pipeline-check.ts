import type { Db } from 'mongodb';
import { expect } from 'vitest';
import { COLLECTIONS, type CountDoc } from '../model/collections.js';
import type { RawBucketDoc } from '../model/raw-events.js';
import { findRollups } from '../model/rollup-deltas.js';
import { allPartitions, unconsumedEvents } from '../model/event-stream.js';
import type { Redis } from '../core/redis.js';
import { recount, type Dataset } from './dataset.js';

const DAY = 86_400_000;
const isoDay = (day: number) => new Date(day * DAY).toISOString().slice(0, 10);

/** Sends events in batches, several requests at a time; a 503 or 429 is retried after Retry-After with the same eventIds. */
export async function sendAll(url: string, writeKey: string, events: readonly unknown[], batchSize = 250, concurrency = 4): Promise<void> {
  const batches: unknown[][] = [];
  for (let i = 0; i < events.length; i += batchSize) batches.push(events.slice(i, i + batchSize));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      for (let attempt = 0; ; attempt++) {
        const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${writeKey}` }, body: JSON.stringify(batch) });
        const body = (await res.json()) as { accepted?: number; rejected?: unknown[] };
        if (res.status === 202) {
          expect(body).toEqual({ accepted: batch.length, rejected: [] });
          break;
        }
        if ((res.status !== 503 && res.status !== 429) || attempt > 50) throw new Error(`send failed: ${res.status} ${JSON.stringify(body)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Waits until the aggregator has committed every event ingest appended. */
export async function waitForDrain(redis: Redis, prefix: string, partitions: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let behind = 0;
  while (Date.now() < deadline) {
    behind = (await unconsumedEvents(redis, prefix, allPartitions(partitions))).reduce((a, b) => a + b, 0);
    if (behind === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the aggregator is still ${behind} events behind after ${timeoutMs} ms`);
}

/** Waits until the aggregator has folded every rollup delta of the project into the rollup documents. */
export async function waitForFolded(db: Db, projectId: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let left = 0;
  while (Date.now() < deadline) {
    left = await db.collection(COLLECTIONS.rollupDeltas).countDocuments({ projectId });
    if (left === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${left} rollup deltas of project ${projectId} still not folded after ${timeoutMs} ms`);
}

async function get<T>(url: string, readKey: string, path: string): Promise<T> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${readKey}` } });
  const body = (await res.json()) as T;
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Every figure the three metrics routes show equals the brute-force recount of the raw events sent. */
export async function expectFiguresMatchRecount(url: string, readKey: string, dataset: Dataset, horizonDays = 30, horizonWeeks = 6): Promise<void> {
  const truth = recount(dataset.sends, horizonDays, horizonWeeks, dataset.lastDay);
  const { firstDay, lastDay } = dataset;
  const until = lastDay + 29;

  for (const [window, expected] of [['day', truth.dau], ['week', truth.wau], ['month', truth.mau]] as const) {
    const { series } = await get<{ series: Array<{ date: string; users: number }> }>(url, readKey, `/v1/metrics/active-users?window=${window}&from=${isoDay(firstDay)}&to=${isoDay(until)}`);
    const want = Array.from({ length: until - firstDay + 1 }, (_, i) => ({ date: isoDay(firstDay + i), users: expected.get(firstDay + i) ?? 0 }));
    expect(series, `active users, window=${window}`).toEqual(want);
  }

  const daily = await get<{ cohorts: unknown[] }>(url, readKey, `/v1/metrics/retention?from=${isoDay(firstDay)}&to=${isoDay(lastDay)}&period=day&horizon=${horizonDays}`);
  const wantDaily = [...truth.retentionDaily].sort(([a], [b]) => a - b).map(([cohort, row]) => ({ cohort: isoDay(cohort), size: row[0], retained: row }));
  expect(daily.cohorts, 'daily retention').toEqual(wantDaily);

  const weekly = await get<{ cohorts: unknown[] }>(url, readKey, `/v1/metrics/retention?from=${isoDay(firstDay)}&to=${isoDay(lastDay)}&period=week&horizon=${horizonWeeks}`);
  const wantWeekly = [...truth.retentionWeekly].sort(([a], [b]) => a - b).map(([cohort, row]) => ({ cohort: isoDay(cohort), size: row[0], retained: row }));
  expect(weekly.cohorts, 'weekly retention').toEqual(wantWeekly);

  const names = [...new Set(dataset.sends.map((e) => e.event))];
  for (const name of names) {
    for (const [granularity, from, to, size] of [
      ['day', firstDay * DAY, (lastDay + 1) * DAY - 1, DAY],
      ['hour', firstDay * DAY, (lastDay + 1) * DAY - 1, 3_600_000],
      ['minute', lastDay * DAY, lastDay * DAY + 6 * 3_600_000 - 1, 60_000],
    ] as const) {
      const path = `/v1/metrics/timeseries?event=${name}&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&granularity=${granularity}`;
      const { points } = await get<{ points: Array<{ t: string; count: number }> }>(url, readKey, path);
      const want = [];
      for (let t = from; t <= to; t += size) want.push({ t: new Date(t).toISOString(), count: truth.counts[granularity].get(`${name}|${t}`) ?? 0 });
      expect(points, `timeseries ${name} by ${granularity}`).toEqual(want);
    }
    // Broken down by platform: each platform's day counts, every platform present.
    const from = firstDay * DAY;
    const to = (lastDay + 1) * DAY - 1;
    const { breakdown } = await get<{ breakdown: { dimension: string; values: Array<{ value: string; points: Array<{ t: string; count: number }> }> } }>(
      url, readKey, `/v1/metrics/timeseries?event=${name}&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&granularity=day&breakdown=platform`,
    );
    const platforms = [...new Set(dataset.sends.filter((e) => e.event === name).map((e) => e.properties.platform))].sort();
    const got = Object.fromEntries(breakdown.values.map((v) => [v.value, v.points]));
    const wantByPlatform = Object.fromEntries(platforms.map((platform) => {
      const want = [];
      for (let t = from; t <= to; t += DAY) want.push({ t: new Date(t).toISOString(), count: truth.dayCountsByPlatform.get(`${name}|${platform}|${t}`) ?? 0 });
      return [platform, want];
    }));
    expect(got, `timeseries ${name} by day and platform`).toEqual(wantByPlatform);
  }
}

/** How many `event` events the project counted in the three hours around now (hourly buckets summed). */
export async function recentTotal(url: string, readKey: string, event: string): Promise<number> {
  const from = new Date(Date.now() - 2 * 3600_000).toISOString();
  const to = new Date(Date.now() + 3600_000).toISOString();
  const { points } = await get<{ points: { count: number }[] }>(url, readKey, `/v1/metrics/timeseries?event=${encodeURIComponent(event)}&granularity=hour&from=${from}&to=${to}`);
  return points.reduce((sum, p) => sum + p.count, 0);
}

/** All raw events stored for a project, and the day rollups' total of one of its events. */
export async function storedAndRolledUp(db: Db, projectId: string, event: string): Promise<{ stored: number; rolledUp: number }> {
  let stored = 0;
  for await (const doc of db.collection<RawBucketDoc>(COLLECTIONS.rawEvents).find({ projectId }, { projection: { events: 0 } })) stored += doc.n;
  const days = await findRollups<CountDoc>(db, COLLECTIONS.countsDay, { projectId, event });
  return { stored, rolledUp: days.reduce((a, d) => a + d.count, 0) };
}
