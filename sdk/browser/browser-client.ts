import { createBatchQueue } from '../shared/batch-queue.js';
import type { DeliveryError } from '../shared/delivery-error.js';
import { buildEvent, eventProblem, propertiesProblem, type EventSource, type Properties, type WireEvent } from '../shared/event.js';
import { beaconUrl, eventsUrl, postBatch, type FetchLike } from '../shared/http.js';
import { booleanOption, endpointOption, functionOption, type DeliveryOptions, optionsRecord, wholeOption, writeKeyOption } from '../shared/options.js';

/** What the page is, for "$page" events. */
export interface PageInfo {
  url: string;
  path: string;
  title: string;
  referrer: string;
}

/** localStorage's part the SDK uses; any call may throw (private modes, quotas, blocked storage). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Everything the SDK takes from the browser, injected so the client is plain code:
 * browser-env.ts wires the real `window`, the unit tests an in-memory one.
 */
export interface BrowserEnv {
  storage: KeyValueStorage | undefined;
  /** document.cookie, read and written one name at a time (undefined: delete it). */
  cookies: { get(name: string): string | undefined; set(name: string, value: string | undefined): void };
  fetch: FetchLike;
  /** navigator.sendBeacon with a string body (sent as text/plain); false when the browser refuses it. */
  sendBeacon: ((url: string, body: string) => boolean) | undefined;
  now(): number;
  random(): number;
  uuid(): string;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  page(): PageInfo;
  doNotTrack(): boolean;
  /** Calls back on pagehide and on visibilitychange to hidden. */
  onPageHide(callback: () => void): void;
  /** Calls back after history.pushState / replaceState and on popstate. */
  onHistoryChange(callback: () => void): void;
}

/** The options of docs/sdk.md#browser; defaults: flushAt 20, flushInterval 5000, maxRetries Infinity, maxQueueSize 1000. */
export interface BrowserOptions extends DeliveryOptions {
  /** Send nothing when the browser says Do Not Track (default false). */
  respectDoNotTrack?: boolean;
  /** page() at init and whenever the URL changes (default false). */
  autoPageviews?: boolean;
}

export interface BrowserClient {
  track(event: string, properties?: Properties): void;
  page(properties?: Properties): void;
  identify(userId: string, traits?: Properties): void;
  reset(): void;
  optOut(): void;
  optIn(): void;
  flush(): Promise<void>;
  /** Events waiting to be sent, and events dropped (queue full, rejected, ...) since the queue was first persisted. */
  queueStatus(): { queued: number; dropped: number };
}

const OPTIONS = ['writeKey', 'endpoint', 'flushAt', 'flushInterval', 'maxRetries', 'maxQueueSize', 'respectDoNotTrack', 'autoPageviews', 'onError'];

/** Storage keys; the queue lives in localStorage only, the ids fall back to cookies. */
export const KEYS = { anonymousId: 'sb_aid', userId: 'sb_uid', optOut: 'sb_optout', queue: 'sb_queue' } as const;

/** Beacon (and keepalive) bodies are limited to 64 KiB in flight per page (Fetch standard); leave room. */
export const BEACON_MAX_BYTES = 60_000;

function readOptions(given: BrowserOptions) {
  const o = optionsRecord(given, OPTIONS);
  return {
    writeKey: writeKeyOption(o.writeKey),
    endpoint: endpointOption(o.endpoint),
    flushAt: wholeOption(o.flushAt, 'flushAt', 20, 1, 500),
    flushInterval: wholeOption(o.flushInterval, 'flushInterval', 5000, 0, 3_600_000),
    maxRetries: wholeOption(o.maxRetries, 'maxRetries', Infinity, 0, Infinity),
    maxQueueSize: wholeOption(o.maxQueueSize, 'maxQueueSize', 1000, 1, 100_000),
    respectDoNotTrack: booleanOption(o.respectDoNotTrack, 'respectDoNotTrack', false),
    autoPageviews: booleanOption(o.autoPageviews, 'autoPageviews', false),
    onError: functionOption<NonNullable<BrowserOptions['onError']>>(o.onError, 'onError'),
  };
}

/** Reads and writes through localStorage, falling back to cookies where it is missing or throws. */
function persistence(env: BrowserEnv) {
  const attempt = (run: (storage: KeyValueStorage) => void): boolean => {
    try {
      if (env.storage === undefined) return false;
      run(env.storage);
      return true;
    } catch {
      return false;
    }
  };
  return {
    get(key: string): string | undefined {
      let value: string | null = null;
      attempt((s) => (value = s.getItem(key)));
      return value !== null ? value : env.cookies.get(key);
    },
    set(key: string, value: string): void {
      if (!attempt((s) => s.setItem(key, value))) env.cookies.set(key, value);
    },
    remove(key: string): void {
      attempt((s) => s.removeItem(key));
      env.cookies.set(key, undefined);
    },
    /** The offline queue: localStorage only (cookies are too small and go with every request). */
    setLocal(key: string, value: string | undefined): void {
      attempt((s) => (value === undefined ? s.removeItem(key) : s.setItem(key, value)));
    },
  };
}

function savedQueue(text: string | undefined): { events: WireEvent[]; dropped: number } {
  try {
    const saved = JSON.parse(text || '{}') as { events?: unknown; dropped?: unknown };
    const events = Array.isArray(saved.events) ? saved.events.filter((e: WireEvent | null) => e && typeof e.event === 'string' && typeof e.eventId === 'string') : [];
    return { events, dropped: typeof saved.dropped === 'number' ? saved.dropped : 0 };
  } catch {
    return { events: [], dropped: 0 };
  }
}

/** The browser SDK over an injected environment (browser-env.ts gives the real one). */
export function createBrowserClient(env: BrowserEnv, given: BrowserOptions): BrowserClient {
  const options = readOptions(given);
  const store = persistence(env);
  const source: EventSource = { library: 'signalboard-browser', now: env.now, uuid: env.uuid };
  const report = (error: DeliveryError | TypeError) => {
    try {
      if (options.onError) options.onError(error);
    } catch {
      // The page's callback failing must not break tracking.
    }
  };
  const saved = savedQueue(store.get(KEYS.queue));
  let dropped = saved.dropped;
  let optedOut = store.get(KEYS.optOut) === '1' || (options.respectDoNotTrack && env.doNotTrack());
  let userId = store.get(KEYS.userId);
  let anonymousId = store.get(KEYS.anonymousId);
  let lastUrl: string | undefined;

  const persistQueue = (events: readonly WireEvent[]) => store.setLocal(KEYS.queue, events.length === 0 && dropped === 0 ? undefined : JSON.stringify({ events, dropped }));
  const queue = createBatchQueue(options, {
    send: (body) => postBatch(env.fetch, eventsUrl(options.endpoint), options.writeKey, body),
    timers: env,
    now: env.now,
    random: env.random,
    onDrop(error) {
      dropped += error.events.length;
      report(error);
    },
    onChange: persistQueue,
  });

  const newAnonymousId = () => {
    anonymousId = env.uuid();
    store.set(KEYS.anonymousId, anonymousId);
    return anonymousId;
  };
  const send = (event: string, properties: Properties | undefined) => {
    if (optedOut) return;
    const input = { event, userId, anonymousId: anonymousId || newAnonymousId(), properties };
    const problem = eventProblem(input);
    if (problem === undefined) queue.add(buildEvent(input, source));
    else report(new TypeError(problem));
  };

  const client: BrowserClient = {
    track: send,
    page(properties) {
      // Checked before they are merged with the page's own (a string would spread into "0", "1", ...).
      const problem = propertiesProblem(properties);
      if (problem !== undefined) return report(new TypeError(`$page: ${problem}`));
      const info = env.page();
      // After the first page, the referrer of a page the app navigated to is the page before it.
      const referrer = lastUrl || info.referrer;
      lastUrl = info.url;
      send('$page', { url: info.url, path: info.path, title: info.title, referrer, ...properties });
    },
    identify(id, traits) {
      if (optedOut) return;
      const problem = eventProblem({ event: '$identify', userId: id, properties: traits });
      if (problem !== undefined) return report(new TypeError(problem));
      userId = id;
      store.set(KEYS.userId, id);
      send('$identify', traits);
    },
    reset() {
      userId = undefined;
      store.remove(KEYS.userId);
      if (!optedOut) newAnonymousId();
    },
    optOut() {
      optedOut = true;
      store.set(KEYS.optOut, '1');
      store.remove(KEYS.userId);
      store.remove(KEYS.anonymousId);
      userId = anonymousId = undefined;
      dropped = 0;
      queue.clear();
    },
    optIn() {
      store.remove(KEYS.optOut);
      optedOut = options.respectDoNotTrack && env.doNotTrack();
    },
    flush: () => queue.flush(),
    queueStatus: () => ({ queued: queue.size, dropped }),
  };

  if (optedOut) store.setLocal(KEYS.queue, undefined);
  else if (saved.events.length > 0) {
    queue.restore(saved.events);
    void queue.flush();
  }
  env.onPageHide(() => {
    if (env.sendBeacon !== undefined) queue.sendNow(BEACON_MAX_BYTES, (body) => env.sendBeacon!(beaconUrl(options.endpoint, options.writeKey), body));
  });
  if (options.autoPageviews) {
    client.page();
    env.onHistoryChange(() => {
      // Routers call replaceState without changing the URL: only a new URL is a new page.
      if (env.page().url !== lastUrl) client.page();
    });
  }
  return client;
}
