import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { waitFor } from './helpers.js';
import type { LiveMessage } from './live-client.js';

/** Clients that keep going through faults: a load that resends until acknowledged, and a dashboard that reconnects and resumes. */

/**
 * Batches of `batch` events every `everyMs`, each resent (same eventIds) until
 * acknowledged, as the SDKs do; the ingest processes taken in turn, as a load balancer
 * does, so an attempt that got no answer goes to the next one.
 */
export class SteadyLoad {
  acknowledged = 0;
  generated = 0;
  /** When each event was acknowledged, by eventId. */
  readonly acknowledgedAt = new Map<string, number>();
  /** Non-202 answers by status, and requests that got no answer. */
  readonly refusals = new Map<string, number>();
  lastAcknowledgedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private turn = 0;

  constructor(private readonly urls: readonly string[], private readonly writeKey: string, private readonly event: string, private readonly batch = 10, private readonly everyMs = 50) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.inFlight.size >= 100) return; // bounded, like an SDK's queue
      const events = Array.from({ length: this.batch }, (_, i) => ({ event: this.event, userId: `u${(this.generated + i) % 40}`, eventId: randomUUID() }));
      this.generated += events.length;
      const delivery = this.deliver(events).finally(() => this.inFlight.delete(delivery));
      this.inFlight.add(delivery);
    }, this.everyMs);
  }

  /** Stops making events and waits until every one made is acknowledged. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
  }

  private count(what: string): void {
    this.refusals.set(what, (this.refusals.get(what) ?? 0) + 1);
  }

  private async deliver(events: Array<Record<string, unknown>>): Promise<void> {
    let left = events;
    for (;;) {
      try {
        const res = await fetch(`${this.urls[this.turn++ % this.urls.length]}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${this.writeKey}` }, body: JSON.stringify(left), signal: AbortSignal.timeout(5000) });
        const body = (await res.json()) as { accepted: number; rejected: Array<{ index: number; retriable?: boolean; errors: string[] }> };
        if (res.status === 202) {
          this.acknowledged += body.accepted;
          this.lastAcknowledgedAt = Date.now();
          const final = body.rejected.filter((r) => r.retriable !== true);
          if (final.length > 0) throw new Error(`events refused for good: ${JSON.stringify(final)}`);
          const resend = new Set(body.rejected.map((r) => r.index));
          left.forEach((e, i) => resend.has(i) || this.acknowledgedAt.set(e.eventId as string, this.lastAcknowledgedAt));
          left = body.rejected.map((r) => left[r.index]!);
          if (left.length === 0) return;
          this.count('202 with retriable rejections');
        } else {
          this.count(String(res.status));
        }
      } catch (err) {
        if ((err as Error).message.startsWith('events refused')) throw err;
        this.count('no answer');
      }
      await sleep(200);
    }
  }
}

/**
 * A dashboard that stays open through faults: it applies a flush's deltas when the
 * flush's `sync` arrives, reconnects when its socket drops (to the next gateway, as
 * behind a load balancer) and resumes from the last sync's seq and epoch, as
 * docs/realtime.md#resuming says a client should.
 */
export class WatchingDashboard {
  private figures = new Map<string, number>();
  private pending: LiveMessage[] = [];
  private seq: number | undefined;
  private epoch: string | undefined;
  private socket: WebSocket | undefined;
  private stopped = false;
  /** Each answer to a subscribe: resumed, or snapshots (with their reason). */
  readonly answers: Array<{ at: number; resumed: boolean; reason?: string }> = [];
  closes = 0;
  private turn = 0;

  constructor(private readonly urls: readonly string[], private readonly readKey: string) {}

  total(event: string): number {
    let sum = 0;
    for (const [key, count] of this.figures) if (key.startsWith(`${event}|`)) sum += count;
    return sum;
  }

  async open(): Promise<void> {
    this.connect();
    await waitFor(() => this.answers.length > 0, 'the dashboard\'s first snapshot');
  }

  close(): void {
    this.stopped = true;
    this.socket?.close();
  }

  private connect(): void {
    const socket = new WebSocket(`${this.urls[this.turn++ % this.urls.length]!.replace(/^http/, 'ws')}/v1/live?key=${encodeURIComponent(this.readKey)}`);
    this.socket = socket;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'subscribe', channels: ['events'], ...(this.seq === undefined ? {} : { resume: this.seq, epoch: this.epoch }) })));
    socket.on('message', (data) => this.receive(JSON.parse(String(data)) as LiveMessage));
    socket.on('error', () => undefined); // the close that follows reconnects
    socket.on('close', () => {
      // An unfinished flush comes again after the resume.
      this.pending = [];
      if (this.stopped) return;
      this.closes++;
      setTimeout(() => this.connect(), 200);
    });
  }

  private receive(m: LiveMessage): void {
    if (m.type === 'subscribed' && m.resumed === true) this.answers.push({ at: Date.now(), resumed: true });
    if (m.channel !== 'events' && m.type !== 'sync') return;
    if (m.type === 'snapshot') {
      this.answers.push({ at: Date.now(), resumed: false, ...(typeof m.reason === 'string' ? { reason: m.reason } : {}) });
      this.figures = new Map((m.counts as Array<{ event: string; bucket: string; count: number }>).map((c) => [`${c.event}|${c.bucket}`, c.count]));
      this.pending = [];
      this.seq = m.seq;
    } else if (m.type === 'delta') {
      this.pending.push(m);
    } else if (m.type === 'sync') {
      for (const d of this.pending) this.figures.set(`${d.event}|${d.bucket}`, (this.figures.get(`${d.event}|${d.bucket}`) ?? 0) + d.increment!);
      this.pending = [];
      this.seq = m.seq;
      this.epoch = m.epoch as string;
    }
  }
}
