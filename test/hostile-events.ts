/**
 * Seeded hostile events: what a public write key could send, of every shape the event
 * format admits and many it does not. Each is JSON-serializable (a client can send it);
 * whether it is accepted is ingest's to decide.
 */
const DAY = 86_400_000;

/** Text that is legal JSON but hard on everything after it. */
const NASTY = [
  '\u0000', 'a\u0000b', '\u0007', '\n', '\t', '\u007f', '\ud800', '\udfff', 'x\ud83d', '\ud83d\ude00', '\u200b', '\u202e', '\ufeff',
  'e\u0301', '\uffff', '\u{10ffff}', '$where', '$', 'a.b', '.', '..', '__proto__', 'constructor', 'prototype', '(other)', '(none)', '',
  ' ', '名前', 'ünïcödé', '🎉'.repeat(60), 'x'.repeat(201), '名'.repeat(67), 'v'.repeat(5000),
];

const EDGE_NUMBERS = [0, -0, 1, -1, 0.1, 1e308, -1e308, 5e-324, 2 ** 53 + 1, -(2 ** 53) - 1, 1e21, 123456789.12345679];

export function hostileEvents(random: () => number, count: number, now: number): unknown[] {
  const int = (max: number) => Math.floor(random() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const chars = (length: number) => Array.from({ length }, () => String.fromCodePoint(pick([int(0x80), int(0x800), int(0xd800), 0xd800 + int(0x800), 0x10000 + int(0x1000)]))).join('');
  const text = (): string => pick([() => pick(NASTY), () => chars(int(30)), () => `${pick(NASTY)}${chars(int(5))}${pick(NASTY)}`, () => `name-${int(400)}`])();
  const value = (depth: number): unknown =>
    depth > 2 || random() < 0.5
      ? pick([() => text(), () => pick(EDGE_NUMBERS), () => random() < 0.5, () => null])()
      : pick([
          () => Array.from({ length: int(4) }, () => value(depth + 1)),
          () => Object.fromEntries(Array.from({ length: int(4) }, () => [text(), value(depth + 1)])),
        ])();
  const deep = (levels: number): unknown => (levels === 0 ? 'bottom' : { d: deep(levels - 1) });
  const wide = (keys: number) => Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i]));
  const bag = (): Record<string, unknown> =>
    pick([
      () => ({ platform: text(), country: value(0), appVersion: pick(EDGE_NUMBERS) }),
      () => ({ platform: `p-${int(100_000)}`, country: `c-${int(100_000)}`, appVersion: `${int(1000)}.${int(1000)}` }),
      () => ({ [text()]: value(0), [text()]: value(0) }),
      () => ({ nested: deep(int(12)) }),
      () => wide(150 + int(150)),
      () => ({ platform: { object: true }, country: [1, 2] }),
      () => ({ blob: 'z'.repeat(int(40_000)) }),
    ])();
  // Mostly events ingest takes, each with something odd about it; the rest refused for one reason or another.
  const timestamp = (): unknown =>
    pick([
      () => undefined,
      () => undefined,
      () => undefined,
      () => undefined,
      () => now - int(DAY),
      () => now - 364 * DAY,
      () => now - 366 * DAY,
      () => now + 9 * 60_000,
      () => now + 11 * 60_000,
      () => new Date(now - int(3600_000)).toISOString().replace('Z', '+05:30'),
      () => now + 0.5,
      () => 1781524800,
      () => text(),
      () => '2026-02-30T10:00:00Z',
    ])();
  const event = (i: number): unknown => {
    const e: Record<string, unknown> = {
      event: pick([() => text(), () => `ev-${int(2000)}`, () => pick(['view', 'click', 'buy']), () => pick(['view', 'click', 'buy'])])(),
      ...(random() < 0.8 ? { userId: pick([() => text(), () => `u${int(300)}`, () => `u${int(300)}`, () => `u${int(300)}`])() } : {}),
      ...(random() < 0.3 ? { anonymousId: pick([() => text(), () => `a${int(300)}`])() } : {}),
      ...(random() < 0.7 ? { eventId: pick([() => `h-${i}`, () => `h-${int(50)}`, () => text()])() } : {}),
      ...(random() < 0.7 ? { properties: bag() } : {}),
      ...(random() < 0.7 ? { context: bag() } : {}),
    };
    const at = timestamp();
    if (at !== undefined) e.timestamp = at;
    if (random() < 0.02) e[text()] = value(0);
    return random() < 0.02 ? pick([null, 'event', 42, [e]]) : e;
  };
  return Array.from({ length: count }, (_, i) => event(i));
}
