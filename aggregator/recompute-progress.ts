/**
 * How far a recompute is, and the line a terminal shows for it. Pure: the recompute
 * reports, bin/signalboard.ts draws (a bar on a terminal, periodic log lines otherwise).
 */

/** The recompute's steps, in order: the event counts of the range, then every user's days, then the writes. */
export const RECOMPUTE_STEPS = ['counting events', 'reading users', 'writing'] as const;
export type RecomputeStep = (typeof RECOMPUTE_STEPS)[number];

export interface RecomputeProgress {
  step: RecomputeStep;
  /** Days of the step's scan read completely, of `daysTotal` (0 of 0 while writing). */
  daysDone: number;
  daysTotal: number;
  /** Raw events read in this step. */
  events: number;
  /** When the step began (ms), for the estimate. */
  stepStartedAt: number;
}

/** The step's time left, from its pace so far; undefined before its first day is done. */
export function timeLeftMs(p: RecomputeProgress, now: number): number | undefined {
  if (p.daysDone === 0 || p.daysTotal === 0) return undefined;
  return Math.round(((now - p.stepStartedAt) / p.daysDone) * (p.daysTotal - p.daysDone));
}

/** "45 s", "3 min 05 s", "2 h 10 min". */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

const number = (n: number) => n.toLocaleString('en-US');

/** One line: `2/3 reading users [#######-------------] 120/365 days, 1,234,567 events, about 3 min 05 s left in this step`. */
export function progressLine(p: RecomputeProgress, now: number, width = 20): string {
  const stepNumber = RECOMPUTE_STEPS.indexOf(p.step) + 1;
  const head = `${stepNumber}/${RECOMPUTE_STEPS.length} ${p.step}`;
  if (p.daysTotal === 0) return `${head} the figures of ${number(p.events)} events`;
  const filled = Math.round((p.daysDone / p.daysTotal) * width);
  const left = timeLeftMs(p, now);
  const estimate = left === undefined ? '' : p.daysDone === p.daysTotal ? ', done' : `, about ${formatDuration(left)} left in this step`;
  return `${head} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${number(p.daysDone)}/${number(p.daysTotal)} days, ${number(p.events)} events${estimate}`;
}
