import { dayNumber, formatDay } from '../model/time-buckets.js';
import { describeRule, thresholdRule, type ThresholdFormValues } from './alert-rule-form.js';
import { ApiError, type ApiClient } from './api-client.js';
import { BreakdownPanel } from './breakdown-panel.js';
import { baseQueries, chartRange, chartSeries, foldPoints, GRANULARITIES, type Granularity } from './chart-series.js';
import { EventChart, Sparkline } from './charts.js';
import { byId, el, replaceChildrenIfChanged } from './dom.js';
import { currentRate, rateSeries, topEvents } from './event-rates.js';
import { formatBucket, formatCount, formatDuration, formatRate, formatTime } from './format.js';
import { FrameScheduler } from './frame-scheduler.js';
import { LiveConnection, type ConnectionState, type SocketLike } from './live-connection.js';
import { CHANNELS } from './live-messages.js';
import { LiveModel, type Panel } from './live-model.js';
import { heatmapRows } from './retention-cells.js';

export interface BoardOptions {
  project: { id: string; name: string; dimensions: string[] };
  readKey: string;
  api: ApiClient;
  /** Where /v1/live is (ws:// or wss://). */
  liveUrl: string;
  /** The read key stopped working (refused by the API or the live feed). */
  onKeyRefused(message: string): void;
}

const TOP_EVENTS = 10;
const RETENTION_DAYS = 14;
const RETENTION_HORIZON = 13;
const RECENT_ALERTS = 20;
const RANGE_TEXT: Record<Granularity, string> = { minute: 'the last 60 minutes', hour: 'the last 48 hours', day: 'the last 30 days' };
const PREFS = 'signalboard.chart';
/** A chart query that failed is tried again after this long, not every second. */
const BASE_RETRY_MS = 10_000;

function readPrefs(): { event?: string; granularity?: Granularity } {
  try {
    const prefs = JSON.parse(localStorage.getItem(PREFS) ?? '{}') as { event?: unknown; granularity?: unknown };
    return {
      event: typeof prefs.event === 'string' && prefs.event !== '' ? prefs.event : undefined,
      granularity: GRANULARITIES.includes(prefs.granularity as Granularity) ? (prefs.granularity as Granularity) : undefined,
    };
  } catch {
    return {};
  }
}

function savePrefs(prefs: { event: string | null; granularity: Granularity }): void {
  try {
    localStorage.setItem(PREFS, JSON.stringify(prefs));
  } catch {
    // Storage refused (private mode, quota): the choice lasts until the page closes.
  }
}

const messageOf = (err: unknown) => (err instanceof ApiError ? `${err.message} (${err.code})` : err instanceof Error ? err.message : String(err));

/**
 * The live board: the DOM around the pure model. Messages and REST answers update the
 * model; one animation frame redraws what they changed.
 */
export class Board {
  private readonly model = new LiveModel();
  private readonly connection: LiveConnection;
  private readonly scheduler: FrameScheduler;
  private readonly sparkline: Sparkline;
  private readonly chart: EventChart;
  private readonly breakdown: BreakdownPanel;
  private readonly listeners = new AbortController();
  private readonly loadErrors = new Map<Panel, string>();
  private state: ConnectionState = { kind: 'connecting', attempt: 0 };
  private clockOffset = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private lostAt: number | null = null;
  private serverError: { message: string; until: number } | null = null;
  private today = '';

  private chartEvent: string | null;
  private granularity: Granularity;
  private base = new Map<number, number>();
  private baseKey = '';
  private baseLoading = false;
  private baseError: string | null = null;
  private baseRetryAt = 0;
  private generation = 0;
  private chartEnd = 0;
  private dirty = { tick: true, chart: true, connection: true };

  constructor(private readonly options: BoardOptions) {
    const prefs = readPrefs();
    this.chartEvent = prefs.event ?? null;
    this.granularity = prefs.granularity ?? 'minute';
    this.scheduler = new FrameScheduler((callback) => requestAnimationFrame(() => callback()), () => this.render());
    this.sparkline = new Sparkline(byId('eps-spark'));
    this.chart = new EventChart(byId('chart'), () => (window.matchMedia('(max-width: 40rem)').matches ? 220 : 260));
    this.breakdown = new BreakdownPanel(options.api, options.project.dimensions, (message) => options.onKeyRefused(message), this.listeners.signal, () => this.invalidate('chart'));
    this.connection = new LiveConnection({
      url: options.liveUrl,
      key: options.readKey,
      channels: CHANNELS,
      createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>), now: () => Date.now() },
      resumePoint: () => this.model.resumePoint(),
      onMessage: (m) => {
        this.model.receive(m);
        this.scheduler.invalidate();
      },
      onLost: () => this.model.connectionLost(),
      onState: (s) => this.connectionState(s),
      onServerError: (e) => {
        this.serverError = { message: `The live feed reported: ${e.message}`, until: Date.now() + 15_000 };
        this.invalidate('connection');
      },
      onClockOffset: (offset) => {
        this.clockOffset = Math.abs(offset) < 250 ? 0 : offset;
      },
    });
  }

  start(): void {
    this.bind();
    const { name } = this.options.project;
    byId('project-name').textContent = name;
    document.title = `${name} · Signalboard`;
    (byId<HTMLInputElement>('chart-event')).value = this.chartEvent ?? '';
    for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="granularity"]')) radio.checked = radio.value === this.granularity;
    this.connection.start();
    this.loadDaily();
    this.loadAlerts();
    this.ticker = setInterval(() => this.tick(), 1000);
    this.tick();
  }

  stop(): void {
    clearInterval(this.ticker);
    this.connection.stop();
    this.listeners.abort();
    byId<HTMLInputElement>('rule-admin-key').value = '';
  }

  private now(): number {
    return Date.now() + this.clockOffset;
  }

  private invalidate(what?: 'chart' | 'connection'): void {
    if (what !== undefined) this.dirty[what] = true;
    this.scheduler.invalidate();
  }

  private failed(panel: Panel, what: string, err: unknown): void {
    if (err instanceof ApiError && err.keyRefused) {
      this.options.onKeyRefused(err.message);
      return;
    }
    this.loadErrors.set(panel, `${what} could not be loaded: ${messageOf(err)}`);
    this.scheduler.invalidate();
  }

  /** DAU today and the retention cohorts from the API (the live snapshots replace them). */
  private loadDaily(): void {
    const { api } = this.options;
    const day = dayNumber(this.now());
    this.today = formatDay(day);
    const today = this.today;
    api.dauToday(today).then((users) => {
      this.loadErrors.delete('activeUsers');
      this.model.loadDau(today, users);
      this.scheduler.invalidate();
    }, (err: unknown) => this.failed('activeUsers', 'DAU', err));
    api.retention(formatDay(day - RETENTION_DAYS + 1), today, RETENTION_HORIZON).then((cohorts) => {
      this.loadErrors.delete('retention');
      this.model.loadRetention(cohorts);
      this.scheduler.invalidate();
    }, (err: unknown) => this.failed('retention', 'Retention', err));
  }

  private loadAlerts(): void {
    const { api } = this.options;
    Promise.all([api.alerts(), api.history(RECENT_ALERTS)]).then(([rules, history]) => {
      this.loadErrors.delete('alerts');
      this.model.loadAlerts(rules, history);
      this.scheduler.invalidate();
    }, (err: unknown) => this.failed('alerts', 'Alerts', err));
  }

  private connectionState(s: ConnectionState): void {
    this.state = s;
    if (s.kind === 'refused') {
      this.options.onKeyRefused(s.message);
      return;
    }
    if (s.kind === 'live') this.lostAt = null;
    if (s.kind === 'waiting') this.lostAt ??= Date.now();
    this.invalidate('connection');
  }

  private tick(): void {
    const now = this.now();
    this.model.prune(now);
    if (formatDay(dayNumber(now)) !== this.today) {
      // A new UTC day: the live feed sends fresh snapshots; the API's figures are reread for when it does not.
      this.loadDaily();
    }
    if (this.serverError !== null && Date.now() > this.serverError.until) this.serverError = null;
    const end = chartRange(this.granularity, now).end;
    if (end !== this.chartEnd) this.dirty.chart = true;
    this.dirty.tick = true;
    this.dirty.connection = true;
    this.ensureBase(now);
    this.scheduler.invalidate();
  }

  // ---- the chart's API part -------------------------------------------------------

  private setChart(event: string | null, granularity: Granularity, save: boolean): void {
    const changed = event !== this.chartEvent || granularity !== this.granularity;
    this.chartEvent = event;
    this.granularity = granularity;
    if (save) savePrefs({ event, granularity });
    if (!changed) return;
    (byId<HTMLInputElement>('chart-event')).value = event ?? '';
    this.ensureBase(this.now());
    this.invalidate('chart');
  }

  /** Reads the buckets before the live minutes from the API when the chart's event, granularity or live start changed. */
  private ensureBase(now: number): void {
    const event = this.chartEvent;
    if (event === null) return;
    const range = chartRange(this.granularity, now);
    const { liveFrom } = this.model;
    const key = JSON.stringify([event, this.granularity, liveFrom ?? `until ${range.end}`]);
    if (key === this.baseKey || (this.baseError !== null && Date.now() < this.baseRetryAt && key === this.baseKeyFailed)) return;
    this.baseKey = key;
    const generation = ++this.generation;
    const granularity = this.granularity;
    const queries = baseQueries(range, liveFrom);
    this.baseLoading = queries.length > 0;
    this.base = new Map();
    Promise.all(queries.map((q) => this.options.api.timeseries(event, q.granularity, q.from, q.to))).then((answers) => {
      if (generation !== this.generation) return;
      const base = new Map<number, number>();
      for (const points of answers) foldPoints(base, points, granularity);
      this.base = base;
      this.baseLoading = false;
      this.baseError = null;
      this.invalidate('chart');
    }, (err: unknown) => {
      if (generation !== this.generation) return;
      if (err instanceof ApiError && err.keyRefused) {
        this.options.onKeyRefused(err.message);
        return;
      }
      this.baseLoading = false;
      this.baseError = messageOf(err);
      this.baseKeyFailed = key;
      this.baseKey = '';
      this.baseRetryAt = Date.now() + BASE_RETRY_MS;
      this.invalidate('chart');
    });
  }

  private baseKeyFailed = '';

  // ---- DOM events -----------------------------------------------------------------

  private bind(): void {
    const signal = this.listeners.signal;
    const chartEvent = byId<HTMLInputElement>('chart-event');
    const choose = () => {
      const name = chartEvent.value.trim();
      if (name !== '') this.setChart(name, this.granularity, true);
    };
    byId('chart-form').addEventListener('submit', (e) => {
      e.preventDefault();
      choose();
    }, { signal });
    chartEvent.addEventListener('change', choose, { signal });
    for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="granularity"]')) {
      radio.addEventListener('change', () => {
        if (radio.checked) this.setChart(this.chartEvent, radio.value as Granularity, true);
      }, { signal });
    }
    byId('top-events').addEventListener('click', (e) => {
      const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-event]');
      if (button?.dataset.event !== undefined) this.setChart(button.dataset.event, this.granularity, true);
    }, { signal });
    byId('reconnect').addEventListener('click', () => this.connection.reconnectNow(), { signal });
    window.addEventListener('online', () => this.connection.reconnectNow(), { signal });
    window.addEventListener('offline', () => this.connection.offline(), { signal });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') {
        this.connection.reconnectNow();
        this.tick();
      }
    }, { signal });

    const metric = byId<HTMLSelectElement>('rule-metric');
    const metricChanged = () => {
      const count = metric.value === 'count';
      byId('rule-event-field').hidden = !count;
      byId('rule-window-field').hidden = !count;
    };
    metric.addEventListener('change', metricChanged, { signal });
    metricChanged();
    const form = byId<HTMLFormElement>('rule-form');
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.createRule(form);
    }, { signal });
  }

  private createRule(form: HTMLFormElement): void {
    const field = (id: string) => byId<HTMLInputElement | HTMLSelectElement>(id);
    const ids: Record<keyof ThresholdFormValues, string> = { name: 'rule-name', metric: 'rule-metric', event: 'rule-event', op: 'rule-op', value: 'rule-value', window: 'rule-window', adminKey: 'rule-admin-key' };
    const values = Object.fromEntries(Object.entries(ids).map(([k, id]) => [k, field(id).value])) as unknown as ThresholdFormValues;
    const error = byId('rule-error');
    const done = byId('rule-done');
    error.textContent = '';
    done.textContent = '';
    for (const id of Object.values(ids)) field(id).removeAttribute('aria-invalid');
    const result = thresholdRule(values);
    if (!result.ok) {
      error.textContent = result.message;
      const bad = field(ids[result.field]);
      bad.setAttribute('aria-invalid', 'true');
      bad.focus();
      return;
    }
    const submit = form.querySelector<HTMLButtonElement>('button[type="submit"]')!;
    submit.disabled = true;
    this.options.api.createRule(result.rule, result.adminKey, this.options.project.id).then((rule) => {
      done.textContent = `Rule “${rule.name}” created: ${describeRule(rule)}.`;
      field('rule-name').value = '';
      this.loadAlerts();
    }, (err: unknown) => {
      // The admin key's refusal is the form's business: the read key still works.
      error.textContent = err instanceof ApiError ? `The server refused the rule: ${err.message} (${err.code})` : `The rule was not created: ${messageOf(err)}`;
    }).finally(() => {
      submit.disabled = false;
    });
  }

  // ---- rendering (one animation frame) -----------------------------------------------

  private render(): void {
    const now = this.now();
    const changes = this.model.takeChanges();
    const events = changes.panels.has('events');
    const tick = this.dirty.tick;
    if (events || tick) {
      this.renderRate(now);
      this.renderTop(now);
    }
    const chartEventChanged = events && (changes.events === 'all' || (this.chartEvent !== null && changes.events.has(this.chartEvent)));
    if (chartEventChanged || this.dirty.chart) this.renderChart(now);
    if (changes.panels.has('activeUsers') || tick) this.renderActiveUsers();
    if (changes.panels.has('retention') || (tick && this.loadErrors.has('retention'))) this.renderRetention(now);
    if (changes.panels.has('alerts') || tick) this.renderAlerts();
    if (this.dirty.connection) this.renderConnection();
    this.dirty = { tick: false, chart: false, connection: false };
  }

  private renderRate(now: number): void {
    const value = byId('eps-value');
    const { liveFrom, totals } = this.model;
    byId('empty-project').hidden = liveFrom === null || totals.size > 0;
    if (liveFrom === null) {
      value.textContent = '–';
      value.dataset.value = '';
      byId('eps-note').textContent = 'Waiting for the live feed…';
      return;
    }
    const rate = currentRate(totals, now);
    value.textContent = formatRate(rate);
    value.dataset.value = String(rate);
    const series = rateSeries(totals, now, 30, liveFrom);
    this.sparkline.setData(series.xs, series.ys);
    const peak = Math.max(...series.ys);
    byId('eps-spark').setAttribute('aria-label', `Events per second, per minute over the last ${series.xs.length} minutes: now ${formatRate(rate)}, peak ${formatRate(peak)}`);
    byId('eps-note').textContent = 'Trailing 60 s; the line: each minute of the last 30';
  }

  private renderTop(now: number): void {
    const list = byId('top-events');
    const top = this.model.liveFrom === null ? [] : topEvents(this.model.counts, now, 60, TOP_EVENTS);
    if (this.chartEvent === null && top[0] !== undefined) this.setChart(top[0].event, this.granularity, false);
    // A fixed set of buttons updated in place: keyboard focus stays where it is while counts change.
    while (list.children.length < TOP_EVENTS) {
      list.append(el('li', {}, el('button', { className: 'top-item', attrs: { type: 'button' } }, el('span', { className: 'bar' }), el('span', { className: 'name' }), el('span', { className: 'count' }))));
    }
    Array.from(list.children).forEach((li, i) => {
      const item = top[i];
      const button = li.firstElementChild as HTMLButtonElement;
      (li as HTMLElement).hidden = item === undefined;
      if (item === undefined) return;
      button.dataset.event = item.event;
      button.setAttribute('aria-pressed', String(item.event === this.chartEvent));
      button.setAttribute('aria-label', `${item.event}: ${formatCount(item.count)} events; chart it`);
      (button.children[0] as HTMLElement).style.width = `${Math.round(item.share * 100)}%`;
      button.children[1]!.textContent = item.event;
      button.children[2]!.textContent = formatCount(item.count);
    });
    const empty = byId('top-empty');
    empty.hidden = top.length > 0;
    empty.textContent = this.model.liveFrom === null ? 'Waiting for the live feed…' : 'No events in the last hour yet.';
    // The names the event fields suggest.
    const names = new Set(this.model.counts.keys());
    for (const rule of this.model.rules ?? []) if (rule.metric.event !== undefined) names.add(rule.metric.event);
    const sorted = [...names].sort().slice(0, 500);
    replaceChildrenIfChanged(byId('event-names'), sorted.join('\n'), () => sorted.map((name) => el('option', { attrs: { value: name } })));
  }

  private renderChart(now: number): void {
    const container = byId('chart');
    const note = byId('chart-note');
    const event = this.chartEvent;
    const granularity = this.granularity;
    const range = chartRange(granularity, now);
    this.chartEnd = range.end;
    this.breakdown.update(event, range, now);
    byId('chart-title').textContent = event === null ? 'Events over time' : `${event} per ${granularity}`;
    if (event === null) {
      container.setAttribute('aria-label', 'No event chosen');
      container.dataset.total = '0';
      note.textContent = this.model.liveFrom === null ? 'Waiting for the live feed…' : 'No event to chart yet: type an event name above, or choose one under Top events.';
      return;
    }
    const series = chartSeries(range, this.base, this.model.counts.get(event), this.model.liveFrom);
    this.chart.setData(event, granularity, series.xs, series.ys);
    container.dataset.total = String(series.total);
    container.dataset.event = event;
    container.dataset.granularity = granularity;
    const peak = series.peak === null ? '' : `; most: ${formatCount(series.peak.count)} at ${formatBucket(series.peak.t, granularity)}`;
    container.setAttribute('aria-label', `${event} per ${granularity} over ${RANGE_TEXT[granularity]}: ${formatCount(series.total)} in all, ${formatCount(series.latest)} in the current ${granularity}${peak}`);
    if (this.baseError !== null) note.textContent = `Buckets before the live feed could not be loaded (${this.baseError}); retrying.`;
    else if (this.baseLoading) note.textContent = 'Loading earlier buckets…';
    else if (series.total === 0) note.textContent = `No ${event} events over ${RANGE_TEXT[granularity]}.`;
    else note.textContent = `${formatCount(series.total)} over ${RANGE_TEXT[granularity]} (UTC); ${formatCount(series.latest)} in the current ${granularity} so far.`;
  }

  private renderActiveUsers(): void {
    const { activeUsers, dau } = this.model;
    byId('now-value').textContent = activeUsers === null ? '–' : formatCount(activeUsers.now);
    byId('now-note').textContent = activeUsers === null ? 'Waiting for the live feed…' : 'Distinct users with an event in the last 5 minutes';
    byId('dau-value').textContent = dau === null ? '–' : formatCount(dau.users);
    const error = this.loadErrors.get('activeUsers');
    const wau = activeUsers === null ? '' : ` · WAU ${formatCount(activeUsers.wau)} · MAU ${formatCount(activeUsers.mau)}`;
    byId('dau-note').textContent = dau === null ? (error ?? 'Loading…') : `Distinct users on ${dau.date} (UTC)${wau}`;
  }

  private renderRetention(now: number): void {
    const table = byId<HTMLTableElement>('retention');
    const empty = byId('retention-empty');
    const cohorts = this.model.cohorts;
    const rows = cohorts === null ? [] : heatmapRows(cohorts.values(), formatDay(dayNumber(now)), RETENTION_DAYS, RETENTION_HORIZON);
    const error = this.loadErrors.get('retention');
    empty.hidden = rows.length > 0;
    empty.textContent = cohorts === null ? (error ?? 'Loading…') : `No cohorts in the last ${RETENTION_DAYS} days yet.`;
    byId('retention-scroll').hidden = rows.length === 0;
    if (rows.length === 0) return;
    const head = table.tHead!;
    if (head.rows.length === 0) {
      const cells = [el('th', { attrs: { scope: 'col' } }, 'Cohort'), el('th', { attrs: { scope: 'col' } }, 'Users')];
      for (let k = 0; k <= RETENTION_HORIZON; k++) cells.push(el('th', { attrs: { scope: 'col' } }, `Day ${k}`));
      head.append(el('tr', {}, ...cells));
    }
    table.tBodies[0]!.replaceChildren(...rows.map((row) => el(
      'tr',
      {},
      el('th', { attrs: { scope: 'row' } }, row.cohort),
      el('td', {}, formatCount(row.size)),
      ...row.cells.map((c) => {
        const td = el('td', { title: c.description, className: c.retained === null ? 'future' : '' }, c.label);
        if (c.retained !== null) {
          td.style.background = c.background;
          td.style.color = c.color;
        } else td.setAttribute('aria-label', 'not yet');
        return td;
      }),
    )));
  }

  private renderAlerts(): void {
    const { firing, recent, rules } = this.model;
    const error = this.loadErrors.get('alerts');
    // The value that made it fire (a stored state's value is its last step's, 0 once the metric cleared).
    const firingList = [...firing.values()].sort((a, b) => b.since - a.since).map((f) => ({ ...f, value: recent.find((a) => a.ruleId === f.ruleId && a.state === 'firing')?.value ?? null }));
    const value = (v: number | null, how: string) => (v === null ? '' : ` ${how} ${formatCount(v)}`);
    replaceChildrenIfChanged(byId('alerts-firing'), JSON.stringify(firingList), () =>
      firingList.map((a) => el('li', { className: 'firing' }, el('span', { className: 'badge badge-firing' }, 'firing'), el('strong', {}, a.name), value(a.value, 'at'), el('span', { className: 'meta' }, `since ${formatTime(a.since)}`))));
    byId('alerts-firing-empty').hidden = firingList.length > 0;
    replaceChildrenIfChanged(byId('alerts-recent'), JSON.stringify(recent), () =>
      recent.map((a) => el('li', {}, el('span', { className: `badge badge-${a.state}` }, a.state), el('strong', {}, a.name), value(a.value, 'at'), el('span', { className: 'meta' }, formatTime(Date.parse(a.at))))));
    byId('alerts-recent-empty').hidden = recent.length > 0;
    const ruleList = rules ?? [];
    replaceChildrenIfChanged(byId('alerts-rules'), JSON.stringify([ruleList, [...firing.keys()]]), () =>
      ruleList.map((r) => {
        const status = this.model.ruleStatus(r);
        return el('li', { className: status === 'firing' ? 'firing' : '' }, el('span', { className: `badge badge-${status}` }, status), el('strong', {}, r.name), el('span', { className: 'meta' }, describeRule(r) + (r.enabled === false ? ' (disabled)' : '')));
      }));
    const rulesEmpty = byId('alerts-rules-empty');
    rulesEmpty.hidden = rules !== null && ruleList.length > 0;
    rulesEmpty.textContent = rules === null ? (error ?? 'Loading…') : 'No rules yet.';
  }

  private renderConnection(): void {
    const conn = byId('conn');
    const text = byId('conn-text');
    const countdown = byId('conn-countdown');
    const banner = byId('banner');
    const s = this.state;
    let kind: string = s.kind;
    let label = '';
    let wait = '';
    let lost: string | null = null;
    switch (s.kind) {
      case 'connecting':
        label = s.attempt === 0 ? 'Connecting…' : `Reconnecting… (attempt ${s.attempt + 1})`;
        break;
      case 'live':
        label = 'Live';
        break;
      case 'waiting':
        if (s.retryAt === Number.POSITIVE_INFINITY) {
          kind = 'offline';
          label = 'Offline: waiting for the network';
        } else {
          label = 'Connection lost: retrying';
          wait = ` in ${formatDuration(s.retryAt - Date.now())}`;
        }
        lost = s.reason;
        break;
      default:
        label = 'Not connected';
    }
    conn.dataset.state = kind;
    if (text.textContent !== label) text.textContent = label;
    // The countdown is left out of the live region: it would be read out every second.
    countdown.textContent = wait;
    byId('reconnect').hidden = s.kind !== 'waiting';
    let message: string | null = null;
    if (this.lostAt !== null && s.kind !== 'live') {
      message = `Live updates paused${lost === null ? '' : ` (${lost})`}. The figures are as of ${formatTime(this.lostAt)}; they catch up, nothing missed, when the connection is back.`;
    } else if (this.serverError !== null) message = this.serverError.message;
    banner.hidden = message === null;
    if (message !== null && banner.textContent !== message) banner.textContent = message;
  }
}
