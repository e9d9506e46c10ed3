import { ApiClient, ApiError } from './api-client.js';
import { Backoff } from './backoff.js';
import { Board } from './board.js';
import { byId } from './dom.js';
import { keyFromHash, keyHint } from './read-key.js';

/**
 * The page: log in with a read key (typed in, or `#key=` in the address), check it with
 * GET /v1/project, then run the live board. The read key is kept in localStorage; the
 * admin key of the alert form is never stored.
 */

const STORAGE_KEY = 'signalboard.readKey';

function storedKey(): string | undefined {
  try {
    return localStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function storeKey(key: string | null): void {
  try {
    if (key === null) localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, key);
  } catch {
    // Storage refused (private mode): the key lasts until the page closes.
  }
}

const base = new URL('.', location.href);
const liveUrl = new URL('v1/live', base);
liveUrl.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';

let board: Board | null = null;
/** Bumped by every login and logout, so an older attempt still waiting gives up. */
let session = 0;

function show(view: 'loading' | 'login' | 'board', loading = 'Loading…'): void {
  byId('loading').hidden = view !== 'loading';
  byId('loading').textContent = loading;
  byId('login').hidden = view !== 'login';
  byId('board').hidden = view !== 'board';
  // Also while a key is being tried, so a wrong stored key can be dropped while the server is away.
  byId('logout').hidden = view === 'login';
  if (view !== 'board') {
    byId('reconnect').hidden = true;
    byId('banner').hidden = true;
    const conn = byId('conn');
    conn.dataset.state = 'idle';
    byId('conn-text').textContent = 'Not connected';
    byId('conn-countdown').textContent = '';
    byId('project-name').textContent = 'Dashboard';
    document.title = 'Signalboard';
  }
}

function showLogin(message: string): void {
  session++;
  board?.stop();
  board = null;
  show('login');
  byId('login-error').textContent = message;
  const input = byId<HTMLInputElement>('read-key');
  input.setAttribute('aria-invalid', String(message !== ''));
  input.focus();
}

function refused(key: string, message: string): string {
  const hint = keyHint(key);
  return `This key was refused: ${message}.${hint === undefined ? '' : ` ${hint}`}`;
}

async function open(key: string): Promise<void> {
  const mine = ++session;
  board?.stop();
  board = null;
  show('loading', 'Checking the key…');
  const api = new ApiClient(base.href, key, (url, init) => fetch(url, init));
  const backoff = new Backoff({ baseMs: 1000, maxMs: 30_000 });
  let project: { id: string; name: string; dimensions: string[] };
  for (;;) {
    try {
      project = await api.project();
      break;
    } catch (err) {
      if (mine !== session) return;
      if (err instanceof ApiError && err.status < 500) {
        // A wrong or revoked key, or one refused for now (429 after too many bad keys).
        if (err.status !== 429) storeKey(null);
        showLogin(err.status === 429 ? `Too many wrong keys from this address: ${err.message}` : refused(key, err.message));
        return;
      }
      const delay = err instanceof ApiError && err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : backoff.next();
      show('loading', `Signalboard did not answer (${(err as Error).message}). Trying again in ${Math.round(delay / 1000)} s…`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (mine !== session) return;
    }
  }
  storeKey(key);
  show('board');
  board = new Board({
    project,
    readKey: key,
    api,
    liveUrl: liveUrl.href,
    onKeyRefused: (message) => {
      storeKey(null);
      showLogin(refused(key, message));
    },
  });
  board.start();
  byId('main').focus({ preventScroll: true });
}

function fromAddress(): string | undefined {
  const { key, rest } = keyFromHash(location.hash);
  // The key leaves the address bar at once: not kept in history, bookmarks or screenshots.
  if (key !== undefined) history.replaceState(null, '', `${location.pathname}${location.search}${rest}`);
  return key;
}

byId('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = byId<HTMLInputElement>('read-key');
  const key = input.value.trim();
  if (key === '') {
    byId('login-error').textContent = "Enter the project's read key (sbr_…).";
    input.focus();
    return;
  }
  input.value = '';
  void open(key);
});

byId('logout').addEventListener('click', () => {
  storeKey(null);
  showLogin('');
});

window.addEventListener('hashchange', () => {
  const key = fromAddress();
  if (key !== undefined) void open(key);
});

const first = fromAddress() ?? storedKey();
if (first === undefined) showLogin('');
else void open(first);
