import { ApiError, type ApiClient } from './api-client.js';
import { breakdownRows, breakdownWait, type BreakdownValue } from './breakdown-rows.js';
import type { ChartRange } from './chart-series.js';
import { byId, el, replaceChildrenIfChanged } from './dom.js';
import { formatCount } from './format.js';

const PREF = 'signalboard.breakdown';

/**
 * The breakdown under the chart: the charted event's range split by one dimension
 * (platform, country, ...), read from the API when the query changes and again at most
 * every few seconds while the event's counts change (the live feed carries totals only);
 * a change inside those seconds is read when they end.
 */
export class BreakdownPanel {
  private dimension: string;
  private last: { key: string; at: number } | null = null;
  private generation = 0;
  /** A read put off to the end of the refresh time, and the chart's latest query for it. */
  private later: ReturnType<typeof setTimeout> | undefined;
  private latest: { event: string | null; range: ChartRange } | null = null;
  private readonly select = byId<HTMLSelectElement>('breakdown-dimension');

  constructor(
    private readonly api: ApiClient,
    dimensions: readonly string[],
    private readonly onKeyRefused: (message: string) => void,
    signal: AbortSignal,
    private readonly onChoose: () => void,
  ) {
    const saved = localStorage.getItem(PREF) ?? '';
    this.dimension = dimensions.includes(saved) ? saved : '';
    this.select.replaceChildren(el('option', { attrs: { value: '' } }, 'None'), ...dimensions.map((d) => el('option', { attrs: { value: d } }, d)));
    this.select.value = this.dimension;
    this.select.disabled = dimensions.length === 0;
    this.select.addEventListener('change', () => {
      this.dimension = this.select.value;
      localStorage.setItem(PREF, this.dimension);
      this.onChoose();
    }, { signal });
    signal.addEventListener('abort', () => clearTimeout(this.later));
  }

  /** Called as the chart redraws (its event's counts or its range changed). */
  update(event: string | null, range: ChartRange, now: number): void {
    this.latest = { event, range };
    const note = byId('breakdown-note');
    const list = byId('breakdown-list');
    if (event === null || this.dimension === '') {
      this.last = null;
      list.hidden = true;
      note.textContent = this.select.disabled ? 'No breakdown dimensions are configured (AGGREGATOR_DIMENSIONS).' : 'Choose a dimension to split the chart\'s events by it.';
      return;
    }
    const dimension = this.dimension;
    const key = JSON.stringify([event, range.granularity, range.start, dimension]);
    const wait = breakdownWait(this.last, key, now);
    if (wait > 0) {
      this.later ??= setTimeout(() => {
        this.later = undefined;
        if (this.latest !== null) this.update(this.latest.event, this.latest.range, Date.now());
      }, wait);
      return;
    }
    clearTimeout(this.later);
    this.later = undefined;
    const fresh = this.last?.key !== key;
    this.last = { key, at: now };
    const generation = ++this.generation;
    if (fresh) note.textContent = 'Loading…';
    this.api.breakdown(event, range.granularity, range.start, range.end, dimension).then(
      (values) => {
        if (generation === this.generation) this.render(event, dimension, values);
      },
      (err: unknown) => {
        if (generation !== this.generation) return;
        if (err instanceof ApiError && err.keyRefused) return this.onKeyRefused(err.message);
        this.last = null; // read again at the next redraw
        note.textContent = `The breakdown could not be loaded: ${err instanceof Error ? err.message : String(err)}`;
      },
    );
  }

  private render(event: string, dimension: string, values: readonly BreakdownValue[]): void {
    const list = byId('breakdown-list');
    const rows = breakdownRows(values);
    list.hidden = rows.length === 0;
    byId('breakdown-note').textContent = rows.length === 0 ? `No ${event} events in the chart's range.` : `${event} by ${dimension} over the chart's range (UTC)`;
    replaceChildrenIfChanged(list, JSON.stringify(rows), () =>
      rows.map((row) => {
        const bar = el('span', { className: 'bar' });
        bar.style.width = `${(row.share * 100).toFixed(1)}%`;
        return el('li', { className: 'breakdown-item', attrs: { 'data-value': row.value, 'data-total': String(row.total) } }, bar, el('span', { className: 'name' }, row.value), el('span', { className: 'count' }, `${formatCount(row.total)} · ${row.shareText}`));
      }),
    );
  }
}
