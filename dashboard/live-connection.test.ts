import { describe, expect, it } from 'vitest';
import { clockOffset, LiveConnection, type ConnectionState, type SocketLike, type Timers } from './live-connection.js';
import type { ServerMessage } from './live-messages.js';

class FakeSocket implements SocketLike {
  sent: unknown[] = [];
  closedWith: number | undefined;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;

  constructor(readonly url: string) {}
  send(text: string): void {
    this.sent.push(JSON.parse(text));
  }
  close(code?: number): void {
    this.closedWith = code;
  }
  // What the server does:
  open(): void {
    this.onopen?.();
  }
  receive(message: unknown): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code: number, reason = ''): void {
    this.onclose?.({ code, reason });
  }
}

/** Timers that run only when the test moves the clock. */
class FakeTimers implements Timers {
  time = 1_000_000;
  private next = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.pending].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = until;
  }
}

function setup(resume: { resume: number; epoch: string | null } | undefined = undefined) {
  const sockets: FakeSocket[] = [];
  const states: ConnectionState[] = [];
  const messages: ServerMessage[] = [];
  const offsets: number[] = [];
  let lost = 0;
  const timers = new FakeTimers();
  const point = { value: resume };
  const connection = new LiveConnection({
    url: 'ws://sb.example/v1/live',
    key: 'sbr_key',
    channels: ['events', 'alerts'],
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    timers,
    random: () => 0.5,
    resumePoint: () => point.value,
    onMessage: (m) => messages.push(m),
    onLost: () => lost++,
    onState: (s) => states.push(s),
    onClockOffset: (o) => offsets.push(o),
  });
  return { connection, sockets, states, messages, offsets, timers, point, lost: () => lost, last: () => sockets.at(-1)! };
}

describe('the live connection', () => {
  it('sends the key as its first message (never in the URL), then subscribes', () => {
    const t = setup();
    t.connection.start();
    expect(t.last().url).toBe('ws://sb.example/v1/live');
    t.last().open();
    expect(t.last().sent.slice(0, 2)).toEqual([{ type: 'auth', key: 'sbr_key' }, { type: 'subscribe', channels: ['events', 'alerts'] }]);
    t.last().receive({ type: 'subscribed', seq: 3, epoch: '1', channels: [], resumed: false });
    expect(t.states.at(-1)).toEqual({ kind: 'live', resumed: false });
    expect(t.messages.map((m) => m.type)).toEqual(['subscribed']);
  });

  it('after a drop, waits with backoff and jitter, then resumes from the seq and epoch of the last sync', () => {
    const t = setup();
    t.connection.start();
    t.last().open();
    t.point.value = { resume: 41, epoch: '1700' };
    t.last().drop(1006);
    expect(t.lost()).toBe(1);
    // random 0.5: 3/4 of the first ceiling (1 s).
    expect(t.states.at(-1)).toEqual({ kind: 'waiting', retryAt: t.timers.time + 750, attempt: 1, reason: 'the connection dropped' });
    t.timers.advance(749);
    expect(t.sockets).toHaveLength(1);
    t.timers.advance(1);
    expect(t.sockets).toHaveLength(2);
    t.last().open();
    expect(t.last().sent[1]).toEqual({ type: 'subscribe', channels: ['events', 'alerts'], resume: 41, epoch: '1700' });
  });

  it('waits longer after each failed attempt, and starts small again once subscribed', () => {
    const t = setup();
    t.connection.start();
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      t.last().drop(1006);
      const s = t.states.at(-1) as Extract<ConnectionState, { kind: 'waiting' }>;
      waits.push(s.retryAt - t.timers.time);
      t.timers.advance(s.retryAt - t.timers.time);
    }
    expect(waits).toEqual([750, 1500, 3000, 6000]);
    t.last().open();
    t.last().receive({ type: 'subscribed', seq: 1, epoch: null, channels: [], resumed: true });
    t.last().drop(1001);
    expect(t.states.at(-1)).toMatchObject({ kind: 'waiting', reason: 'the server is restarting', attempt: 1, retryAt: t.timers.time + 750 });
  });

  it('gives up on a refused key (4401) with the server\'s message, and does not retry', () => {
    const t = setup();
    t.connection.start();
    t.last().open();
    t.last().receive({ type: 'error', error: { code: 'SB_AUTH_INVALID', message: 'the key is not valid for any project' } });
    t.last().drop(4401);
    expect(t.states.at(-1)).toEqual({ kind: 'refused', message: 'the key is not valid for any project' });
    t.timers.advance(120_000);
    expect(t.sockets).toHaveLength(1);
  });

  it.each([
    [4429, 'too many dashboards are open for this project'],
    [4503, 'the server could not check the key (storage unreachable)'],
    [4408, 'the page fell behind the live feed'],
    [1011, 'the connection closed (1011)'],
  ])('retries after close code %i (%s)', (code, reason) => {
    const t = setup();
    t.connection.start();
    t.last().open();
    t.last().drop(code);
    expect(t.states.at(-1)).toMatchObject({ kind: 'waiting', reason });
    t.timers.advance(1000);
    expect(t.sockets).toHaveLength(2);
  });

  it('pings, takes the clock offset from the pong, and treats a silent connection as dead', () => {
    const t = setup();
    t.connection.start();
    t.last().open();
    expect(t.last().sent).toHaveLength(2);
    t.timers.advance(0);
    expect(t.last().sent[2]).toEqual({ type: 'ping' });
    t.timers.advance(100);
    t.last().receive({ type: 'pong', seq: 1, time: t.timers.time + 5000 });
    expect(t.offsets).toEqual([5050]);
    // Nothing heard for 40 s: the socket is given up and a new one opened.
    t.timers.advance(45_000);
    expect(t.last().closedWith).toBe(4000);
    expect(t.states.at(-1)).toMatchObject({ kind: 'waiting', reason: 'no answer from the server' });
    t.timers.advance(1000);
    expect(t.sockets).toHaveLength(2);
  });

  it('reconnects at once when asked (a button, the browser back online) and waits while offline', () => {
    const t = setup();
    t.connection.start();
    t.last().drop(1006);
    t.connection.reconnectNow();
    expect(t.sockets).toHaveLength(2);
    t.connection.offline();
    expect(t.states.at(-1)).toMatchObject({ kind: 'waiting', retryAt: Number.POSITIVE_INFINITY, reason: 'the browser is offline' });
    t.timers.advance(600_000);
    expect(t.sockets).toHaveLength(2);
    t.connection.reconnectNow();
    expect(t.sockets).toHaveLength(3);
  });

  it('ignores events of a socket it already gave up, and stops cleanly', () => {
    const t = setup();
    t.connection.start();
    const first = t.last();
    first.drop(1006);
    t.timers.advance(1000);
    first.drop(1006);
    expect(t.sockets).toHaveLength(2);
    t.connection.stop();
    expect(t.last().closedWith).toBe(1000);
    expect(t.states.at(-1)).toEqual({ kind: 'stopped' });
    t.timers.advance(60_000);
    expect(t.sockets).toHaveLength(2);
  });

  it('estimates the clock offset from the midpoint of the round trip', () => {
    expect(clockOffset(1000, 1200, 6100)).toBe(5000);
  });
});
