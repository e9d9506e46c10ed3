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
