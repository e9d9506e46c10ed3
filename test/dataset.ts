/**
 * A seeded synthetic data set and an independent brute-force recount of every figure
 * the metrics routes show. The recount shares no code with the aggregator.
 */
const DAY = 86_400_000;

export interface TestEvent {
  event: string;
  userId: string;
  eventId: string;
  timestamp: number;
  properties: { platform: string };
}

export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

export interface Dataset {
  /** Arrival order, duplicates and late events included. */
  sends: TestEvent[];
  firstDay: number;
  lastDay: number;
}

/**
 * Users arrive over `days` days and come back with decaying probability; events are
 * spread within each active day. The arrival order is shuffled, about 5% of events are
 * sent twice (same eventId, as an SDK retry does), and the oldest 3% of days arrive last.
 */
export function generateDataset(seed: number, users: number, days: number, endDay: number): Dataset {
  const rand = seeded(seed);
  const names = ['page_view', 'click', 'signup', 'purchase'];
  const platforms = ['web', 'ios', 'android'];
  const firstDay = endDay - days + 1;
  const events: TestEvent[] = [];
  for (let u = 0; u < users; u++) {
    const start = firstDay + Math.floor(rand() * days);
    for (let d = start; d <= endDay; d++) {
      if (d !== start && rand() > 0.18) continue;
      const count = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < count; i++) {
        events.push({
          event: names[Math.floor(rand() * names.length)]!,
          userId: `user-${u}`,
          eventId: `ev-${seed}-${u}-${d}-${i}`,
          timestamp: d * DAY + Math.floor(rand() * DAY),
          properties: { platform: platforms[u % platforms.length]! },
        });
      }
    }
  }
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [events[i], events[j]] = [events[j]!, events[i]!];
  }
  const lateCut = firstDay + Math.ceil(days * 0.03);
  const late = events.filter((e) => e.timestamp < lateCut * DAY);
  const onTime = events.filter((e) => e.timestamp >= lateCut * DAY);
  const retries = events.filter(() => rand() < 0.05);
  return { sends: [...onTime, ...retries, ...late], firstDay, lastDay: endDay };
}

export interface Recount {
  /** day → distinct users active that day / in the trailing 7 / 30 days. */
  dau: Map<number, number>;
  wau: Map<number, number>;
  mau: Map<number, number>;
  /** cohort day → [size, r1, r2, ...] up to the horizon. */
  retentionDaily: Map<number, number[]>;
  /** cohort week start day → [size, w1, ...]. */
  retentionWeekly: Map<number, number[]>;
  /** "event|bucketStartMs" → count, per granularity. */
  counts: { hour: Map<string, number>; day: Map<string, number>; minute: Map<string, number> };
  /** "event|platform|dayStartMs" → count. */
  dayCountsByPlatform: Map<string, number>;
}

export function recount(sends: readonly TestEvent[], horizonDays: number, horizonWeeks: number, lastDay: number): Recount {
  const unique = new Map<string, TestEvent>();
  for (const e of sends) if (!unique.has(e.eventId)) unique.set(e.eventId, e);
  const activeDays = new Map<string, Set<number>>();
  const counts = { hour: new Map<string, number>(), day: new Map<string, number>(), minute: new Map<string, number>() };
  const sizes = { minute: 60_000, hour: 3_600_000, day: DAY };
  const dayCountsByPlatform = new Map<string, number>();
  for (const e of unique.values()) {
    const byPlatform = `${e.event}|${e.properties.platform}|${Math.floor(e.timestamp / DAY) * DAY}`;
    dayCountsByPlatform.set(byPlatform, (dayCountsByPlatform.get(byPlatform) ?? 0) + 1);
    const days = activeDays.get(e.userId) ?? new Set<number>();
    days.add(Math.floor(e.timestamp / DAY));
    activeDays.set(e.userId, days);
    for (const g of ['minute', 'hour', 'day'] as const) {
      const key = `${e.event}|${Math.floor(e.timestamp / sizes[g]) * sizes[g]}`;
      counts[g].set(key, (counts[g].get(key) ?? 0) + 1);
    }
  }
  const dau = new Map<number, number>();
  const wau = new Map<number, number>();
  const mau = new Map<number, number>();
  const retentionDaily = new Map<number, number[]>();
  const retentionWeekly = new Map<number, number[]>();
  const mondayWeek = (day: number) => Math.floor((day + 3) / 7);
  for (const days of activeDays.values()) {
    const sorted = [...days].sort((a, b) => a - b);
    for (let D = sorted[0]!; D <= lastDay + 30; D++) {
      if (days.has(D)) dau.set(D, (dau.get(D) ?? 0) + 1);
      if (sorted.some((d) => d <= D && d > D - 7)) wau.set(D, (wau.get(D) ?? 0) + 1);
      if (sorted.some((d) => d <= D && d > D - 30)) mau.set(D, (mau.get(D) ?? 0) + 1);
    }
    const cohort = sorted[0]!;
    const row = retentionDaily.get(cohort) ?? new Array<number>(horizonDays + 1).fill(0);
    for (const d of days) if (d - cohort <= horizonDays) row[d - cohort]! += 1;
    retentionDaily.set(cohort, row);
    const weeks = new Set(sorted.map(mondayWeek));
    const firstWeek = Math.min(...weeks);
    const weekRow = retentionWeekly.get(firstWeek * 7 - 3) ?? new Array<number>(horizonWeeks + 1).fill(0);
    for (const w of weeks) if (w - firstWeek <= horizonWeeks) weekRow[w - firstWeek]! += 1;
    retentionWeekly.set(firstWeek * 7 - 3, weekRow);
  }
  return { dau, wau, mau, retentionDaily, retentionWeekly, counts, dayCountsByPlatform };
}
