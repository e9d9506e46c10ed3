import type { BrowserEnv, KeyValueStorage } from './browser-client.js';

const COOKIE_MAX_AGE_SECONDS = 365 * 86_400;

/** A v4 UUID from 16 random bytes (RFC 9562 section 5.4), for browsers without crypto.randomUUID (it needs a secure context). */
export function uuidFromBytes(bytes: Uint8Array): string {
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => (b + 0x100).toString(16).slice(1)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function localStorageOrUndefined(): KeyValueStorage | undefined {
  try {
    return window.localStorage; // reading the property itself throws where storage is blocked
  } catch {
    return undefined;
  }
}

/** The real browser behind the SDK's environment interface. */
export function windowEnv(): BrowserEnv {
  const { crypto, document, history, location, navigator } = window;
  return {
    storage: localStorageOrUndefined(),
    cookies: {
      get(name) {
        const pair = document.cookie.split('; ').find((c) => c.startsWith(`${name}=`));
        return pair === undefined ? undefined : decodeURIComponent(pair.slice(name.length + 1));
      },
      set(name, value) {
        const life = value === undefined ? 'max-age=0' : `max-age=${COOKIE_MAX_AGE_SECONDS}`;
        const secure = location.protocol === 'https:' ? '; secure' : '';
        document.cookie = `${name}=${encodeURIComponent(value || '')}; path=/; ${life}; samesite=lax${secure}`;
      },
    },
    fetch: (url, init) => window.fetch(url, init),
    // Where sendBeacon is missing, a keepalive fetch outlives the page the same way.
    sendBeacon: navigator.sendBeacon
      ? (url, body) => navigator.sendBeacon(url, body)
      : (url, body) => {
          window.fetch(url, { method: 'POST', body, keepalive: true, headers: { 'content-type': 'text/plain' } }).catch(() => undefined);
          return true;
        },
    now: () => Date.now(),
    random: () => Math.random(),
    uuid: () => (crypto.randomUUID ? crypto.randomUUID() : uuidFromBytes(crypto.getRandomValues(new Uint8Array(16)))),
    setTimeout: (run, ms) => window.setTimeout(run, ms),
    clearTimeout: (handle) => window.clearTimeout(handle as number),
    // Without the fragment, as Segment's analytics.js does: OAuth implicit grants and password resets put tokens there.
    page: () => ({ url: location.href.split('#')[0]!, path: location.pathname, title: document.title, referrer: document.referrer }),
    doNotTrack: () => navigator.doNotTrack === '1',
    onPageHide(callback) {
      window.addEventListener('pagehide', callback);
      document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'hidden') callback();
      });
    },
    onHistoryChange(callback) {
      for (const method of ['pushState', 'replaceState'] as const) {
        const original = history[method];
        history[method] = function (this: History, ...args: Parameters<History['pushState']>) {
          original.apply(this, args);
          callback();
        };
      }
      window.addEventListener('popstate', callback);
    },
  };
}
