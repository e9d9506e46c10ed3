import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/helpers.js';

describe('metrics routes: parameters and keys', () => {
  let server: TestServer;
  let keys: { id: string; readKey: string; writeKey: string };
  beforeAll(async () => {
    server = await startTestServer({}, ['api']);
    keys = await server.createProject('params');
  });
  afterAll(() => server.stop());

  const get = async (path: string, key = keys.readKey) => {
    const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
  };

  it.each([
    ['/v1/metrics/active-users?window=year&from=2026-01-01&to=2026-01-02', /^window:/],
    ['/v1/events/names?from=2026-01-01', /^to:/],
    ['/v1/properties?event=', /^event: must not be empty/],
    ['/v1/properties?events=a', /^events: not a parameter of this route \(it takes event\)/],
    ['/v1/events/names?from=2026-01-01&to=2026-01-02&limit=1001', /^limit: must be at most 1000$/],
    ['/v1/events/names?from=2024-01-01&to=2026-03-01', /^to: the range may span at most 400 days/],
    ['/v1/metrics/active-users?from=2026-01-01', /^to:/],
    ['/v1/metrics/active-users?from=2026-02-30&to=2026-03-01', /^from: must be a date as YYYY-MM-DD/],
    ['/v1/metrics/active-users?from=2026-03-02&to=2026-03-01', /^to: must not be before from/],
    ['/v1/metrics/active-users?from=2024-01-01&to=2026-03-01', /^to: the range may span at most 400 days/],
    ['/v1/metrics/retention?from=2026-01-01&to=2026-01-10&period=month', /^period:/],
    ['/v1/metrics/retention?from=2026-01-01&to=2026-01-10&horizon=999', /^horizon: must be at most 180 days/],
    ['/v1/metrics/retention?from=2026-01-01&to=2026-01-10&horizon=-1', /^horizon: must be a whole number/],
    ['/v1/metrics/timeseries?from=2026-01-01&to=2026-01-02', /^event:/],
    ['/v1/metrics/timeseries?event=a&from=yesterday&to=2026-01-02', /^from: must be an ISO-8601/],
    ['/v1/metrics/timeseries?event=a&from=2026-01-01&to=2026-01-02&granularity=second', /^granularity:/],
    ['/v1/metrics/timeseries?event=a&from=2026-01-01&to=2026-03-01&granularity=minute', /more than 10000 minutes; use a coarser granularity/],
    ['/v1/metrics/timeseries?event=a&from=2026-01-01&to=2026-01-02&breakdown=os', /^breakdown: must be a dimension the aggregator counts: platform, country, appVersion$/],
    ['/v1/metrics/timeseries?event=a&from=2026-01-01&to=2026-01-02&breakdown=platform&limit=51', /^limit: must be at most 50$/],
    ['/v1/metrics/timeseries?event=a&from=2026-01-01&to=2026-01-02&breakdown=platform&limit=two', /^limit:/],
    // One date rule and one range rule for every route.
    ['/v1/metrics/timeseries?event=a&from=2026-02-30&to=2026-03-05&granularity=day', /^from: must be an ISO-8601 date or date-time, got "2026-02-30"/],
    ['/v1/metrics/timeseries?event=a&from=2000-01-01&to=2026-12-01&granularity=day', /^to: the range may span at most 400 days/],
    // Strict parameters: given twice, unknown, or shaped like an operator.
    ['/v1/metrics/active-users?from=2026-01-01&to=2026-01-02&to=2026-01-03', /^to: given more than once$/],
    ['/v1/metrics/active-users?from=2026-01-01&to=2026-01-02&windw=week', /^windw: not a parameter of this route \(it takes window, from, to\)$/],
    ['/v1/metrics/timeseries?event=a&from=2026-01-01&to=2026-01-02&granularity[]=day', /^granularity\[\]: not a parameter of this route/],
  ])('%s → 400 naming the parameter', async (path, message) => {
    const res = await get(path);
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ code: 'SB_PARAM_INVALID', message: expect.stringMatching(message) });
  });

  it('answers empty figures for a quiet range, every day and bucket present', async () => {
    expect((await get('/v1/metrics/active-users?from=2026-01-01&to=2026-01-03')).body).toEqual({
      series: [{ date: '2026-01-01', users: 0 }, { date: '2026-01-02', users: 0 }, { date: '2026-01-03', users: 0 }],
    });
    expect((await get('/v1/metrics/retention?from=2026-01-01&to=2026-01-03')).body).toEqual({ period: 'day', cohorts: [] });
    const series = await get('/v1/metrics/timeseries?event=a&from=2026-01-01T00:00:00Z&to=2026-01-01T02:59:59Z&granularity=hour');
    expect(series.body).toEqual({ points: ['00', '01', '02'].map((h) => ({ t: `2026-01-01T${h}:00:00.000Z`, count: 0 })) });
  });

  it("refuses ?project= naming another project than the key's, and takes its own", async () => {
    const other = await server.createProject('another');
    const path = '/v1/metrics/active-users?from=2026-01-01&to=2026-01-02';
    const res = await get(`${path}&project=${encodeURIComponent(other.id)}`);
    expect(res.status).toBe(403);
    expect(res.body.error).toEqual({ code: 'SB_PROJECT_MISMATCH', message: expect.stringContaining(`?project=${other.id} is not the project of this key`) });
    expect((await get(`${path}&project=${encodeURIComponent(keys.id)}`)).status).toBe(200);
  });

  it('refuses write keys and unknown keys', async () => {
    expect((await get('/v1/metrics/active-users?from=2026-01-01&to=2026-01-01', keys.writeKey)).body.error?.code).toBe('SB_AUTH_WRONG_KEY');
    expect((await get('/v1/metrics/active-users?from=2026-01-01&to=2026-01-01', 'sbr_not-a-key')).status).toBe(401);
  });
});
