import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeliveryError } from '../shared/delivery-error.js';
import type { Properties, WireEvent } from '../shared/event.js';
import { SDK_VERSION } from '../shared/version.js';
import { BEACON_MAX_BYTES, createBrowserClient, KEYS, type BrowserClient, type BrowserEnv, type BrowserOptions, type KeyValueStorage, type PageInfo } from './browser-client.js';

const ENDPOINT = 'https://sb.example.com';
const WRITE_KEY = 'sbw_test';
const HOME: PageInfo = { url: 'https://shop.example/', path: '/', title: 'Home', referrer: 'https://search.example/?q=shop' };

/** What the scripted server answers to one request; an Error is a network failure (fetch rejects). */
type Reply = { status: number; retryAfter?: string; body?: unknown } | Error;

/**
 * The browser's state that outlives a page load: localStorage (which may be missing or
 * throw), the cookie jar, Do Not Track and the current page. Each load() over the same
 * browser is a new page load.
 */
function browser(setup: { storage?: 'ok' | 'missing' | 'throws'; doNotTrack?: boolean } = {}) {
  return {
    storage: new Map<string, string>(),
    storageMode: setup.storage ?? 'ok',
    cookies: new Map<string, string>(),
    doNotTrack: setup.doNotTrack ?? false,
    page: { ...HOME },
    uuids: 0,
  };
}
type Browser = ReturnType<typeof browser>;

interface Request {
  at: number;
  url: string;
  method: string;
  headers: Record<string, string>;
  events: WireEvent[];
}

/** A client over an in-memory BrowserEnv: a scripted fetch (202s unless told), a recording sendBeacon. */
function load(b: Browser, options: Partial<BrowserOptions> = {}, script: { replies?: Reply[]; offline?: boolean; beacon?: 'accept' | 'refuse' | 'missing' } = {}) {
  const start = Date.now();
  const requests: Request[] = [];
  const beacons: Array<{ url: string; body: string }> = [];
  const errors: Array<DeliveryError | TypeError> = [];
  const onPageHide: Array<() => void> = [];
  const onHistoryChange: Array<() => void> = [];
  const replies = [...(script.replies ?? [])];
  const guard = () => {
    if (b.storageMode === 'throws') throw new Error('SecurityError: storage is blocked');
  };
  const storage: KeyValueStorage = {
    getItem(key) {
      guard();
      return b.storage.get(key) ?? null;
    },
    setItem(key, value) {
      guard();
      b.storage.set(key, value);
    },
    removeItem(key) {
      guard();
      b.storage.delete(key);
    },
  };
  const beacon = script.beacon ?? 'accept';
  const env: BrowserEnv = {
    storage: b.storageMode === 'missing' ? undefined : storage,
    cookies: {
      get: (name) => b.cookies.get(name),
      set(name, value) {
        if (value === undefined) b.cookies.delete(name);
        else b.cookies.set(name, value);
      },
    },
    fetch: async (url, init) => {
      const events = (JSON.parse(init.body) as { batch: WireEvent[] }).batch;
      requests.push({ at: Date.now() - start, url, method: init.method, headers: init.headers, events });
      const reply = script.offline ? new TypeError('Failed to fetch') : (replies.shift() ?? { status: 202, body: { accepted: events.length, rejected: [] } });
      if (reply instanceof Error) throw reply;
      return {
        status: reply.status,
        headers: { get: (name: string) => (name.toLowerCase() === 'retry-after' ? (reply.retryAfter ?? null) : null) },
        text: async () => JSON.stringify(reply.body ?? {}),
      };
    },
    sendBeacon:
      beacon === 'missing'
        ? undefined
        : (url, body) => {
            if (beacon === 'refuse') return false;
            beacons.push({ url, body });
            return true;
          },
    now: () => Date.now(),
    random: () => 0.5,
    uuid: () => `uuid-${++b.uuids}`,
    setTimeout: (run, ms) => setTimeout(run, ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    page: () => ({ ...b.page }),
    doNotTrack: () => b.doNotTrack,
    onPageHide: (callback) => void onPageHide.push(callback),
    onHistoryChange: (callback) => void onHistoryChange.push(callback),
  };
  const client = createBrowserClient(env, { writeKey: WRITE_KEY, endpoint: ENDPOINT, onError: (error) => errors.push(error), ...options });
  const sent = () => requests.flatMap((r) => r.events);
  return {
    client,
    requests,
    beacons,
    errors,
    /** Events sent by fetch, in order. */
    sent,
    names: () => sent().map((e) => e.event),
    hide: () => onPageHide.forEach((run) => run()),
    /** pushState/popstate to `path` (undefined: a replaceState that keeps the URL). */
    history(path?: string, title = `Page ${path}`) {
      if (path !== undefined) b.page = { url: `https://shop.example${path}`, path, title, referrer: HOME.referrer };
      onHistoryChange.forEach((run) => run());
    },
  };
}

const savedQueue = (b: Browser) => JSON.parse(b.storage.get(KEYS.queue) ?? 'null') as { events: WireEvent[]; dropped: number } | null;
const beaconIds = (body: string) => (JSON.parse(body) as { batch: WireEvent[] }).batch.map((e) => e.eventId);
const savedEvent = (n: number): WireEvent => ({
  event: `saved-${n}`,
  eventId: `saved-id-${n}`,
  timestamp: '2026-03-01T11:00:00.000Z',
  anonymousId: 'earlier-aid',
  context: { library: { name: 'signalboard-browser', version: SDK_VERSION } },
});

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-03-01T12:00:00Z'));
});
afterEach(() => {
  vi.clearAllTimers();
  vi.useRealTimers();
});

describe('identity', () => {
  it('generates the anonymousId once, stores it under sb_aid and puts it on every event', async () => {
    const b = browser();
    const { client, sent } = load(b);
    client.track('a');
    client.track('b');
    await client.flush();
    expect(sent().map((e) => e.anonymousId)).toEqual(['uuid-1', 'uuid-1']);
    expect(b.storage.get(KEYS.anonymousId)).toBe('uuid-1');
  });

  it('reuses the stored anonymousId on the next page load', async () => {
    const b = browser();
    const first = load(b);
    first.client.track('first page');
    await first.client.flush();
    const second = load(b);
    second.client.track('second page');
    await second.client.flush();
    expect(second.sent().map((e) => [e.event, e.anonymousId])).toEqual([['second page', 'uuid-1']]);
  });

  it.each([
    ['missing', 'missing' as const],
    ['throwing on every call', 'throws' as const],
  ])('keeps the ids in cookies when localStorage is %s', async (_, storage) => {
    const b = browser({ storage });
    const first = load(b);
    first.client.identify('user-7');
    expect(Object.fromEntries(b.cookies)).toEqual({ [KEYS.anonymousId]: 'uuid-1', [KEYS.userId]: 'user-7' });
    expect(b.storage.size).toBe(0);
    const second = load(b);
    second.client.track('again');
    await second.client.flush();
    expect(second.sent().map((e) => [e.event, e.userId, e.anonymousId])).toEqual([['again', 'user-7', 'uuid-1']]);
  });

  it('gives every event its own eventId, the time of the call and the library', async () => {
    const { client, sent } = load(browser());
    client.track('a');
    vi.advanceTimersByTime(1500);
    client.track('b', { plan: 'pro' });
    client.track('c');
    await client.flush();
    expect(sent()).toEqual([
      { event: 'a', eventId: 'uuid-2', timestamp: '2026-03-01T12:00:00.000Z', anonymousId: 'uuid-1', context: { library: { name: 'signalboard-browser', version: SDK_VERSION } } },
      { event: 'b', eventId: 'uuid-3', timestamp: '2026-03-01T12:00:01.500Z', anonymousId: 'uuid-1', properties: { plan: 'pro' }, context: { library: { name: 'signalboard-browser', version: SDK_VERSION } } },
      { event: 'c', eventId: 'uuid-4', timestamp: '2026-03-01T12:00:01.500Z', anonymousId: 'uuid-1', context: { library: { name: 'signalboard-browser', version: SDK_VERSION } } },
    ]);
  });

  it('identify() sends $identify with the traits, puts the userId on later events and stores it', async () => {
    const b = browser();
    const { client, sent } = load(b);
    client.track('before');
    client.identify('user-7', { plan: 'pro' });
    client.track('after');
    await client.flush();
    expect(sent().map((e) => [e.event, e.userId, e.anonymousId, e.properties])).toEqual([
      ['before', undefined, 'uuid-1', undefined],
      ['$identify', 'user-7', 'uuid-1', { plan: 'pro' }],
      ['after', 'user-7', 'uuid-1', undefined],
    ]);
    expect(b.storage.get(KEYS.userId)).toBe('user-7');
  });

  it('keeps the userId on the next page load', async () => {
    const b = browser();
    const first = load(b);
    first.client.identify('user-7');
    await first.client.flush();
    const second = load(b);
    second.client.track('again');
    await second.client.flush();
    expect(second.sent().map((e) => e.userId)).toEqual(['user-7']);
  });

  it('reset() forgets the userId and starts a new anonymousId', async () => {
    const b = browser();
    const { client, sent } = load(b);
    client.identify('user-7');
    client.reset();
    client.track('after reset');
    await client.flush();
    expect(sent().map((e) => [e.event, e.userId, e.anonymousId])).toEqual([
      ['$identify', 'user-7', 'uuid-1'],
      ['after reset', undefined, 'uuid-3'],
    ]);
    expect(b.storage.has(KEYS.userId)).toBe(false);
    expect(b.storage.get(KEYS.anonymousId)).toBe('uuid-3');
  });
});

describe('batching', () => {
  it('sends as soon as flushAt events wait, in one POST to /v1/events with the write key', async () => {
    const { client, requests } = load(browser(), { flushAt: 3 });
    client.track('a');
    client.track('b');
    await vi.advanceTimersByTimeAsync(0);
    expect(requests).toEqual([]);
    client.track('c');
    await vi.advanceTimersByTimeAsync(0);
    expect(requests.map((r) => [r.url, r.method, r.headers, r.events.map((e) => e.event)])).toEqual([
      [`${ENDPOINT}/v1/events`, 'POST', { 'content-type': 'application/json', authorization: `Bearer ${WRITE_KEY}` }, ['a', 'b', 'c']],
    ]);
  });

  it('sends flushInterval after the first event when fewer than flushAt wait', async () => {
    const { client, requests } = load(browser(), { flushAt: 10, flushInterval: 2000 });
    client.track('a');
    await vi.advanceTimersByTimeAsync(1000);
    client.track('b');
    await vi.advanceTimersByTimeAsync(999);
    expect(requests).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(requests.map((r) => [r.at, r.events.map((e) => e.event)])).toEqual([[2000, ['a', 'b']]]);
  });

  it('sends to the endpoint given with a path, without its trailing slash', async () => {
    const { client, requests } = load(browser(), { endpoint: 'https://sb.example.com/analytics/' });
    client.track('a');
    await client.flush();
    expect(requests.map((r) => r.url)).toEqual(['https://sb.example.com/analytics/v1/events']);
  });
});

describe('the offline queue', () => {
  it('keeps events that could not be sent under sb_queue, and the next page load sends them with the same eventIds', async () => {
    const b = browser();
    const offline = load(b, {}, { offline: true });
    offline.client.track('a');
    offline.client.track('b');
    void offline.client.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(offline.requests).toHaveLength(1);
    expect(offline.client.queueStatus()).toEqual({ queued: 2, dropped: 0 });
    expect(savedQueue(b)).toEqual({ events: offline.requests[0]!.events, dropped: 0 });

    const reloaded = load(b);
    await vi.advanceTimersByTimeAsync(0);
    expect(reloaded.requests.map((r) => r.events.map((e) => [e.event, e.eventId]))).toEqual([
      [
        ['a', 'uuid-2'],
        ['b', 'uuid-3'],
      ],
    ]);
    expect(b.storage.has(KEYS.queue)).toBe(false);
    expect(reloaded.client.queueStatus()).toEqual({ queued: 0, dropped: 0 });
  });

  it('sends the saved events before those tracked on the new page', async () => {
    const b = browser();
    b.storage.set(KEYS.queue, JSON.stringify({ events: [savedEvent(1), savedEvent(2)], dropped: 0 }));
    const { client, sent } = load(b);
    client.track('new');
    await client.flush();
    expect(sent().map((e) => e.eventId)).toEqual(['saved-id-1', 'saved-id-2', 'uuid-2']);
  });

  it.each([
    ['not JSON', '{"events": ['],
    ['events not a list', '{"events": "x", "dropped": "y"}'],
    ['entries without a name or eventId', JSON.stringify({ events: [null, 7, { event: 1, eventId: 'x' }, { event: 'e' }], dropped: 0 })],
  ])('ignores a saved queue that is %s', async (_, text) => {
    const b = browser();
    b.storage.set(KEYS.queue, text);
    const { client, requests } = load(b);
    await client.flush();
    expect(requests).toEqual([]);
    expect(client.queueStatus()).toEqual({ queued: 0, dropped: 0 });
  });

  it('does not keep the queue in cookies when localStorage is missing', async () => {
    const b = browser({ storage: 'missing' });
    const { client } = load(b, {}, { offline: true });
    client.track('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(client.queueStatus().queued).toBe(1);
    expect([...b.cookies.keys()]).toEqual([KEYS.anonymousId]);
  });

  it('drops the oldest past maxQueueSize, counts it in queueStatus().dropped and reports it', () => {
    const b = browser();
    const { client, errors } = load(b, { maxQueueSize: 3, flushAt: 100 });
    for (const name of ['a', 'b', 'c', 'd', 'e']) client.track(name);
    expect(client.queueStatus()).toEqual({ queued: 3, dropped: 2 });
    expect(savedQueue(b)!.events.map((e) => e.event)).toEqual(['c', 'd', 'e']);
    expect(savedQueue(b)!.dropped).toBe(2);
    expect(errors.map((e) => [e instanceof DeliveryError && e.reason, (e as DeliveryError).events.map((x) => x.event)])).toEqual([
      ['queue-full', ['a']],
      ['queue-full', ['b']],
    ]);
  });

  it('remembers the dropped count across page loads', async () => {
    const b = browser();
    const first = load(b, { maxQueueSize: 1, flushAt: 100 });
    first.client.track('a');
    first.client.track('b');
    const second = load(b);
    await second.client.flush();
    expect(second.sent().map((e) => e.event)).toEqual(['b']);
    expect(second.client.queueStatus()).toEqual({ queued: 0, dropped: 1 });
  });
});

describe('pagehide', () => {
  it('sends what is queued with sendBeacon to ?key=<writeKey> and takes it off the queue', async () => {
    const b = browser();
    const { client, beacons, requests, hide } = load(b);
    client.track('a');
    client.track('b');
    const queued = savedQueue(b)!.events;
    hide();
    expect(beacons).toEqual([{ url: `${ENDPOINT}/v1/events?key=${WRITE_KEY}`, body: JSON.stringify({ batch: queued }) }]);
    expect(client.queueStatus()).toEqual({ queued: 0, dropped: 0 });
    expect(b.storage.has(KEYS.queue)).toBe(false);
    await vi.runAllTimersAsync();
    expect(requests).toEqual([]);
  });

  it('URL-encodes the write key in the beacon URL', () => {
    const { client, beacons, hide } = load(browser(), { writeKey: 'sbw_a+b/c' });
    client.track('a');
    hide();
    expect(beacons.map((x) => x.url)).toEqual([`${ENDPOINT}/v1/events?key=sbw_a%2Bb%2Fc`]);
  });

  it('keeps the events queued (and saved) when sendBeacon refuses them, and sends them later', async () => {
    const b = browser();
    const { client, hide, sent } = load(b, {}, { beacon: 'refuse' });
    client.track('a');
    hide();
    expect(client.queueStatus().queued).toBe(1);
    expect(savedQueue(b)!.events.map((e) => e.event)).toEqual(['a']);
    await client.flush();
    expect(sent().map((e) => e.event)).toEqual(['a']);
  });

  it('keeps the events queued when there is no sendBeacon', () => {
    const { client, hide } = load(browser(), {}, { beacon: 'missing' });
    client.track('a');
    hide();
    expect(client.queueStatus().queued).toBe(1);
  });

  it('splits a body larger than BEACON_MAX_BYTES across several beacons, in order', () => {
    const { client, beacons, hide } = load(browser());
    const big = 'x'.repeat(25_000);
    for (let i = 1; i <= 5; i++) client.track(`e${i}`, { big });
    hide();
    expect(beacons.map((x) => beaconIds(x.body))).toEqual([['uuid-2', 'uuid-3'], ['uuid-4', 'uuid-5'], ['uuid-6']]);
    expect(beacons.every((x) => Buffer.byteLength(x.body) <= BEACON_MAX_BYTES)).toBe(true);
    expect(client.queueStatus().queued).toBe(0);
  });
});

describe('answers', () => {
  it('resends the same events after the delay a 503 Retry-After names, not before', async () => {
    const { client, requests } = load(browser(), {}, { replies: [{ status: 503, retryAfter: '3', body: { error: { code: 'SB_OVERLOADED', message: 'busy' } } }] });
    client.track('a');
    client.track('b');
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(2999);
    expect(requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(requests.map((r) => [r.at, r.events.map((e) => e.eventId)])).toEqual([
      [0, ['uuid-2', 'uuid-3']],
      [3000, ['uuid-2', 'uuid-3']],
    ]);
    expect(client.queueStatus()).toEqual({ queued: 0, dropped: 0 });
  });

  it('drops the events a 401 refuses and reports a DeliveryError with reason "refused"', async () => {
    const { client, requests, errors } = load(browser(), {}, { replies: [{ status: 401, body: { error: { code: 'SB_AUTH_INVALID', message: 'unknown key' } } }] });
    client.track('a');
    client.track('b');
    await client.flush();
    await vi.runAllTimersAsync();
    expect(requests).toHaveLength(1);
    expect(errors).toHaveLength(1);
    const error = errors[0] as DeliveryError;
    expect(error).toBeInstanceOf(DeliveryError);
    expect([error.reason, error.status, error.message, error.events.map((e) => e.event)]).toEqual([
      'refused',
      401,
      'the server refused 2 events: HTTP 401 SB_AUTH_INVALID: unknown key',
      ['a', 'b'],
    ]);
    expect(client.queueStatus()).toEqual({ queued: 0, dropped: 2 });
  });
});

describe('opt-out', () => {
  it('optOut() clears the queue and the ids, stores sb_optout and stops tracking', async () => {
    const b = browser();
    const { client, requests } = load(b);
    client.identify('user-7');
    client.track('queued before');
    client.optOut();
    expect(client.queueStatus()).toEqual({ queued: 0, dropped: 0 });
    expect(Object.fromEntries(b.storage)).toEqual({ [KEYS.optOut]: '1' });
    client.track('after');
    client.page();
    client.identify('user-8');
    client.reset();
    await vi.advanceTimersByTimeAsync(60_000);
    await client.flush();
    expect(requests).toEqual([]);
    expect(Object.fromEntries(b.storage)).toEqual({ [KEYS.optOut]: '1' });
  });

  it('stays opted out on the next page load, until optIn() (with a new anonymousId)', async () => {
    const b = browser();
    const first = load(b);
    first.client.track('a');
    first.client.optOut();
    const second = load(b);
    second.client.track('ignored');
    await second.client.flush();
    expect(second.requests).toEqual([]);
    second.client.optIn();
    second.client.track('counted');
    await second.client.flush();
    expect(second.sent().map((e) => [e.event, e.anonymousId])).toEqual([['counted', 'uuid-3']]);
    expect(b.storage.has(KEYS.optOut)).toBe(false);
  });

  it.each([
    [false, false, true],
    [false, true, true],
    [true, false, true],
    [true, true, false],
  ])('respectDoNotTrack %s with Do Not Track %s: tracks %s', async (respectDoNotTrack, doNotTrack, tracks) => {
    const { client, sent } = load(browser({ doNotTrack }), { respectDoNotTrack });
    client.track('a');
    await client.flush();
    expect(sent().map((e) => e.event)).toEqual(tracks ? ['a'] : []);
  });

  it('with respectDoNotTrack and Do Not Track on, sends nothing, stores no id, drops a saved queue and optIn() does not override it', async () => {
    const b = browser({ doNotTrack: true });
    b.storage.set(KEYS.queue, JSON.stringify({ events: [savedEvent(1)], dropped: 0 }));
    const { client, requests } = load(b, { respectDoNotTrack: true, autoPageviews: true });
    client.identify('user-7');
    client.track('a');
    client.optIn();
    client.track('b');
    await vi.advanceTimersByTimeAsync(60_000);
    await client.flush();
    expect(requests).toEqual([]);
    expect(b.storage.size).toBe(0);
  });
});

describe('pageviews', () => {
  it('page() sends $page with the url, path, title and referrer, then the previous page as referrer', async () => {
    const b = browser();
    const { client, sent } = load(b);
    client.page();
    b.page = { url: 'https://shop.example/cart', path: '/cart', title: 'Cart', referrer: HOME.referrer };
    client.page({ items: 2 });
    await client.flush();
    expect(sent().map((e) => [e.event, e.properties])).toEqual([
      ['$page', { url: 'https://shop.example/', path: '/', title: 'Home', referrer: 'https://search.example/?q=shop' }],
      ['$page', { url: 'https://shop.example/cart', path: '/cart', title: 'Cart', referrer: 'https://shop.example/', items: 2 }],
    ]);
  });

  it('autoPageviews sends $page at init and on each history change to a new URL only', async () => {
    const { client, sent, history } = load(browser(), { autoPageviews: true });
    history('/cart');
    history(); // replaceState keeping the URL
    history('/cart'); // the same URL again
    history('/');
    await client.flush();
    expect(sent().map((e) => [e.event, e.properties!.path, e.properties!.referrer])).toEqual([
      ['$page', '/', 'https://search.example/?q=shop'],
      ['$page', '/cart', 'https://shop.example/'],
      ['$page', '/', 'https://shop.example/cart'],
    ]);
  });

  it('sends no $page without autoPageviews', async () => {
    const { client, requests, history } = load(browser());
    history('/cart');
    await client.flush();
    expect(requests).toEqual([]);
  });
});

describe('bad calls', () => {
  it.each<[string, (client: BrowserClient) => void, string]>([
    ["track('')", (c) => c.track(''), 'event must be a non-empty string (the event name)'],
    ['track(42)', (c) => c.track(42 as unknown as string), 'event must be a non-empty string (the event name)'],
    ['identify with a 300-character id', (c) => c.identify('u'.repeat(300)), 'userId must be a string of 1 to 255 characters'],
    ["identify('')", (c) => c.identify(''), 'userId must be a string of 1 to 255 characters'],
    ['track with a string as properties', (c) => c.track('e', 'plan=pro' as unknown as Properties), 'properties must be an object'],
    ['track with an array as properties', (c) => c.track('e', [1, 2] as unknown as Properties), 'properties must be an object'],
    ['track with null as properties', (c) => c.track('e', null as unknown as Properties), 'properties must be an object'],
    ['identify with an array as traits', (c) => c.identify('user-7', [] as unknown as Properties), 'properties must be an object'],
    ['page with a string as properties', (c) => c.page('abc' as unknown as Properties), '$page: properties must be an object'],
    ['page with null as properties', (c) => c.page(null as unknown as Properties), '$page: properties must be an object'],
  ])('%s reports a TypeError to onError, sends nothing and does not throw', async (_, call, message) => {
    const b = browser();
    const { client, requests, errors } = load(b);
    expect(() => call(client)).not.toThrow();
    await client.flush();
    expect(requests).toEqual([]);
    expect(errors.map((e) => [e.constructor, e.message])).toEqual([[TypeError, message]]);
    expect(b.storage.has(KEYS.userId)).toBe(false);
  });

  it('keeps tracking when onError throws', async () => {
    const { client, sent } = load(browser(), {
      onError: () => {
        throw new Error('a bug in the page');
      },
    }, { replies: [{ status: 400, body: { error: { code: 'SB_BODY_INVALID', message: 'bad' } } }] });
    expect(() => client.track('')).not.toThrow();
    client.track('refused');
    await client.flush();
    client.track('ok');
    await client.flush();
    expect(sent().map((e) => e.event)).toEqual(['refused', 'ok']);
    expect(client.queueStatus()).toEqual({ queued: 0, dropped: 1 });
  });
});

describe('options', () => {
  const create = (options: Record<string, unknown>) => () => load(browser(), options as Partial<BrowserOptions>);

  it.each(['writekey', 'flushat', 'debug', 'fetch'])('rejects the unknown option %s, naming it', (name) => {
    expect(create({ [name]: 1 })).toThrow(new TypeError(`unknown option "${name}" (allowed: writeKey, endpoint, flushAt, flushInterval, maxRetries, maxQueueSize, respectDoNotTrack, autoPageviews, onError)`));
  });

  it.each<[string, unknown]>([
    ['writeKey', ''],
    ['writeKey', 'sbw_ with space'],
    ['writeKey', undefined],
    ['endpoint', 'sb.example.com'],
    ['endpoint', 'ftp://sb.example.com'],
    ['endpoint', 'https://sb.example.com/?x=1'],
    ['flushAt', 0],
    ['flushAt', 501],
    ['flushAt', 2.5],
    ['flushAt', '20'],
    ['flushInterval', -1],
    ['flushInterval', Infinity],
    ['maxRetries', -1],
    ['maxRetries', NaN],
    ['maxQueueSize', 0],
    ['maxQueueSize', 100_001],
    ['respectDoNotTrack', 'yes'],
    ['autoPageviews', 1],
    ['onError', 'console.log'],
  ])('rejects %s: %j with a TypeError naming it', (name, value) => {
    expect(create({ [name]: value })).toThrow(TypeError);
    expect(create({ [name]: value })).toThrow(name);
  });

  it('rejects options that are not an object', () => {
    expect(() => createBrowserClient({} as BrowserEnv, null as unknown as BrowserOptions)).toThrow(new TypeError('options must be an object with at least writeKey and endpoint'));
  });

  it('takes maxRetries Infinity (the default) and the bounds of each range', () => {
    expect(create({ maxRetries: Infinity, flushAt: 500, flushInterval: 0, maxQueueSize: 100_000 })).not.toThrow();
    expect(create({ flushAt: 1, flushInterval: 3_600_000, maxQueueSize: 1, maxRetries: 0 })).not.toThrow();
  });
});
