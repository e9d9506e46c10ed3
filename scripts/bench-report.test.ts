import { describe, expect, it } from 'vitest';
import { lineChartSvg, niceCeiling, p99PerWindow, replaceSection, resultsTable, zeroLossHolds, zeroLossProblems, type ScenarioResult } from './bench-report.js';

const result = (over: Partial<ScenarioResult> = {}): ScenarioResult => ({
  scenario: 'pipeline',
  layout: 'roles',
  seconds: 300,
  offeredPerSecond: 10_000,
  acceptedPerSecond: 9_998,
  rolledUpPerSecond: 9_500,
  httpMs: { p50: 3.25, p95: 12, p99: 140.4 },
  dashboardDelayMs: { p50: 420, p95: 800, p99: 1200 },
  dashboards: 10,
  peakBacklog: 12_000,
  drainSeconds: 3,
  cpuCores: { ingest: 0.5, aggregator: 0.75, store: 0.3, redis: 0.1, k6: 0.2, dashboards: 0.01 },
  peakRssMb: { ingest: 200, aggregator: 300, store: 100, redis: 50 },
  zeroLoss: { acknowledged: 3_000_000, stored: 3_000_000, rolledUp: 3_000_000, delivered: 3_000_000 },
  timeline: [],
  delays: [],
  notes: [],
  ...over,
});

describe('zero-loss accounting', () => {
  it('holds only when all four counts are equal, and names each that differs', () => {
    expect(zeroLossHolds({ acknowledged: 5, stored: 5, rolledUp: 5, delivered: 5 })).toBe(true);
    for (const z of [{ acknowledged: 5, stored: 4, rolledUp: 5, delivered: 5 }, { acknowledged: 5, stored: 5, rolledUp: 6, delivered: 5 }, { acknowledged: 5, stored: 5, rolledUp: 5, delivered: 0 }]) expect(zeroLossHolds(z)).toBe(false);
    expect(zeroLossProblems({ acknowledged: 10, stored: 9, rolledUp: 12, delivered: 10 })).toEqual(['stored 1 fewer than acknowledged', 'rolled up 2 more than acknowledged']);
    expect(zeroLossProblems({ acknowledged: 3, stored: 3, rolledUp: 3, delivered: 3 })).toEqual([]);
  });
});

describe('the results table', () => {
  it('has a row per run: the roles summed and listed, the services apart, the zero-loss verdict', () => {
    const lines = resultsTable([result(), result({ layout: 'all', cpuCores: { all: 1.2, store: 0.3 }, peakRssMb: { all: 600 }, zeroLoss: { acknowledged: 10, stored: 9, rolledUp: 9, delivered: 9 }, offeredPerSecond: null, dashboardDelayMs: null, dashboards: 0 })]).split('\n');
    expect(lines).toHaveLength(4);
    const cells = (line: string) => line.split(' | ').map((c) => c.replace(/^\| |\s\|$/g, ''));
    expect(cells(lines[2]!)).toEqual([
      'roles', 'pipeline (10 dashboards)', '300 s', '10,000 → 9,998', '9,500', '3.3 / 12.0 / 140', '420 / 800 / 1200', '12,000',
      '1.25 (ingest 0.50, aggregator 0.75)', '0.30 / 0.10 / 0.20 / 0.01', '500 / 100 / 50', '**holds**: 3,000,000',
    ]);
    expect(cells(lines[3]!)).toEqual(['all', 'pipeline', '300 s', 'max → 9,998', '9,500', '3.3 / 12.0 / 140', '–', '12,000', '1.20', '0.30 / 0.00 / 0.00 / 0.00', '600 / 0 / 0', '**FAILS**: 10 / 9 / 9 / 9']);
  });
});

describe('a generated section of a document', () => {
  it('replaces what is between the markers and keeps the rest', () => {
    expect(replaceSection('a\n<!-- t:start -->\nold\n<!-- t:end -->\nb', 't', 'new')).toBe('a\n<!-- t:start -->\nnew\n<!-- t:end -->\nb');
  });
  it('says so when the markers are missing', () => {
    expect(() => replaceSection('no markers', 't', 'x')).toThrow(/no <!-- t:start --> \.\.\. <!-- t:end --> section/);
  });
});

describe('chart helpers', () => {
  it('takes the p99 of each 10 s window', () => {
    const points: Array<[number, number]> = [...Array.from({ length: 100 }, (_, i) => [i / 20, i + 1] as [number, number]), [12, 7]];
    expect(p99PerWindow(points)).toEqual([[0, 100], [10, 7]]);
  });
  it.each([[0, 1], [0.3, 0.5], [7, 10], [120, 200], [300, 500], [1001, 2000]])('rounds %s up to %s', (max, nice) => {
    expect(niceCeiling(max)).toBe(nice);
  });
  it('draws one line per series with its points scaled into the plot, and escapes labels', () => {
    const svg = lineChartSvg('Lag <roles>', 'events', [{ label: 'a & b', color: '#f00', points: [[0, 0], [100, 50]] }], 900, 300);
    expect(svg).toContain('Lag &lt;roles&gt;');
    expect(svg).toContain('a &amp; b');
    // x 0..100 onto 70..880, y 0..50 onto 260..36.
    expect(svg).toContain('points="70.0,260.0 880.0,36.0"');
  });
});
