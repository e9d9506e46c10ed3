import { describe, expect, it } from 'vitest';
import { ApiClient, ApiError, errorOf, NetworkError, type FetchLike } from './api-client.js';

function fakeFetch(status: number, body: string, headers: Record<string, string> = {}) {
  const calls: { url: string; init?: Parameters<FetchLike>[1] }[] = [];
  const fetchFn: FetchLike = (url, init) => {
    calls.push({ url, init });
    return Promise.resolve({ status, headers: { get: (name: string) => headers[name] ?? null }, text: () => Promise.resolve(body) });
  };
  return { calls, fetchFn };
}

describe('the API client', () => {
  it('sends the read key as a Bearer header, relative to the page', async () => {
    const { calls, fetchFn } = fakeFetch(200, '{"id":"p1","name":"Shop"}');
    expect(await new ApiClient('https://sb.example/board/', 'sbr_k', fetchFn).project()).toEqual({ id: 'p1', name: 'Shop' });
    expect(calls[0]).toMatchObject({ url: 'https://sb.example/board/v1/project', init: { method: 'GET', headers: { authorization: 'Bearer sbr_k' } } });
  });

  it('asks for a time series with ISO bounds and the granularity', async () => {
    const { calls, fetchFn } = fakeFetch(200, '{"points":[{"t":"2026-11-23T10:00:00.000Z","count":3}]}');
    const points = await new ApiClient('/', 'k', fetchFn).timeseries('sign up', 'hour', Date.parse('2026-11-23T08:00:00Z'), Date.parse('2026-11-23T10:00:00Z'));
    expect(points).toEqual([{ t: '2026-11-23T10:00:00.000Z', count: 3 }]);
    expect(calls[0]!.url).toBe('/v1/metrics/timeseries?event=sign+up&from=2026-11-23T08%3A00%3A00.000Z&to=2026-11-23T10%3A00%3A00.000Z&granularity=hour');
  });

  it('creates a rule with the admin key, naming the project', async () => {
    const { calls, fetchFn } = fakeFetch(201, '{"id":"al_1","name":"n"}');
    await new ApiClient('/', 'sbr_k', fetchFn).createRule({ name: 'n' }, 'sba_admin', 'p 1');
    expect(calls[0]).toMatchObject({ url: '/v1/alerts?project=p%201', init: { method: 'POST', headers: { authorization: 'Bearer sba_admin', 'content-type': 'application/json' }, body: '{"name":"n"}' } });
  });

  it("turns an error answer into an ApiError with the server's code and message", async () => {
    const { fetchFn } = fakeFetch(401, '{"error":{"code":"SB_AUTH_INVALID","message":"the key is not valid for any project"}}');
    const err = await new ApiClient('/', 'k', fetchFn).project().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 401, code: 'SB_AUTH_INVALID', message: 'the key is not valid for any project', keyRefused: true });
  });

  it.each([
    [429, '{"error":{"code":"SB_AUTH_THROTTLED","message":"wait"}}', '7', { code: 'SB_AUTH_THROTTLED', retryAfterSeconds: 7, keyRefused: false }],
    [503, 'the dashboard is not built', null, { code: 'HTTP_503', message: 'the dashboard is not built' }],
    [502, '<html>' + 'x'.repeat(400), null, { code: 'HTTP_502', message: 'the server answered 502' }],
  ])('reads an error answer %i', (status, body, retryAfter, expected) => {
    expect(errorOf(status, body, retryAfter)).toMatchObject(expected);
  });

  it('tells a server that did not answer from one that refused', async () => {
    const client = new ApiClient('/', 'k', () => Promise.reject(new TypeError('Failed to fetch')));
    await expect(client.project()).rejects.toBeInstanceOf(NetworkError);
  });

  it('keeps only well-formed history entries', async () => {
    const { fetchFn } = fakeFetch(200, JSON.stringify({ firings: [{ id: 'a', ruleId: 'r', name: 'n', state: 'firing', value: 1, at: '2026-01-01T00:00:00.000Z', firing: 1 }, { nonsense: true }] }));
    expect(await new ApiClient('/', 'k', fetchFn).history(20)).toHaveLength(1);
  });
});
