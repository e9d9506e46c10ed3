/**
 * The demo's made-up shop, pure and seeded: a few hundred users who sign up over the
 * past days, come back less and less (so retention has a curve), view pages, and some
 * buy, busier in the day than at night. `npm run demo` (scripts/demo.ts) sends it.
 */

export interface DemoEvent {
  event: string;
  userId: string;
  eventId: string;
  timestamp: number;
  properties: Record<string, string | number>;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const PAGES = ['/', '/pricing', '/docs', '/blog', '/product/lamp', '/product/chair', '/cart'];
const PLANS = ['free', 'free', 'free', 'pro', 'team'];
const COUNTRIES = ['DE', 'US', 'FR', 'BR', 'IN', 'JP', 'GB'];
const PLATFORMS = ['web', 'web', 'ios', 'android'];

/** mulberry32: a small seeded generator, so a demo run's backfill is the same every time (and its eventIds dedupe). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How busy the shop is at a UTC hour, 0.15 to 1: a morning and an evening peak. */
export function hourWeight(hour: number): number {
  const peak = (h: number, width: number) => {
    const d = Math.abs(hour - h) % 24;
    return Math.exp(-(Math.min(d, 24 - d) ** 2) / (2 * width ** 2));
  };
  return 0.15 + 0.85 * Math.max(peak(10, 2.5), peak(20, 2));
}

/** The chance a user comes back `daysSince` days after signing up. */
export function returnChance(daysSince: number): number {
  return 0.55 * 0.9 ** daysSince;
}

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

/** An hour of the day drawn by hourWeight, and a moment in it. */
function momentOfDay(random: () => number): number {
  for (;;) {
    const hour = Math.floor(random() * 24);
    if (random() < hourWeight(hour)) return hour * HOUR_MS + Math.floor(random() * HOUR_MS);
  }
}

/** One visit: page views, sometimes a purchase, each with a deterministic eventId. */
export function visit(random: () => number, userId: string, at: number, id: string): DemoEvent[] {
  const platform = pick(random, PLATFORMS);
  const country = pick(random, COUNTRIES);
  const events: DemoEvent[] = [];
  const views = 1 + Math.floor(random() * 5);
  for (let i = 0; i < views; i++) {
    events.push({ event: 'page_view', userId, eventId: `${id}-v${i}`, timestamp: at + i * 20_000, properties: { path: pick(random, PAGES), platform, country } });
  }
  if (random() < 0.18) {
    events.push({ event: 'purchase', userId, eventId: `${id}-p`, timestamp: at + views * 20_000, properties: { amount: 5 + Math.floor(random() * 195), platform, country } });
  }
  return events;
}

/**
 * `users` users signing up over the `days` days before `now`'s day and today, each
 * visiting on later days by returnChance; only events before `now`. Sorted by time.
 */
export function backfill(users: number, days: number, now: number, seed = 1): DemoEvent[] {
  const random = seededRandom(seed);
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const events: DemoEvent[] = [];
  for (let u = 0; u < users; u++) {
    const userId = `demo-user-${u}`;
    const signupDay = today - Math.floor(random() * (days + 1)) * DAY_MS;
    const plan = pick(random, PLANS);
    for (let day = signupDay, since = 0; day <= today; day += DAY_MS, since++) {
      if (since > 0 && random() >= returnChance(since)) continue;
      const at = day + momentOfDay(random);
      const id = `demo-${seed}-${u}-${since}`;
      const dayEvents = visit(random, userId, at, id);
      if (since === 0) dayEvents.unshift({ event: 'signup', userId, eventId: `${id}-s`, timestamp: at - 1000, properties: { plan } });
      events.push(...dayEvents.filter((e) => e.timestamp < now));
    }
  }
  return events.sort((a, b) => a.timestamp - b.timestamp);
}
