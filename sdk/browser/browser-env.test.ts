import { afterEach, describe, expect, it, vi } from 'vitest';
import { uuidFromBytes, windowEnv } from './browser-env.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const bytes = (fill: (i: number) => number) => Uint8Array.from({ length: 16 }, (_, i) => fill(i));

describe('uuidFromBytes', () => {
  it.each([
    ['all zero bytes', bytes(() => 0), '00000000-0000-4000-8000-000000000000'],
    ['all 0xff bytes', bytes(() => 0xff), 'ffffffff-ffff-4fff-bfff-ffffffffffff'],
    ['bytes 0 to 15', bytes((i) => i), '00010203-0405-4607-8809-0a0b0c0d0e0f'],
    ['bytes 0xf0 to 0xff', bytes((i) => 0xf0 + i), 'f0f1f2f3-f4f5-46f7-b8f9-fafbfcfdfeff'],
  ])('formats %s as %s', (_, input, expected) => {
    expect(uuidFromBytes(input)).toBe(expected);
  });

  it.each(Array.from({ length: 16 }, (_, i) => i))('sets version 4 and variant 10 (RFC 9562) whatever byte %i holds', (n) => {
    for (const value of [0x00, 0x0f, 0x3c, 0x7f, 0x80, 0xc3, 0xff]) {
      const id = uuidFromBytes(bytes((i) => (i === n ? value : n * 17)));
      expect(id).toMatch(UUID);
      expect(id[14]).toBe('4');
      expect(['8', '9', 'a', 'b']).toContain(id[19]);
    }
  });

  it('keeps the other 122 bits as given', () => {
    const id = uuidFromBytes(bytes((i) => 0x11 * (i % 16))).replaceAll('-', '');
    const expected = Array.from({ length: 16 }, (_, i) => (0x11 * i).toString(16).padStart(2, '0')).join('');
    // All but the version nibble (hex 12) and the two variant bits of hex 16.
    expect(id.slice(0, 12)).toBe(expected.slice(0, 12));
    expect(id.slice(13, 16)).toBe(expected.slice(13, 16));
    expect(parseInt(id[16]!, 16) & 0x3).toBe(parseInt(expected[16]!, 16) & 0x3);
    expect(id.slice(17)).toBe(expected.slice(17));
  });
});

/** A window with just what windowEnv() reads, and a document.cookie that records each write. */
function fakeWindow(setup: { protocol?: string; randomUUID?: boolean; doNotTrack?: string; sendBeacon?: boolean } = {}) {
  const writes: string[] = [];
  const listeners: Record<string, Array<() => void>> = {};
  const history = { pushes: [] as string[], pushState: (_: unknown, __: string, url: string) => void history.pushes.push(url), replaceState: () => undefined };
  const document = {
    cookie: 'other=1; sb_aid=a%20b%3Bc; last=x',
    title: 'Home',
    referrer: 'https://search.example/',
    visibilityState: 'visible',
    addEventListener: (type: string, run: () => void) => void (listeners[`document:${type}`] ??= []).push(run),
  };
  const win = {
    crypto: {
      randomUUID: setup.randomUUID === false ? undefined : () => '11111111-2222-4333-8444-555555555555',
      getRandomValues: (array: Uint8Array) => array.fill(0xab),
    },
    document: new Proxy(document, {
      set(target, key, value: string) {
        if (key === 'cookie') writes.push(value);
        else (target as Record<string | symbol, unknown>)[key] = value;
        return true;
      },
    }),
    history,
    location: { protocol: setup.protocol ?? 'https:', href: 'https://shop.example/cart?x=1#access_token=secret', pathname: '/cart' },
    navigator: { doNotTrack: setup.doNotTrack ?? null, sendBeacon: setup.sendBeacon === false ? undefined : () => true },
    localStorage: { getItem: () => null, setItem: () => undefined, removeItem: () => undefined },
    addEventListener: (type: string, run: () => void) => void (listeners[`window:${type}`] ??= []).push(run),
  };
  vi.stubGlobal('window', win);
  return { win, writes, listeners, document };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('windowEnv', () => {
  it('reads a cookie by its exact name, URI-decoded, and undefined when absent', () => {
    fakeWindow();
    const { cookies } = windowEnv();
    expect([cookies.get('sb_aid'), cookies.get('sb'), cookies.get('missing')]).toEqual(['a b;c', undefined, undefined]);
  });

  it.each([
    ['https:', '; secure'],
    ['http:', ''],
  ])('writes cookies for a year on path /, SameSite=Lax, secure only over https (%s)', (protocol, secure) => {
    const { writes } = fakeWindow({ protocol });
    const { cookies } = windowEnv();
    cookies.set('sb_aid', 'a b;c');
    cookies.set('sb_uid', undefined);
    expect(writes).toEqual([`sb_aid=a%20b%3Bc; path=/; max-age=31536000; samesite=lax${secure}`, `sb_uid=; path=/; max-age=0; samesite=lax${secure}`]);
  });

  it('makes ids with crypto.randomUUID, or from getRandomValues where it is missing', () => {
    fakeWindow();
    expect(windowEnv().uuid()).toBe('11111111-2222-4333-8444-555555555555');
    fakeWindow({ randomUUID: false });
    expect(windowEnv().uuid()).toBe('abababab-abab-4bab-abab-abababababab');
  });

  it.each([
    ['1', true],
    ['0', false],
    [null, false],
  ])('reads navigator.doNotTrack %j as %s', (doNotTrack, expected) => {
    fakeWindow({ doNotTrack: doNotTrack as string });
    expect(windowEnv().doNotTrack()).toBe(expected);
  });

  it('describes the page from location and document, leaving out the fragment (tokens live there)', () => {
    fakeWindow();
    expect(windowEnv().page()).toEqual({ url: 'https://shop.example/cart?x=1', path: '/cart', title: 'Home', referrer: 'https://search.example/' });
  });

  it('calls back after pushState, still doing the push, and on popstate', () => {
    const { win, listeners } = fakeWindow();
    let calls = 0;
    windowEnv().onHistoryChange(() => calls++);
    win.history.pushState({}, '', '/next');
    win.history.replaceState();
    listeners['window:popstate']!.forEach((run) => run());
    expect(win.history.pushes).toEqual(['/next']);
    expect(calls).toBe(3);
  });

  it('calls back on pagehide and when the page becomes hidden, not visible', () => {
    const { listeners, document } = fakeWindow();
    let calls = 0;
    windowEnv().onPageHide(() => calls++);
    listeners['window:pagehide']!.forEach((run) => run());
    listeners['document:visibilitychange']!.forEach((run) => run());
    expect(calls).toBe(1);
    document.visibilityState = 'hidden';
    listeners['document:visibilitychange']!.forEach((run) => run());
    expect(calls).toBe(2);
  });
});
