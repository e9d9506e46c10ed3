import { formatDay, parseDay } from '../model/time-buckets.js';
import type { Cohort } from './live-messages.js';

export interface HeatmapCell {
  offset: number;
  /** null: that day has not come yet. */
  retained: number | null;
  /** retained / size, 0-1 (0 for a day not come yet). */
  fraction: number;
  /** What the cell shows: "42%", or "" for a day not come yet. */
  label: string;
  /** For the title and screen readers: "12 of 40 users (30%) came back on day 3". */
  description: string;
  background: string;
  color: string;
}

export interface HeatmapRow {
  cohort: string;
  size: number;
  cells: HeatmapCell[];
}

/** The shade's two ends: a pale blue (0%) to a deep blue (100%). */
const LOW: readonly [number, number, number] = [0xee, 0xf4, 0xfb];
const HIGH: readonly [number, number, number] = [0x0b, 0x3d, 0x75];

function channel(c: number): number {
  const s = c / 255;
  return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
}

/** WCAG 2 relative luminance of an sRGB colour. */
export function luminance([r, g, b]: readonly [number, number, number]): number {
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

export function contrastRatio(a: number, b: number): number {
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}

const hex = (rgb: readonly number[]) => `#${rgb.map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;

/**
 * A cell's colours for a fraction: the background between LOW and HIGH, and black or
 * white text, whichever contrasts more (at least 4.5:1 everywhere, WCAG AA: the
 * crossover, luminance 0.179, gives 4.58:1 with either).
 */
export function shade(fraction: number): { background: string; color: string } {
  const f = Math.min(1, Math.max(0, fraction));
  const rgb = [0, 1, 2].map((i) => LOW[i]! + (HIGH[i]! - LOW[i]!) * f) as [number, number, number];
  const l = luminance(rgb);
  return { background: hex(rgb), color: contrastRatio(l, 0) >= contrastRatio(l, 1) ? '#000000' : '#ffffff' };
}

const percent = (fraction: number) => `${Math.round(fraction * 100)}%`;

/**
 * The retention heatmap: one row per cohort (first-event day) of the last `days` days up
 * to `today`, oldest first, with users; one cell per day-N from 0 to `horizon`. Cells
 * after today are marked as not come yet rather than shown as 0%.
 */
export function heatmapRows(cohorts: Iterable<Cohort>, today: string, days: number, horizon: number): HeatmapRow[] {
  const last = parseDay(today);
  if (last === undefined) return [];
  const first = last - days + 1;
  const rows: HeatmapRow[] = [];
  for (const c of cohorts) {
    const day = parseDay(c.cohort);
    if (day === undefined || day < first || day > last || c.size <= 0) continue;
    const cells: HeatmapCell[] = [];
    for (let k = 0; k <= horizon; k++) {
      const future = day + k > last;
      const retained = future ? null : (c.retained[k] ?? 0);
      const fraction = retained === null ? 0 : retained / c.size;
      const colours = retained === null ? { background: 'transparent', color: 'inherit' } : shade(fraction);
      cells.push({
        offset: k,
        retained,
        fraction,
        label: retained === null ? '' : percent(fraction),
        description: retained === null ? `day ${k}: not yet (${formatDay(day + k)})` : `${retained} of ${c.size} users (${percent(fraction)}) active on day ${k}`,
        ...colours,
      });
    }
    rows.push({ cohort: c.cohort, size: c.size, cells });
  }
  return rows.sort((a, b) => (a.cohort < b.cohort ? -1 : 1));
}
