/**
 * A seeded event set for the reports tests, and a brute-force recount of report figures
 * written from the contract's words alone: it shares no code with reports/ (its own
 * identity merge, local dates from Intl, plain loops and sorts).
 */
import { seeded } from './dataset.js';

const DAY = 86_400_000;

export interface ReportTestEvent {
  event: string;
  userId?: string;
  anonymousId?: string;
  eventId: string;
  timestamp: string;
  properties: Record<string, unknown>;
  context?: Record<string, unknown>;
}

/**
 * Persons over `days` days ending `now`: most identified, some anonymous at first and
 * linked later (an event with both ids), a few never linked. Properties of several
 * types (plan: a string, sometimes empty or missing; amount: a number, sometimes a
 * numeric string; context.country). Shuffled; 3% sent twice with the same eventId.
 */
export function reportEvents(seed: number, persons: number, days: number, now: number): { sends: ReportTestEvent[]; unique: ReportTestEvent[] } {
  const rand = seeded(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const unique: ReportTestEvent[] = [];
  for (let p = 0; p < persons; p++) {
    const anonymous = `anon-${seed}-${p}`;
    const user = `user-${seed}-${p}`;
    // 0: identified from the start; 1: anonymous, linked later; 2: never identified.
    const kind = p % 10 < 6 ? 0 : p % 10 < 9 ? 1 : 2;
    const first = now - Math.floor(rand() * days * DAY);
    let linked = false;
    for (let i = 0, t = first; i < 1 + Math.floor(rand() * 12) && t < now; i++, t += Math.floor(rand() * 3 * DAY)) {
      const link: boolean = kind === 1 && !linked && rand() < 0.3;
      linked ||= link;
      const ids = kind === 0 ? { userId: user } : kind === 2 || !linked ? { anonymousId: anonymous } : link ? { userId: user, anonymousId: anonymous } : { userId: user };
      const amount = rand() < 0.8 ? Math.round(rand() * 10000) / 100 : rand() < 0.5 ? String(Math.round(rand() * 100)) : undefined;
      unique.push({
        event: pick(['view', 'view', 'view', 'signup', 'buy']),
        ...ids,
        eventId: `rep-${seed}-${p}-${i}`,
        timestamp: new Date(t).toISOString(),
        properties: { plan: pick(['free', 'free', 'pro', 'team', '', undefined]), ...(amount === undefined ? {} : { amount }) },
        context: { country: pick(['DE', 'US', 'FR']) },
      });
    }
  }
  const sends = [...unique, ...unique.filter(() => rand() < 0.03)];
  for (let i = sends.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [sends[i], sends[j]] = [sends[j]!, sends[i]!];
  }
  return { sends, unique };
}

/** Each event's person: its userId, else the user its anonymousId was first seen with (by time, then eventId), else the anonymousId. */
export function personsOf(events: readonly ReportTestEvent[]): (e: ReportTestEvent) => string {
  const links = new Map<string, ReportTestEvent>();
  for (const e of events) {
    if (e.userId === undefined || e.anonymousId === undefined) continue;
    const held = links.get(e.anonymousId);
    if (held === undefined || e.timestamp < held.timestamp || (e.timestamp === held.timestamp && e.eventId < held.eventId)) links.set(e.anonymousId, e);
  }
  return (e) => e.userId ?? links.get(e.anonymousId!)?.userId ?? e.anonymousId!;
}

/** An instant's local date in a zone, YYYY-MM-DD. */
export function localDay(ms: number, timeZone: string): string {
  return new Date(ms).toLocaleDateString('en-CA', { timeZone });
}

/** The local date `n` days after `day` (calendar arithmetic). */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);
}

/** Linear interpolation between closest ranks. */
export function bruteQuantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/**
 * An ordered funnel by exhaustive search: for each person, every attempt (a step-0 event
 * in [from, to)) and every way to fill the next steps with distinct events at or after the
 * previous step's time and within `windowMs` of the start. Gives each person's furthest
 * step (-1: not in the funnel) and the step-0 event of the first attempt that reached it.
 */
export function bruteFunnel(events: readonly ReportTestEvent[], person: (e: ReportTestEvent) => string, steps: readonly string[], from: number, to: number, windowMs: number): Map<string, { furthest: number; start: ReportTestEvent }> {
  const byPerson = new Map<string, ReportTestEvent[]>();
  for (const e of events) byPerson.set(person(e), [...(byPerson.get(person(e)) ?? []), e]);
  const found = new Map<string, { furthest: number; start: ReportTestEvent }>();
  for (const [who, mine] of byPerson) {
    const time = (e: ReportTestEvent) => Date.parse(e.timestamp);
    const deepest = (k: number, previous: number, deadline: number, used: Set<ReportTestEvent>): number => {
      if (k === steps.length) return k - 1;
      let best = k - 1;
      for (const e of mine) {
        if (e.event !== steps[k] || used.has(e) || time(e) < previous || time(e) > deadline) continue;
        best = Math.max(best, deepest(k + 1, time(e), deadline, new Set([...used, e])));
        if (best === steps.length - 1) break;
      }
      return best;
    };
    const starts = mine.filter((e) => e.event === steps[0] && time(e) >= from && time(e) < to).sort((a, b) => time(a) - time(b));
    for (const start of starts) {
      const furthest = deepest(1, time(start), time(start) + windowMs, new Set([start]));
      if (furthest > (found.get(who)?.furthest ?? -1)) found.set(who, { furthest, start });
    }
  }
  return found;
}
