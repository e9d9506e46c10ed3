import type { BreakdownValue } from './breakdown-rows.js';
import type { Granularity } from '../model/time-buckets.js';
import { isAlert, type Alert, type Cohort } from './live-messages.js';
import type { RuleView } from './live-model.js';

/** An answer other than 2xx, with the server's error code and message (docs/api.md#errors). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly retryAfterSeconds?: number) {
    super(message);
    this.name = 'ApiError';
  }

  /** The key itself was refused: asking again with it cannot help. */
  get keyRefused(): boolean {
    return this.status === 401;
  }
}

/** The server could not be reached at all (network down, server stopped). */
export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkError';
  }
}

export type FetchLike = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

/** The error an answer carries: its `{"error": {"code", "message"}}`, or a plain description. */
export function errorOf(status: number, text: string, retryAfter: string | null): ApiError {
  let code = `HTTP_${status}`;
  let message = `the server answered ${status}`;
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    if (text.trim() !== '' && text.length < 300) message = text.trim();
  }
  const seconds = retryAfter === null ? undefined : Number(retryAfter);
  return new ApiError(status, code, message, seconds !== undefined && Number.isFinite(seconds) ? seconds : undefined);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The REST routes the dashboard reads (docs/api.md), with the read key; relative to the page, so a path prefix in front works. */
export class ApiClient {
  constructor(private readonly base: string, private readonly readKey: string, private readonly fetchFn: FetchLike) {}

  project(): Promise<{ id: string; name: string; dimensions: string[] }> {
    return this.get('v1/project');
  }

  async dauToday(today: string): Promise<number> {
    const { series } = await this.get<{ series: { date: string; users: number }[] }>(`v1/metrics/active-users?window=day&from=${today}&to=${today}`);
    return series.find((s) => s.date === today)?.users ?? 0;
  }

  async timeseries(event: string, granularity: Granularity, from: number, to: number): Promise<{ t: string; count: number }[]> {
    const q = new URLSearchParams({ event, from: iso(from), to: iso(to), granularity });
    const { points } = await this.get<{ points: { t: string; count: number }[] }>(`v1/metrics/timeseries?${q}`);
    return points;
  }

  /** The event's counts over the buckets from `from` to `to` per value of `dimension`, most events first. */
  async breakdown(event: string, granularity: Granularity, from: number, to: number, dimension: string): Promise<BreakdownValue[]> {
    const q = new URLSearchParams({ event, from: iso(from), to: iso(to), granularity, breakdown: dimension });
    const { breakdown } = await this.get<{ breakdown: { values: BreakdownValue[] } }>(`v1/metrics/timeseries?${q}`);
    return breakdown.values.map(({ value, total }) => ({ value, total }));
  }

  async retention(from: string, to: string, horizon: number): Promise<Cohort[]> {
    const { cohorts } = await this.get<{ cohorts: Cohort[] }>(`v1/metrics/retention?from=${from}&to=${to}&period=day&horizon=${horizon}`);
    return cohorts;
  }

  async alerts(): Promise<RuleView[]> {
    return (await this.get<{ alerts: RuleView[] }>('v1/alerts')).alerts;
  }

  async history(limit: number): Promise<Alert[]> {
    const { firings } = await this.get<{ firings: unknown[] }>(`v1/alerts/history?limit=${limit}`);
    return firings.filter(isAlert);
  }

  /**
   * Creates an alert rule with an admin key (a project admin key, or the admin token:
   * `?project=` names the project for it, and a project key accepts its own id).
   */
  createRule(rule: unknown, adminKey: string, projectId: string): Promise<RuleView> {
    return this.request('POST', `v1/alerts?project=${encodeURIComponent(projectId)}`, adminKey, JSON.stringify(rule));
  }

  private get<T>(path: string): Promise<T> {
    return this.request('GET', path, this.readKey);
  }

  private async request<T>(method: string, path: string, key: string, body?: string): Promise<T> {
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await this.fetchFn(this.base + path, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body,
      });
    } catch (err) {
      throw new NetworkError(`Signalboard did not answer (${(err as Error).message})`);
    }
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw errorOf(res.status, text, res.headers.get('retry-after'));
    return JSON.parse(text) as T;
  }
}
