import uPlot from 'uplot';
import type { Granularity } from './chart-series.js';

const ACCENT = '#0b5cad';
const FILL = 'rgba(11, 92, 173, 0.15)';
const AXIS = { stroke: '#4b5563', grid: { stroke: '#e5e8ed', width: 1 }, ticks: { stroke: '#d4d9e1', width: 1 } };
const utc = (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');

/** Axis labels in UTC, 24-hour: "10:05", with the date under the first tick of each day; days as "11-23". */
function timeTicks(granularity: Granularity) {
  return (_u: uPlot, ticks: number[]) => ticks.map((t, i) => {
    const iso = new Date(t * 1000).toISOString();
    if (granularity === 'day') return iso.slice(5, 10);
    const newDay = i === 0 || new Date(ticks[i - 1]! * 1000).toISOString().slice(0, 10) !== iso.slice(0, 10);
    return newDay ? `${iso.slice(11, 16)}\n${iso.slice(5, 10)}` : iso.slice(11, 16);
  });
}

/** Keeps the current plot as wide as its container (phones turn, windows resize). */
function fitWidth(container: HTMLElement, plot: () => uPlot | null, height: () => number): void {
  const resize = () => {
    const current = plot();
    const width = Math.max(120, Math.floor(container.clientWidth));
    if (current !== null && (width !== current.width || height() !== current.height)) current.setSize({ width, height: height() });
  };
  new ResizeObserver(resize).observe(container);
}

/** The events-per-second sparkline: a filled line, no axes, no cursor. */
export class Sparkline {
  private readonly plot: uPlot;

  constructor(container: HTMLElement, height = 48) {
    this.plot = new uPlot(
      {
        width: Math.max(120, container.clientWidth),
        height,
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        series: [{}, { stroke: ACCENT, width: 2, fill: FILL, points: { show: false } }],
        padding: [4, 0, 0, 0],
      },
      [[], []],
      container,
    );
    fitWidth(container, () => this.plot, () => height);
  }

  setData(xs: number[], ys: number[]): void {
    this.plot.setData([xs, ys]);
  }
}

/** The time series of one event: bars per bucket, UTC axis, hover values in the legend. */
export class EventChart {
  private plot: uPlot | null = null;
  private label = '';
  private granularity: Granularity = 'minute';

  constructor(private readonly container: HTMLElement, private readonly height: () => number) {
    fitWidth(container, () => this.plot, height);
  }

  setData(event: string, granularity: Granularity, xs: number[], ys: number[]): void {
    if (this.plot === null || this.label !== event || this.granularity !== granularity) this.create(event, granularity);
    this.plot!.setData([xs, ys]);
  }

  private create(event: string, granularity: Granularity): void {
    this.plot?.destroy();
    this.label = event;
    this.granularity = granularity;
    const height = this.height();
    const bars = uPlot.paths.bars!({ size: [0.8, 48], align: 0 });
    this.plot = new uPlot(
      {
        width: Math.max(200, this.container.clientWidth),
        height,
        tzDate: utc,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] } },
        axes: [
          { ...AXIS, space: 60, values: timeTicks(granularity) },
          { ...AXIS, size: 50, values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')) },
        ],
        series: [
          { label: 'UTC', value: granularity === 'day' ? '{YYYY}-{MM}-{DD}' : '{YYYY}-{MM}-{DD} {HH}:{mm}' },
          { label: `${event} per ${granularity}`, stroke: ACCENT, fill: 'rgba(11, 92, 173, 0.55)', paths: bars, points: { show: false } },
        ],
        cursor: { drag: { x: false, y: false } },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
      },
      [[], []],
      this.container,
    );
  }
}
