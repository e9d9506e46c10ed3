import { describe, expect, it } from 'vitest';
import { weekNumber } from '../model/time-buckets.js';
import { addUserDelta, emptyDeltas, MAU_DAYS, WAU_DAYS, type ActivityDeltas } from './activity-math.js';

const HORIZONS = { days: 90, weeks: 12 };

function delta(before: number[], after: number[]): ActivityDeltas {
  const deltas = emptyDeltas();
  addUserDelta(deltas, new Set(before), new Set(after), HORIZONS);
  return deltas;
}

describe('one user, one change', () => {
  it('a first event counts the user in DAU once, WAU for 7 days, MAU for 30, and makes a cohort of one', () => {
    const d = delta([], [100]);
    expect([...d.dau]).toEqual([[100, 1]]);
    expect([...d.wau.keys()]).toEqual([100, 101, 102, 103, 104, 105, 106]);
    expect(d.mau.size).toBe(30);
    expect([...d.retentionDaily]).toEqual([['100:0', 1]]);
    expect([...d.retentionWeekly]).toEqual([[`${weekNumber(100)}:0`, 1]]);
  });

  it('a second event on a known day changes nothing', () => {
    const d = delta([100], [100]);
    expect([d.dau.size, d.wau.size, d.mau.size, d.retentionDaily.size, d.retentionWeekly.size]).toEqual([0, 0, 0, 0, 0]);
  });

  it('a return three days later adds DAU on that day, WAU only for the newly covered days, retention r3', () => {
    const d = delta([100], [100, 103]);
    expect([...d.dau]).toEqual([[103, 1]]);
    expect([...d.wau.keys()]).toEqual([107, 108, 109]);
    expect([...d.retentionDaily]).toEqual([['100:3', 1]]);
  });

  it('a late event before the first-seen day moves the user to the earlier cohort', () => {
    const d = delta([100, 101], [98, 100, 101]);
    expect(Object.fromEntries(d.retentionDaily)).toEqual({ '100:0': -1, '100:1': -1, '98:0': 1, '98:2': 1, '98:3': 1 });
    expect([...d.dau]).toEqual([[98, 1]]);
    expect([...d.wau.keys()]).toEqual([98, 99]);
  });

  it('activity past the horizon is not a retention cell', () => {
    expect([...delta([10], [10, 200]).retentionDaily]).toEqual([]);
  });
});

/** A seeded generator, so a failure reproduces. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

function bruteForce(users: number[][]) {
  const dau = new Map<number, number>();
  const wau = new Map<number, number>();
  const mau = new Map<number, number>();
  const retention = new Map<string, number>();
  const weekly = new Map<string, number>();
  const inc = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
  const allDays = users.flat();
  const [lo, hi] = [Math.min(...allDays), Math.max(...allDays) + MAU_DAYS];
  for (const days of users) {
    const set = new Set(days);
    for (let D = lo; D <= hi; D++) {
      if (set.has(D)) inc(dau, D);
      if (days.some((d) => d <= D && d > D - WAU_DAYS)) inc(wau, D);
      if (days.some((d) => d <= D && d > D - MAU_DAYS)) inc(mau, D);
    }
    const cohort = Math.min(...days);
    for (const d of set) if (d - cohort <= HORIZONS.days) inc(retention, `${cohort}:${d - cohort}`);
    const weeks = new Set(days.map(weekNumber));
    const cohortWeek = Math.min(...weeks);
    for (const w of weeks) if (w - cohortWeek <= HORIZONS.weeks) inc(weekly, `${cohortWeek}:${w - cohortWeek}`);
  }
  return { dau, wau, mau, retention, weekly };
}

describe('deltas summed over any batching and arrival order equal a brute-force recount', () => {
  it.each([1, 2, 3, 4, 5])('seed %i', (seed) => {
    const rand = random(seed);
    const users = Array.from({ length: 60 }, () => Array.from({ length: 1 + Math.floor(rand() * 12) }, () => 1000 + Math.floor(rand() * 120)));
    const total = emptyDeltas();
    for (const days of users) {
      // Arrive shuffled, in batches of random size: each batch adds some days.
      const order = [...days].sort(() => rand() - 0.5);
      const seen = new Set<number>();
      while (order.length > 0) {
        const before = new Set(seen);
        for (const day of order.splice(0, 1 + Math.floor(rand() * 3))) seen.add(day);
        addUserDelta(total, before, seen, HORIZONS);
      }
    }
    const expected = bruteForce(users);
    expect(Object.fromEntries(total.dau)).toEqual(Object.fromEntries(expected.dau));
    expect(Object.fromEntries(total.wau)).toEqual(Object.fromEntries(expected.wau));
    expect(Object.fromEntries(total.mau)).toEqual(Object.fromEntries(expected.mau));
    expect(Object.fromEntries(total.retentionDaily)).toEqual(Object.fromEntries(expected.retention));
    expect(Object.fromEntries(total.retentionWeekly)).toEqual(Object.fromEntries(expected.weekly));
  });
});
