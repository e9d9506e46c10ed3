import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from '../core/redis.js';
import { markRawDaysChanged } from '../live/raw-day-versions.js';
import { startTestServer, testRedis, type TestServer } from './helpers.js';
import { sendAll, waitForDrain } from './pipeline-check.js';
import { addDays, bruteFunnel, bruteQuantile, localDay, personsOf, reportEvents, type ReportTestEvent } from './report-dataset.js';

const DAY = 86_400_000;

interface TrendsAnswer {
  result: { intervals: string[]; results: Array<{ series: string; label: string; breakdown?: string; period: string; values: Array<number | null>; total: number | null }> };
  cached: boolean;
}

describe('POST /v1/reports/query: trends over the raw events, against a brute-force recount', () => {
  let server: TestServer;
  let redis: Redis;
  let project: { id: string; writeKey: string; readKey: string };
  let other: { id: string; writeKey: string; readKey: string };
  const now = Date.now();
  const data = reportEvents(28, 300, 20, now);
  let events: ReportTestEvent[] = data.unique;

  const query = async (key: string, definition: unknown) => {
    const res = await fetch(`${server.url}/v1/reports/query`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify(definition) });
    return { status: res.status, body: (await res.json()) as TrendsAnswer & { error?: { code: string; message: string } } };
  };
  const drain = () => waitForDrain(redis, server.config.REDIS_KEY_PREFIX, server.config.STREAM_PARTITIONS);

  beforeAll(async () => {
    server = await startTestServer({}, ['ingest', 'aggregator', 'api']);
    redis = testRedis();
    project = await server.createProject('reports');
    other = await server.createProject('reports-other');
    await sendAll(server.url, project.writeKey, data.sends);
    // The other project sends the same names: none of it may show in the first one's reports.
    await sendAll(server.url, other.writeKey, data.unique.slice(0, 200).map((e) => ({ ...e, eventId: `other-${e.eventId}` })));
    await drain();
  }, 120_000);

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  /** The local days of the last `n` days in a zone, oldest first, and a brute-force value per day. */
  const perDay = (zone: string, n: number, value: (inDay: ReportTestEvent[], day: string) => number | null) => {
    const today = localDay(now, zone);
    const days = Array.from({ length: n }, (_, i) => addDays(today, i - n + 1));
    return days.map((day) => value(events.filter((e) => localDay(Date.parse(e.timestamp), zone) === day), day));
  };

  it('counts events, distinct persons (identities merged) and weekly active persons per local day, in UTC and in a zone with DST', async () => {
    const person = personsOf(events);
    for (const zone of ['UTC', 'America/New_York']) {
      const { status, body } = await query(project.readKey, {
        kind: 'trends',
        last: '14d',
        timezone: zone,
        interval: 'day',
        series: [{ event: 'view' }, { event: 'view', math: 'users' }, { event: 'buy', math: 'wau' }],
      });
      expect(status).toBe(200);
      const [total, users, wau] = body.result.results;
      const views = (inDay: ReportTestEvent[]) => inDay.filter((e) => e.event === 'view');
      expect(total!.values).toEqual(perDay(zone, 14, (inDay) => views(inDay).length));
      expect(users!.values).toEqual(perDay(zone, 14, (inDay) => new Set(views(inDay).map(person)).size));
      expect(wau!.values).toEqual(
        perDay(zone, 14, (_, day) => new Set(events.filter((e) => e.event === 'buy' && localDay(Date.parse(e.timestamp), zone) > addDays(day, -7) && localDay(Date.parse(e.timestamp), zone) <= day && Date.parse(e.timestamp) <= now).map(person)).size),
      );
      expect(body.result.intervals).toHaveLength(14);
      expect(total!.total).toBe(total!.values.reduce((a, b) => a! + b!, 0));
    }
  });

  it('breaks down by a property with top-N, (other) and (none), filters, numeric maths, a formula and the previous period', async () => {
    const zone = 'UTC';
    const { body } = await query(project.readKey, {
      kind: 'trends',
      last: '7d',
      interval: 'day',
      compare: true,
      series: [{ event: 'buy', math: 'sum', property: 'amount', filters: [{ property: 'context.country', op: 'neq', value: 'FR' }] }],
      breakdown: { property: 'plan', limit: 2 },
    });
    const amount = (e: ReportTestEvent) => (typeof e.properties.amount === 'number' ? e.properties.amount : typeof e.properties.amount === 'string' ? Number(e.properties.amount) : undefined);
    const label = (e: ReportTestEvent) => (e.properties.plan === undefined || e.properties.plan === '' ? '(none)' : (e.properties.plan as string));
    const buys = (inDay: ReportTestEvent[]) => inDay.filter((e) => e.event === 'buy' && e.context?.country !== 'FR');
    const sum = (xs: ReportTestEvent[]) => xs.reduce((a, e) => a + (amount(e) ?? 0), 0);
    // Rank by the current period's sums; the first two, then the rest as (other).
    const totals = new Map<string, number>();
    for (const e of buys(events.filter((e) => localDay(Date.parse(e.timestamp), zone) >= addDays(localDay(now, zone), -6)))) totals.set(label(e), (totals.get(label(e)) ?? 0) + (amount(e) ?? 0));
    const ranked = [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([l]) => l);
    const top = ranked.slice(0, 2);
    const rows = body.result.results.filter((r) => r.period === 'current');
    expect(rows.map((r) => r.breakdown)).toEqual(ranked.length > 2 ? [...top, '(other)'] : top);
    for (const row of rows) {
      const inRow = (e: ReportTestEvent) => (row.breakdown === '(other)' ? !top.includes(label(e)) : label(e) === row.breakdown);
      const expected = perDay(zone, 7, (inDay) => sum(buys(inDay).filter(inRow)));
      row.values.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    }
    // The previous period: the 7 days before, same rows.
    const previous = body.result.results.filter((r) => r.period === 'previous');
    expect(previous.map((r) => r.breakdown)).toEqual(rows.map((r) => r.breakdown));
    const all = previous.reduce((a, r) => a + r.total!, 0);
    const expectedPrevious = sum(buys(events.filter((e) => { const d = localDay(Date.parse(e.timestamp), zone); return d >= addDays(localDay(now, zone), -13) && d <= addDays(localDay(now, zone), -7); })));
    expect(all).toBeCloseTo(expectedPrevious, 6);

    const stats = await query(project.readKey, { kind: 'trends', last: '14d', interval: 'week', series: [{ event: 'buy', math: 'median', property: 'amount' }, { event: 'buy', math: 'p90', property: 'amount' }] });
    const inRange = events.filter((e) => e.event === 'buy' && localDay(Date.parse(e.timestamp), 'UTC') >= addDays(localDay(now, 'UTC'), -13) && amount(e) !== undefined);
    expect(stats.body.result.results[0]!.total).toBeCloseTo(bruteQuantile(inRange.map((e) => amount(e)!), 0.5), 6);
    expect(stats.body.result.results[1]!.total).toBeCloseTo(bruteQuantile(inRange.map((e) => amount(e)!), 0.9), 6);

    const formula = await query(project.readKey, { kind: 'trends', last: '7d', interval: 'day', series: [{ event: 'buy' }, { event: 'view' }], formula: 'A / B * 100' });
    const expected = perDay('UTC', 7, (inDay) => {
      const b = inDay.filter((e) => e.event === 'view').length;
      return b === 0 ? null : (inDay.filter((e) => e.event === 'buy').length / b) * 100;
    });
    expect(formula.body.result.results.map((r) => r.series)).toEqual(['formula']);
    formula.body.result.results[0]!.values.forEach((v, i) => (expected[i] === null ? expect(v).toBeNull() : expect(v).toBeCloseTo(expected[i]!, 9)));
  });

  it('counts stickiness: persons by the number of days they viewed in the range', async () => {
    const person = personsOf(events);
    const { status, body } = await query(project.readKey, { kind: 'stickiness', last: '14d', interval: 'day', event: 'view' });
    expect(status).toBe(200);
    const first = addDays(localDay(now, 'UTC'), -13);
    const days = new Map<string, Set<string>>();
    for (const e of events) {
      const day = localDay(Date.parse(e.timestamp), 'UTC');
      if (e.event === 'view' && day >= first) days.set(person(e), (days.get(person(e)) ?? new Set()).add(day));
    }
    const counts = new Array<number>(14).fill(0);
    for (const set of days.values()) counts[set.size - 1]!++;
    expect((body.result as unknown as { counts: number[] }).counts).toEqual(counts);
  });

  it('counts an ordered funnel with a window and a breakdown by the first step, as an exhaustive search does', async () => {
    const person = personsOf(events);
    const { status, body } = await query(project.readKey, {
      kind: 'funnel',
      last: '14d',
      steps: [{ event: 'view' }, { event: 'signup' }, { event: 'buy' }],
      window: { value: 3, unit: 'day' },
      breakdown: { property: 'plan', attribution: 'step', step: 0 },
    });
    expect(status).toBe(200);
    const result = body.result as unknown as { steps: Array<{ count: number }>; breakdowns: Array<{ value: string; steps: Array<{ count: number }> }> };
    const from = Date.parse(`${addDays(localDay(now, 'UTC'), -13)}T00:00:00Z`);
    const brute = bruteFunnel(events, person, ['view', 'signup', 'buy'], from, now + 1, 3 * DAY);
    const reached = (k: number, of: Iterable<{ furthest: number }>) => [...of].filter((p) => p.furthest >= k).length;
    expect(result.steps.map((s) => s.count)).toEqual([0, 1, 2].map((k) => reached(k, brute.values())));
    expect(result.steps[2]!.count).toBeGreaterThan(0);
    const label = (e: ReportTestEvent) => (e.properties.plan === undefined || e.properties.plan === '' ? '(none)' : (e.properties.plan as string));
    for (const row of result.breakdowns) {
      const inRow = [...brute.values()].filter((p) => label(p.start) === row.value);
      expect({ value: row.value, counts: row.steps.map((s) => s.count) }).toEqual({ value: row.value, counts: [0, 1, 2].map((k) => reached(k, inRow)) });
    }
    expect(result.breakdowns.reduce((a, b) => a + b.steps[0]!.count, 0)).toBe(brute.size);
  });

  it('counts weekly first-time retention and daily lifecycle as a recount does', async () => {
    const person = personsOf(events);
    const time = (e: ReportTestEvent) => Date.parse(e.timestamp);
    const from = Date.parse(`${addDays(localDay(now, 'UTC'), -13)}T00:00:00Z`);
    const monday = (ms: number) => addDays(localDay(ms, 'UTC'), -((new Date(ms).getUTCDay() + 6) % 7));
    const retention = await query(project.readKey, { kind: 'retention', last: '14d', period: 'week', type: 'first_time', startEvent: { event: 'signup' }, returnEvent: { event: 'buy' } });
    expect(retention.status).toBe(200);
    const cohorts = (retention.body.result as unknown as { cohorts: Array<{ cohort: string; size: number; retained: number[] }> }).cohorts;
    const weeks = cohorts.map((c) => c.cohort.slice(0, 10));
    const firstSignup = new Map<string, number>();
    for (const e of events) if (e.event === 'signup' && time(e) < (firstSignup.get(person(e)) ?? Infinity)) firstSignup.set(person(e), time(e));
    const expected = weeks.map((week, c) => {
      const members = [...firstSignup].filter(([, t]) => t >= from && monday(t) === week).map(([p]) => p);
      const retained = weeks.slice(c).map((later, k) => (k === 0 ? members.length : members.filter((p) => events.some((e) => e.event === 'buy' && person(e) === p && time(e) >= from && monday(time(e)) === later)).length));
      return { cohort: `${week}T00:00:00.000Z`, size: members.length, retained };
    });
    expect(cohorts).toEqual(expected);
    expect(cohorts.some((c) => c.retained.length > 1 && c.retained[1]! > 0)).toBe(true);

    const lifecycle = await query(project.readKey, { kind: 'lifecycle', last: '7d', interval: 'day', event: 'view' });
    const got = lifecycle.body.result as unknown as { new: number[]; returning: number[]; resurrecting: number[]; dormant: number[] };
    const firstSeen = new Map<string, string>();
    for (const e of [...events].sort((a, b) => time(a) - time(b))) if (!firstSeen.has(person(e))) firstSeen.set(person(e), localDay(time(e), 'UTC'));
    const activeOn = (day: string) => new Set(events.filter((e) => e.event === 'view' && localDay(time(e), 'UTC') === day).map(person));
    const days = Array.from({ length: 7 }, (_, i) => addDays(localDay(now, 'UTC'), i - 6));
    const want = { new: [] as number[], returning: [] as number[], resurrecting: [] as number[], dormant: [] as number[] };
    for (const day of days) {
      const [today, before] = [activeOn(day), activeOn(addDays(day, -1))];
      want.new.push([...today].filter((p) => firstSeen.get(p) === day).length);
      want.returning.push([...today].filter((p) => firstSeen.get(p) !== day && before.has(p)).length);
      want.resurrecting.push([...today].filter((p) => firstSeen.get(p) !== day && !before.has(p)).length);
      want.dormant.push(-[...before].filter((p) => !today.has(p)).length);
    }
    expect({ new: got.new, returning: got.returning, resurrecting: got.resurrecting, dormant: got.dormant }).toEqual(want);
  });

  it('answers the same question from the cache until an event arrives, then counts the late event in its old day', async () => {
    const definition = { kind: 'trends', last: '14d', interval: 'day', series: [{ event: 'signup' }] };
    const first = await query(project.readKey, definition);
    const again = await query(project.readKey, definition);
    expect(again.body.cached).toBe(true);
    expect(again.body.result).toEqual(first.body.result);

    // A late event for a day whose segment is held: only that day is rebuilt, and counted.
    const late: ReportTestEvent = { event: 'signup', userId: 'late-person', eventId: 'late-1', timestamp: new Date(now - 5 * DAY).toISOString(), properties: {} };
    await sendAll(server.url, project.writeKey, [late, late]);
    await drain();
    events = [...events, late];
    const after = await query(project.readKey, definition);
    expect(after.body.cached).toBe(false);
    expect(after.body.result.results[0]!.values).toEqual(perDay('UTC', 14, (inDay) => inDay.filter((e) => e.event === 'signup').length));
    expect(after.body.result.results[0]!.total).toBe(first.body.result.results[0]!.total! + 1);
  });

  it('refuses a report that would read more events than the bound, and stops one that runs past its time', async () => {
    // Other api processes over the same data, each with one tight bound and nothing in memory yet.
    const over = async (setting: Record<string, string>, definition: unknown) => {
      const tight = await startTestServer({ REDIS_KEY_PREFIX: server.config.REDIS_KEY_PREFIX, MONGODB_URL: server.config.MONGODB_URL!, ...setting }, ['api']);
      try {
        const res = await fetch(`${tight.url}/v1/reports/query`, { method: 'POST', headers: { authorization: `Bearer ${project.readKey}` }, body: JSON.stringify(definition) });
        return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
      } finally {
        // Not tight.stop(): that drops the database the main server shares.
        await tight.running.stop();
      }
    };
    const big = await over({ REPORTS_MAX_EVENTS: '1000' }, { kind: 'trends', last: '30d', interval: 'week', series: [{ event: 'buy' }, { event: 'view', math: 'users' }] });
    expect({ status: big.status, code: big.body.error.code }).toEqual({ status: 400, code: 'SB_PARAM_INVALID' });
    expect(big.body.error.message).toMatch(/would read more than 1000 events \(REPORTS_MAX_EVENTS\) over the 31 days it needs; narrow the range/);
    // A year of days to read for first events, from a cold cache: past 100 ms.
    const slow = await over({ REPORTS_TIMEOUT_MS: '100' }, { kind: 'lifecycle', last: '2d', interval: 'hour', event: 'signup' });
    expect({ status: slow.status, code: slow.body.error.code }).toEqual({ status: 503, code: 'SB_REPORT_TIMEOUT' });
    expect(slow.body.error.message).toMatch(/did not finish within 100 ms \(REPORTS_TIMEOUT_MS/);
  });

  it('reads a closed day from its stored segment in a process that starts cold, and builds the day again once its counter moved', async () => {
    const archived = await server.createProject('reports-archive');
    const day = (daysAgo: number) => Math.floor(now / DAY) - daysAgo;
    const at = (daysAgo: number, hour: number) => new Date(day(daysAgo) * DAY + hour * 3_600_000).toISOString();
    const sent: ReportTestEvent[] = [3, 3, 3, 2, 2, 1].map((daysAgo, i) => ({ event: 'open', userId: `a${i}`, eventId: `archive-${i}`, timestamp: at(daysAgo, 10 + i), properties: {} }));
    await sendAll(server.url, archived.writeKey, sent);
    await drain();
    const definition = (math: string) => ({ kind: 'trends', last: '5d', interval: 'day', timezone: 'UTC', series: [{ event: 'open', math }] });
    const expected = [0, 3, 2, 1, 0];
    expect((await query(archived.readKey, definition('total'))).body.result.results[0]!.values).toEqual(expected);

    const db = server.running.runtime.mongo.db;
    const stored = await db.collection('report_segments').find({ projectId: archived.id }).toArray();
    expect(stored.map((d) => Math.floor((d.day as Date).getTime() / DAY)).sort()).toEqual([day(3), day(2), day(1)]);
    // Day -3's events leave the raw buckets behind the counters' back: only its stored segment still holds them.
    const raw = db.collection('raw_events');
    expect((await raw.deleteMany({ _id: { $gte: `${archived.id}|${day(3)}|`, $lt: `${archived.id}|${day(3)}}` } } as never)).deletedCount).toBeGreaterThan(0);

    const cold = async (math: string) => {
      const fresh = await startTestServer({ REDIS_KEY_PREFIX: server.config.REDIS_KEY_PREFIX, MONGODB_URL: server.config.MONGODB_URL! }, ['api']);
      try {
        const res = await fetch(`${fresh.url}/v1/reports/query`, { method: 'POST', headers: { authorization: `Bearer ${archived.readKey}` }, body: JSON.stringify(definition(math)) });
        return ((await res.json()) as TrendsAnswer).result.results[0]!.values;
      } finally {
        await fresh.running.stop();
      }
    };
    expect(await cold('users')).toEqual(expected);
    // The aggregator bumps a day's counter after storing into it: the stored segment is stale, the raw buckets are read again.
    await markRawDaysChanged(redis, server.config.REDIS_KEY_PREFIX, new Map([[archived.id, new Set([day(3)])]]), new Set());
    expect(await cold('wau')).toEqual([0, 0, 2, 3, 3]);
  });

  it("never reads another project's events", async () => {
    const { body } = await query(other.readKey, { kind: 'trends', last: '30d', interval: 'month', series: [{ event: 'view' }, { event: 'buy' }, { event: 'signup' }] });
    const mine = data.unique.slice(0, 200);
    expect(body.result.results.map((r) => r.total)).toEqual(['view', 'buy', 'signup'].map((n) => mine.filter((e) => e.event === n).length));
  });

  it('answers a bad definition with a 400 naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ kind: 'pie', last: '7d' }, /kind: must be one of trends, funnel/],
      [{ kind: 'funnel', last: '7d', steps: [{ event: 'a' }] }, /steps: must hold 2 to 10 steps/],
      [{ kind: 'trends', last: '7d', interval: 'day', series: [{ event: 'x', math: 'total', extra: 1 }] }, /series\.0: Unrecognized key/i],
      [{ kind: 'trends', from: '2016-01-01', to: '2026-01-01', interval: 'day', series: [{ event: 'x' }] }, /to: the range spans more than 366 days/],
      [{ kind: 'trends', from: '2026-02-01', to: '2026-01-01', interval: 'day', series: [{ event: 'x' }] }, /to: 2026-01-01 is before 2026-02-01/],
      [{ kind: 'trends', last: '7d', timezone: 'Mars/Olympus', interval: 'day', series: [{ event: 'x' }] }, /timezone: "Mars\/Olympus" is not an IANA time zone/],
      [{ kind: 'trends', last: '7d', interval: 'minute', series: [{ event: 'x' }] }, /interval: minute intervals over this range would be more than 2000 points/],
      [{ kind: 'trends', last: '7d', interval: 'day', series: [{ event: 'x', filters: [{ property: '__proto__', op: 'eq', value: 1 }] }] }, /series\.0\.filters\.0\.property: must not be "__proto__"/],
      [{ kind: 'trends', last: '7d', interval: 'day', series: [{ event: 'x' }], formula: 'A + process.exit()' }, /formula:/],
    ];
    for (const [definition, message] of cases) {
      const { status, body } = await query(project.readKey, definition);
      expect({ status, code: body.error?.code }).toEqual({ status: 400, code: 'SB_PARAM_INVALID' });
      expect(body.error!.message).toMatch(message);
    }
    expect((await query(project.writeKey, { kind: 'trends', last: '7d', interval: 'day', series: [{ event: 'x' }] })).status).toBe(401);
  });
});
