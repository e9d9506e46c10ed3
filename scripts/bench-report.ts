/**
 * What `npm run bench` writes from its results: the table in docs/benchmarks.md and the
 * lag and delay chart (an SVG, turned into docs/img/bench-timeline.png by Chromium).
 * Pure: no I/O, unit-tested in bench-report.test.ts.
 */

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Events acknowledged by ingest = stored raw = rolled up = received by a watching dashboard. */
export interface ZeroLoss {
  acknowledged: number;
  stored: number;
  rolledUp: number;
  delivered: number;
}

export interface ScenarioResult {
  scenario: string;
  /** 'roles': a process per role; 'all': one process, as `npm start` runs it. */
  layout: string;
  /** Seconds of load. */
  seconds: number;
  /** Events/s offered (null: as fast as the virtual users could send). */
  offeredPerSecond: number | null;
  acceptedPerSecond: number;
  /** Events/s a watching dashboard saw rolled up during the load. */
  rolledUpPerSecond: number;
  httpMs: Percentiles;
  /** From an event's send to its delta read by the dashboards' sockets (probe events). */
  dashboardDelayMs: Percentiles | null;
  dashboards: number;
  peakBacklog: number;
  drainSeconds: number;
  cpuCores: Record<string, number>;
  peakRssMb: Record<string, number>;
  zeroLoss: ZeroLoss;
  /** Every 5 s from k6's start: events not consumed yet, events delivered to the watching dashboard so far. */
  timeline: Array<{ t: number; backlog: number; delivered: number }>;
  /** [seconds since k6 started, ms] per probe the watching dashboard got. */
  delays: Array<[number, number]>;
  notes: string[];
}

export function zeroLossHolds(z: ZeroLoss): boolean {
  return z.acknowledged === z.stored && z.stored === z.rolledUp && z.rolledUp === z.delivered;
}

/** What differs, in words ("stored 10 fewer than acknowledged"); none when it holds. */
export function zeroLossProblems(z: ZeroLoss): string[] {
  const against = (name: string, value: number) => (value === z.acknowledged ? [] : [`${name} ${Math.abs(value - z.acknowledged)} ${value < z.acknowledged ? 'fewer' : 'more'} than acknowledged`]);
  return [...against('stored', z.stored), ...against('rolled up', z.rolledUp), ...against('delivered to the dashboard', z.delivered)];
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number | null) => (n === null ? '–' : n >= 100 ? String(Math.round(n)) : n.toFixed(1));
const triple = (p: Percentiles | null) => (p === null ? '–' : `${ms(p.p50)} / ${ms(p.p95)} / ${ms(p.p99)}`);

/** Signalboard's processes (the roles, or `all`) summed, then each one in parentheses when there are several. */
function signalboardCores(cores: Record<string, number>, services: readonly string[]): string {
  const own = Object.entries(cores).filter(([name]) => !services.includes(name));
  const sum = own.reduce((a, [, v]) => a + v, 0);
  return own.length <= 1 ? sum.toFixed(2) : `${sum.toFixed(2)} (${own.map(([name, v]) => `${name} ${v.toFixed(2)}`).join(', ')})`;
}

/** Processes that are not Signalboard's, in the order the table shows them. */
export const SERVICE_PROCESSES = ['store', 'redis', 'k6', 'dashboards'];

export function resultsTable(results: readonly ScenarioResult[]): string {
  const header = [
    'layout', 'scenario', 'load', 'events/s offered → accepted', 'rolled up/s', 'HTTP p50 / p95 / p99 ms', 'dashboard delay p50 / p95 / p99 ms',
    'peak backlog', 'CPU cores: Signalboard', 'store / Redis / k6 / dashboards', 'peak RSS MB: Signalboard / store / Redis', 'zero loss: acknowledged = stored = rolled up = delivered',
  ];
  const rows = results.map((r) => {
    const z = r.zeroLoss;
    const rss = (name: string) => r.peakRssMb[name] ?? 0;
    const ownRss = Object.entries(r.peakRssMb).filter(([name]) => !SERVICE_PROCESSES.includes(name)).reduce((a, [, v]) => a + v, 0);
    return [
      r.layout,
      r.scenario + (r.dashboards > 0 ? ` (${count(r.dashboards)} dashboards)` : ''),
      `${r.seconds} s`,
      `${r.offeredPerSecond === null ? 'max' : count(r.offeredPerSecond)} → ${count(r.acceptedPerSecond)}`,
      count(r.rolledUpPerSecond),
      triple(r.httpMs),
      triple(r.dashboardDelayMs),
      count(r.peakBacklog),
      signalboardCores(r.cpuCores, SERVICE_PROCESSES),
      SERVICE_PROCESSES.map((name) => (r.cpuCores[name] ?? 0).toFixed(2)).join(' / '),
      `${count(ownRss)} / ${count(rss('store'))} / ${count(rss('redis'))}`,
      zeroLossHolds(z) ? `**holds**: ${count(z.acknowledged)}` : `**FAILS**: ${count(z.acknowledged)} / ${count(z.stored)} / ${count(z.rolledUp)} / ${count(z.delivered)}`,
    ];
  });
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** `doc` with the text between `<!-- name:start -->` and `<!-- name:end -->` replaced by `body`. */
export function replaceSection(doc: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`the document has no ${start} ... ${end} section`);
  return `${doc.slice(0, from + start.length)}\n${body}\n${doc.slice(to)}`;
}

/** The p99 of the values in each `window`-second window, at the window's start. */
export function p99PerWindow(points: ReadonlyArray<readonly [number, number]>, window = 10): Array<[number, number]> {
  const windows = new Map<number, number[]>();
  for (const [t, v] of points) {
    const w = Math.floor(t / window) * window;
    windows.set(w, [...(windows.get(w) ?? []), v]);
  }
  return [...windows].sort(([a], [b]) => a - b).map(([w, values]) => {
    const sorted = values.sort((a, b) => a - b);
    return [w, sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]!];
  });
}

export interface Series {
  label: string;
  color: string;
  points: ReadonlyArray<readonly [number, number]>;
}

const escapeXml = (text: string) => text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

/** A step above `max` that reads well: 1, 2 or 5 times a power of ten. */
export function niceCeiling(max: number): number {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= max)!;
}

/** One line chart as SVG: x in seconds, one line per series, axes with four ticks. */
export function lineChartSvg(title: string, yLabel: string, series: readonly Series[], width = 900, height = 300): string {
  const pad = { left: 70, right: 20, top: 36, bottom: 40 };
  const all = series.flatMap((s) => s.points);
  const xMax = niceCeiling(Math.max(1, ...all.map(([x]) => x)));
  const yMax = niceCeiling(Math.max(0, ...all.map(([, y]) => y)));
  const x = (v: number) => pad.left + (v / xMax) * (width - pad.left - pad.right);
  const y = (v: number) => height - pad.bottom - (v / yMax) * (height - pad.top - pad.bottom);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${pad.left}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    ...ticks.map((f) => `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(f * yMax)}" y2="${y(f * yMax)}" stroke="#ddd"/><text x="${pad.left - 6}" y="${y(f * yMax) + 4}" text-anchor="end">${count(f * yMax)}</text>`),
    ...ticks.map((f) => `<text x="${x(f * xMax)}" y="${height - pad.bottom + 16}" text-anchor="middle">${count(f * xMax)}</text>`),
    `<text x="${(pad.left + width - pad.right) / 2}" y="${height - 6}" text-anchor="middle">seconds since k6 started</text>`,
    `<text transform="translate(14 ${(pad.top + height - pad.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`,
    ...series.map((s) => `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ')}"/>`),
    ...series.map((s, i) => `<rect x="${width - pad.right - 260}" y="${pad.top + i * 18 - 10}" width="12" height="12" fill="${s.color}"/><text x="${width - pad.right - 242}" y="${pad.top + i * 18}">${escapeXml(s.label)}</text>`),
    '</svg>',
  ];
  return parts.join('\n');
}
