import { Backoff } from './backoff.js';
import { parseServerMessage, type Channel, type ServerMessage } from './live-messages.js';

/** The part of the browser's WebSocket the connection uses (a fake one in tests). */
export interface SocketLike {
  send(text: string): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: (() => void) | null;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export type ConnectionState =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'live'; resumed: boolean }
  | { kind: 'waiting'; retryAt: number; attempt: number; reason: string }
  | { kind: 'refused'; message: string }
  | { kind: 'stopped' };

export interface LiveConnectionOptions {
  url: string;
  key: string;
  channels: readonly Channel[];
  createSocket(url: string): SocketLike;
  timers: Timers;
  /** Where to resume from (the model's last sync), if anywhere. */
  resumePoint(): { resume: number; epoch: string | null } | undefined;
  onMessage(message: ServerMessage): void;
  /** The socket went away: a flush without its sync will come again. */
  onLost(): void;
  onState(state: ConnectionState): void;
  /** An error message the server sent without closing (the socket stays open). */
  onServerError?(error: { code: string; message: string }): void;
  /** The server's clock minus ours, from each pong (ms). */
  onClockOffset?(offsetMs: number): void;
  random?: () => number;
  /** A ping this often (browsers can't send WebSocket pings), so a dead connection is noticed. */
  pingEveryMs?: number;
  /** Nothing heard for this long: the connection is taken for dead. */
  silenceMs?: number;
}

/** Close codes after which trying again with the same key cannot help (docs/realtime.md#close-codes). */
const REFUSED = new Set([4401, 4403, 4404]);

const REASONS: Record<number, string> = {
  1001: 'the server is restarting',
  1006: 'the connection dropped',
  1009: 'a message was too large',
  4408: 'the page fell behind the live feed',
  4429: 'too many dashboards are open for this project',
  4500: 'the server had an internal error',
  4503: 'the server could not check the key (storage unreachable)',
};

/**
 * The server's clock minus ours, from a ping sent at `sentAt` and its pong received at
 * `receivedAt` carrying the server's `serverTime` (the midpoint guess, as NTP's).
 */
export function clockOffset(sentAt: number, receivedAt: number, serverTime: number): number {
  return serverTime - (sentAt + receivedAt) / 2;
}

/**
 * One /v1/live connection kept open: it sends the key as the first message (so the key
 * is in no URL), subscribes (resuming from the model's last sync when it has one), and
 * on any loss reconnects after an exponential backoff with jitter. Pure of the DOM: the
 * socket, the timers and the randomness are handed in.
 */
export class LiveConnection {
  private socket: SocketLike | null = null;
  private readonly backoff: Backoff;
  private retryTimer: unknown = null;
  private pingTimer: unknown = null;
  private lastHeard = 0;
  private pingSentAt: number | null = null;
  private lastError: { code: string; message: string } | null = null;
  private stopped = true;
  private readonly pingEveryMs: number;
  private readonly silenceMs: number;

  constructor(private readonly options: LiveConnectionOptions) {
    this.backoff = new Backoff({ baseMs: 1000, maxMs: 30_000, random: options.random });
    this.pingEveryMs = options.pingEveryMs ?? 15_000;
    this.silenceMs = options.silenceMs ?? 40_000;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.drop(1000, 'dashboard closed');
    this.options.onState({ kind: 'stopped' });
  }

  /** Skips the wait (a "Reconnect now" button, the browser coming back online). */
  reconnectNow(): void {
    if (this.stopped || this.socket !== null) return;
    this.clearTimers();
    this.open();
  }

  /** The network went away (the browser's `offline` event): wait for it instead of retrying. */
  offline(): void {
    if (this.stopped) return;
    this.lose('the browser is offline', false);
  }

  private open(): void {
    const { options } = this;
    this.lastError = null;
    options.onState({ kind: 'connecting', attempt: this.backoff.attempts });
    let socket: SocketLike;
    try {
      socket = options.createSocket(options.url);
    } catch {
      this.lose('could not open a WebSocket');
      return;
    }
    this.socket = socket;
    this.lastHeard = options.timers.now();
    socket.onopen = () => {
      const resume = options.resumePoint();
      socket.send(JSON.stringify({ type: 'auth', key: options.key }));
      socket.send(JSON.stringify({ type: 'subscribe', channels: options.channels, ...(resume === undefined ? {} : resume) }));
      this.schedulePing(0);
    };
    socket.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      this.lastHeard = options.timers.now();
      const message = parseServerMessage(event.data);
      if (message === undefined) return;
      if (message.type === 'error') {
        this.lastError = message.error;
        options.onServerError?.(message.error);
        return;
      }
      if (message.type === 'pong') {
        if (this.pingSentAt !== null) options.onClockOffset?.(clockOffset(this.pingSentAt, this.lastHeard, message.time));
        this.pingSentAt = null;
        return;
      }
      if (message.type === 'subscribed') {
        this.backoff.reset();
        options.onState({ kind: 'live', resumed: message.resumed });
      }
      options.onMessage(message);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (REFUSED.has(event.code)) {
        this.clearTimers();
        options.onLost();
        this.stopped = true;
        options.onState({ kind: 'refused', message: this.lastError?.message ?? (event.reason || `the server refused the key (${event.code})`) });
        return;
      }
      this.lose(this.lastError?.message ?? REASONS[event.code] ?? (event.reason || `the connection closed (${event.code})`));
    };
    socket.onerror = null;
  }

  private schedulePing(delay: number): void {
    const { timers } = this.options;
    timers.clearTimeout(this.pingTimer);
    this.pingTimer = timers.setTimeout(() => {
      if (this.socket === null) return;
      const now = timers.now();
      if (now - this.lastHeard > this.silenceMs) {
        this.lose('no answer from the server');
        return;
      }
      this.pingSentAt = now;
      try {
        this.socket.send(JSON.stringify({ type: 'ping' }));
      } catch {
        // A socket closing under us: its close event follows.
      }
      this.schedulePing(this.pingEveryMs);
    }, delay);
  }

  /** Forgets the socket (if any) and waits before the next attempt. */
  private lose(reason: string, retry = true): void {
    this.drop(4000, 'reconnecting');
    this.options.onLost();
    this.clearTimers();
    if (this.stopped) return;
    const { timers } = this.options;
    const attempt = this.backoff.attempts + 1;
    if (!retry) {
      this.options.onState({ kind: 'waiting', retryAt: Number.POSITIVE_INFINITY, attempt, reason });
      return;
    }
    const delay = this.backoff.next();
    this.options.onState({ kind: 'waiting', retryAt: timers.now() + delay, attempt, reason });
    this.retryTimer = timers.setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  private drop(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = null;
    this.pingSentAt = null;
    if (socket === null) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    try {
      socket.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  private clearTimers(): void {
    const { timers } = this.options;
    timers.clearTimeout(this.retryTimer);
    timers.clearTimeout(this.pingTimer);
    this.retryTimer = null;
    this.pingTimer = null;
  }
}
