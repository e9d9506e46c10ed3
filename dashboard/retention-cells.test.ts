import { describe, expect, it } from 'vitest';
import { contrastRatio, heatmapRows, luminance, shade } from './retention-cells.js';

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];

describe('the retention heatmap', () => {
  const cohorts = [
    { cohort: '2026-11-21', size: 40, retained: [40, 12, 9] },
    { cohort: '2026-11-23', size: 10, retained: [10] },
    { cohort: '2026-11-22', size: 20, retained: [20, 5] },
    { cohort: '2026-11-01', size: 99, retained: [99] },
    { cohort: '2026-11-20', size: 0, retained: [] },
  ];
  const rows = heatmapRows(cohorts, '2026-11-23', 14, 3);

  it('has one row per cohort of the last days with users, oldest first', () => {
    expect(rows.map((r) => [r.cohort, r.size])).toEqual([['2026-11-21', 40], ['2026-11-22', 20], ['2026-11-23', 10]]);
  });

  it('shows day N as the share of the cohort, and days not come yet as empty, not 0%', () => {
    expect(rows[0]!.cells.map((c) => c.label)).toEqual(['100%', '30%', '23%', '']);
    expect(rows[1]!.cells.map((c) => c.retained)).toEqual([20, 5, null, null]);
    expect(rows[2]!.cells.map((c) => c.label)).toEqual(['100%', '', '', '']);
    expect(rows[0]!.cells[1]!.description).toBe('12 of 40 users (30%) active on day 1');
    expect(rows[0]!.cells[3]!.description).toBe('day 3: not yet (2026-11-24)');
  });

  it('shows 0% for a past day nobody came back on', () => {
    const [row] = heatmapRows([{ cohort: '2026-11-20', size: 5, retained: [5] }], '2026-11-23', 14, 2);
    expect(row!.cells.map((c) => c.label)).toEqual(['100%', '0%', '0%']);
  });

  it('ignores an unreadable day', () => {
    expect(heatmapRows(cohorts, 'today', 14, 3)).toEqual([]);
  });

  it('keeps text readable on every shade (WCAG AA, 4.5:1)', () => {
    for (let i = 0; i <= 100; i++) {
      const { background, color } = shade(i / 100);
      expect(contrastRatio(luminance(rgb(background)), luminance(rgb(color))), `at ${i}%`).toBeGreaterThanOrEqual(4.5);
    }
    expect(shade(0).color).toBe('#000000');
    expect(shade(1).color).toBe('#ffffff');
  });
});
