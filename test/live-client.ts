import WebSocket from 'ws';

export interface LiveMessage {
  type: string;
  seq?: number;
  channel?: string;
  event?: string;
  bucket?: string;
  increment?: number;
  [key: string]: unknown;
}

/** A real WebSocket client of /v1/live that records every message it gets. */
export interface LiveClient {
  socket: WebSocket;
  messages: LiveMessage[];
  send(message: unknown): void;
  waitFor(check: (messages: LiveMessage[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the close code. */
  closed: Promise<number>;
  close(): Promise<void>;
}

/** `localAddress`: another loopback address to connect from (127.0.0.2, ...), as another client would. */
export async function connectLive(base: string, query: string, localAddress?: string): Promise<LiveClient> {
  const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/live${query}`, localAddress === undefined ? {} : { localAddress });
  const messages: LiveMessage[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as LiveMessage));
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  return {
    socket,
    messages,
    closed,
    send: (message) => socket.send(JSON.stringify(message)),
    async waitFor(check, what, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!check(messages)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last messages: ${JSON.stringify(messages.slice(-5))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      socket.close();
      await closed;
    },
  };
}

/** Event counts by name and minute bucket from the events snapshots and deltas received, in order. */
export function eventFigures(messages: readonly LiveMessage[]): Map<string, number> {
  const figures = new Map<string, number>();
  for (const m of messages) {
    if (m.channel !== 'events') continue;
    if (m.type === 'snapshot') {
      figures.clear();
      for (const c of m.counts as { event: string; bucket: string; count: number }[]) figures.set(`${c.event}|${c.bucket}`, c.count);
    } else if (m.type === 'delta') {
      const key = `${m.event}|${m.bucket}`;
      figures.set(key, (figures.get(key) ?? 0) + m.increment!);
    }
  }
  return figures;
}

/** Increments received per event name. */
export function deltaTotals(messages: readonly LiveMessage[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const m of messages) if (m.type === 'delta' && m.channel === 'events') totals.set(m.event!, (totals.get(m.event!) ?? 0) + m.increment!);
  return totals;
}
