import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRecompute } from '../aggregator/index.js';
import { createLogger } from '../core/logger.js';
import { closeRuntime, createRuntime } from '../core/runtime.js';
import { bucketStart } from '../model/time-buckets.js';
import { ADMIN_TOKEN, startTestServer, testRedis, waitFor, type TestServer } from '../test/helpers.js';
import { connectLive, deltaTotals, eventFigures, type LiveClient, type LiveMessage } from '../test/live-client.js';
import { sendAll, waitForDrain } from '../test/pipeline-check.js';
import type { TestEvent } from '../test/dataset.js';

const MINUTE = 60_000;
let runId = 0;

/** `count` events over `names` and `users`, timestamped in the last `minutes` minutes (none in the last 10 s, so no bucket is still filling at the check). */
function traffic(count: number, names: string[], users: number, minutes: number): TestEvent[] {
  const now = Date.now();
  const run = runId++;
  return Array.from({ length: count }, (_, i) => ({
    event: names[i % names.length]!,
    userId: `u${i % users}`,
    eventId: `r${run}-e${i}`,
    timestamp: now - 10_000 - ((i * 7919) % (minutes * MINUTE)),
    properties: { platform: 'web' },
  }));
}

function byName(events: readonly TestEvent[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const e of events) totals.set(e.event, (totals.get(e.event) ?? 0) + 1);
  return totals;
}

function sameTotals(received: Map<string, number>, sent: Map<string, number>): boolean {
  return received.size === sent.size && [...sent].every(([name, n]) => received.get(name) === n);
}

/** The API's minute counts for the names, as "event|bucket" → count (zero buckets left out). */
async function apiFigures(server: TestServer, readKey: string, names: string[], fromMs: number): Promise<Map<string, number>> {
  const figures = new Map<string, number>();
  const from = new Date(fromMs).toISOString();
  const to = new Date().toISOString();
  for (const name of names) {
    const res = await fetch(`${server.url}/v1/metrics/timeseries?event=${name}&from=${from}&to=${to}&granularity=minute`, { headers: { authorization: `Bearer ${readKey}` } });
    const { points } = (await res.json()) as { points: { t: string; count: number }[] };
    for (const p of points) if (p.count > 0) figures.set(`${name}|${p.t}`, p.count);
  }
  return figures;
}

/** One sample of the server's /metrics: `name{labels}`, or `name` alone when no labels are given; 0 when absent. */
async function metric(server: TestServer, name: string, labels?: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const series = labels === undefined ? name : `${name}\\{${labels}\\}`;
  return Number(new RegExp(`^${series} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}

const maxSeq = (messages: readonly LiveMessage[]) => Math.max(0, ...messages.map((m) => m.seq ?? 0));

describe('/v1/live gateway', () => {
  let server: TestServer;
  let project: { id: string; writeKey: string; readKey: string };
  const redis = testRedis();
  const clients: LiveClient[] = [];
  const live = async (query: string, from?: string) => {
    const client = await connectLive(server.url, query, from);
    clients.push(client);
    return client;
  };
  const drain = () => waitForDrain(redis, server.config.REDIS_KEY_PREFIX, server.config.STREAM_PARTITIONS);

  beforeAll(async () => {
    server = await startTestServer({ LIVE_FLUSH_MS: '20', LIVE_AUTH_TIMEOUT_SECONDS: '1', LIVE_MAX_SUBSCRIBES_PER_MINUTE: '6', LIVE_MAX_CONNECTIONS_PER_KEY: '30', LIVE_RESUME_PAGE_ENTRIES: '2', LIVE_MAX_UNAUTHENTICATED: '3', LIVE_MAX_UNAUTHENTICATED_PER_ADDRESS: '2' }, ['ingest', 'aggregator', 'realtime', 'api']);
    project = await server.createProject('live');
  });

  afterAll(async () => {
    for (const c of clients) c.socket.terminate();
    redis.disconnect();
    await server?.stop();
  });

  it('sends a snapshot, then deltas that add up to exactly what was sent and to the API figures', async () => {
    const names = ['view', 'click', 'buy'];
    const before = traffic(120, names, 30, 40);
    await sendAll(server.url, project.writeKey, before);
    await drain();

    const client = await live(`?key=${project.readKey}`);
    client.send({ type: 'subscribe', channels: ['events', 'activeUsers'] });
    await client.waitFor((m) => m.some((x) => x.type === 'snapshot' && x.channel === 'events'), 'the events snapshot');
    const snapshot = client.messages.find((x) => x.type === 'snapshot' && x.channel === 'events')!;
    const snapshotTotal = (snapshot.counts as { count: number }[]).reduce((a, c) => a + c.count, 0);
    expect(snapshotTotal).toBe(before.length);

    const after = traffic(300, names, 40, 40);
    await sendAll(server.url, project.writeKey, after);
    await client.waitFor((m) => sameTotals(deltaTotals(m), byName(after)), 'deltas adding up to the events sent');
    await drain();
    await new Promise((r) => setTimeout(r, 200));
    expect(deltaTotals(client.messages)).toEqual(byName(after));
    const seqs = client.messages.filter((m) => m.type === 'delta').map((m) => m.seq!);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const windowStart = Date.parse(snapshot.from as string);
    expect(eventFigures(client.messages)).toEqual(await apiFigures(server, project.readKey, names, windowStart));

    // Active users: today's DAU equals the API's, "now" the distinct users of the last five minutes.
    const today = new Date().toISOString().slice(0, 10);
    const res = await fetch(`${server.url}/v1/metrics/active-users?window=day&from=${today}&to=${today}`, { headers: { authorization: `Bearer ${project.readKey}` } });
    const { series } = (await res.json()) as { series: { users: number }[] };
    const recentUsers = new Set([...before, ...after].filter((e) => e.timestamp >= Date.now() - 4 * MINUTE).map((e) => e.userId));
    const lastGauge = () => client.messages.filter((m) => m.channel === 'activeUsers').at(-1)!;
    await client.waitFor(() => lastGauge().dau === series[0]!.users, `the activeUsers gauge to show DAU ${series[0]!.users}`);
    expect(lastGauge().date).toBe(today);
    expect(lastGauge().now).toBeGreaterThanOrEqual(recentUsers.size);
    expect(lastGauge().now).toBeLessThanOrEqual(new Set([...before, ...after].map((e) => e.userId)).size);
  });

  it('resumes from the last seq: nothing missed, nothing twice', async () => {
    const names = ['open', 'close'];
    const first = await live(`?key=${project.readKey}`);
    first.send({ type: 'subscribe', channels: ['events'], filter: { events: names } });
    await first.waitFor((m) => m.some((x) => x.type === 'snapshot'), 'the snapshot');
    const a = traffic(150, names, 20, 20);
    await sendAll(server.url, project.writeKey, a);
    await first.waitFor((m) => sameTotals(deltaTotals(m), byName(a)), 'the first deltas');
    const lastSeq = maxSeq(first.messages);
    const { epoch } = first.messages.filter((m) => m.type === 'sync').at(-1)!;
    expect(epoch).toMatch(/^\d+$/);
    await first.close();

    const b = traffic(200, names, 20, 20);
    await sendAll(server.url, project.writeKey, b);
    await drain();
    const second = await live(`?key=${project.readKey}`);
    second.send({ type: 'subscribe', channels: ['events'], filter: { events: names }, resume: lastSeq, epoch });
    await second.waitFor((m) => sameTotals(deltaTotals(m), byName(b)), 'the missed deltas');
    // The catch-up spanned several pages of LIVE_RESUME_PAGE_ENTRIES (2) feed entries.
    const resumed = second.messages.find((m) => m.type === 'subscribed')!;
    expect(resumed.seq! - lastSeq).toBeGreaterThan(2);
    const c = traffic(60, names, 20, 20);
    await sendAll(server.url, project.writeKey, c);
    await drain();
    await second.waitFor((m) => sameTotals(deltaTotals(m), byName([...b, ...c])), 'the missed deltas and the new ones');
    await new Promise((r) => setTimeout(r, 300));
    expect(second.messages.find((m) => m.type === 'subscribed')).toMatchObject({ resumed: true, from: lastSeq });
    expect(second.messages.some((m) => m.type === 'snapshot')).toBe(false);
    expect(deltaTotals(second.messages)).toEqual(byName([...b, ...c]));
    // The two connections together equal the API's figures.
    const windowStart = Date.parse(first.messages.find((m) => m.type === 'snapshot')!.from as string);
    expect(eventFigures([...first.messages, ...second.messages])).toEqual(await apiFigures(server, project.readKey, names, Math.max(windowStart, bucketStart(Date.now(), 'minute') - 59 * MINUTE)));

    // A seq the feed never gave, or one without the epoch it came with, gets a fresh snapshot, never silence.
    for (const unknown of [{ resume: lastSeq + 1_000_000, epoch }, { resume: lastSeq }]) {
      const third = await live(`?key=${project.readKey}`);
      third.send({ type: 'subscribe', channels: ['events'], ...unknown });
      await third.waitFor((m) => m.some((x) => x.type === 'snapshot'), 'a snapshot for an unknown seq');
      expect(third.messages.find((x) => x.type === 'snapshot')!.reason).toBe('resume-unknown-seq');
      expect(third.messages.find((x) => x.type === 'subscribed')).toMatchObject({ resumed: false });
    }
  });

  it('sends fresh snapshots after a recompute rewrote the figures', async () => {
    await sendAll(server.url, project.writeKey, traffic(50, ['fix'], 10, 10));
    await drain();
    const client = await live(`?key=${project.readKey}`);
    client.send({ type: 'subscribe', channels: ['events', 'activeUsers'] });
    await client.waitFor((m) => m.filter((x) => x.type === 'snapshot').length === 2, 'the snapshots');
    // Damage a minute document behind the gateway's back; the recompute repairs it and tells the gateways.
    await server.running.runtime.mongo.db.collection('counts_minute').updateMany({ projectId: project.id }, { $inc: { count: 1000 } });
    const today = Math.floor(Date.now() / 86_400_000);
    // As `signalboard recompute` does: in a process of its own.
    const { config } = server;
    const cli = await createRuntime(config, createLogger('silent'), { redisUrl: config.REDIS_URL!, mongoUrl: config.MONGODB_URL! });
    try {
      await runRecompute(cli, { projectId: project.id, fromDay: today, toDay: today });
    } finally {
      await closeRuntime(cli);
    }
    await client.waitFor((m) => m.filter((x) => x.type === 'snapshot' && x.reason === 'recompute').length === 2, 'snapshots after the recompute');
    const after = client.messages.slice(client.messages.findIndex((m) => m.reason === 'recompute'));
    const names = [...new Set((after.find((m) => m.channel === 'events')!.counts as { event: string }[]).map((c) => c.event))];
    expect(names.length).toBeGreaterThan(0);
    expect(eventFigures(after)).toEqual(await apiFigures(server, project.readKey, names, Date.parse(after.find((m) => m.channel === 'events')!.from as string)));
  });

  it('sends fresh snapshots when Redis loses the feed, and refuses resuming into the new one', async () => {
    const client = await live(`?key=${project.readKey}`);
    client.send({ type: 'subscribe', channels: ['events'] });
    await client.waitFor((m) => m.some((x) => x.type === 'sync'), 'the first sync');
    const subscribed = client.messages.find((m) => m.type === 'subscribed')!;
    const [epoch, seq] = [String(subscribed.epoch), subscribed.seq!];
    expect(epoch).toMatch(/^\d+$/);
    // What a Redis restart without persistence does to the feed.
    const prefix = server.config.REDIS_KEY_PREFIX;
    await redis.del(...['feedseq', 'feed', 'feedbatch', 'feedepoch'].map((k) => `${prefix}:${k}:{${project.id}}`));
    await client.waitFor((m) => m.some((x) => x.type === 'snapshot' && x.reason === 'feed lost'), 'a snapshot after the feed was lost');
    // The feed is empty now: its epoch is null, and a client can resume with it.
    const early = await live(`?key=${project.readKey}`);
    early.send({ type: 'subscribe', channels: ['events'] });
    await early.waitFor((m) => m.some((x) => x.type === 'sync'), 'the sync on the empty feed');
    expect(early.messages.find((m) => m.type === 'subscribed')).toMatchObject({ seq: 0, epoch: null });
    early.send({ type: 'subscribe', channels: ['events'], resume: 0, epoch: null });
    await early.waitFor((m) => m.some((x) => x.type === 'subscribed' && x.resumed === true), 'a resume on the empty feed');
    await sendAll(server.url, project.writeKey, traffic(5, ['after_loss'], 5, 1));
    await drain();
    const resumed = await live(`?key=${project.readKey}`);
    resumed.send({ type: 'subscribe', channels: ['events'], resume: Math.min(seq, 1), epoch });
    await resumed.waitFor((m) => m.some((x) => x.type === 'snapshot'), 'a snapshot instead of a resume');
    expect(resumed.messages.find((m) => m.type === 'snapshot')!.reason).toBe('resume-unknown-seq');
  });

  it('refuses a write key and an unknown key at the upgrade', async () => {
    await expect(connectLive(server.url, `?key=${project.writeKey}`)).rejects.toThrow(/401/);
    await expect(connectLive(server.url, '?key=sb_read_nope')).rejects.toThrow(/401/);
  });

  it('refuses a cross-project subscription and malformed messages with specific errors, and the socket stays open', async () => {
    const other = await server.createProject('other-refusals');
    const client = await live(`?key=${project.readKey}`);
    client.send({ type: 'subscribe', channels: ['events'], project: other.id });
    await client.waitFor((m) => m.some((x) => x.type === 'error'), 'the refusal');
    expect(client.messages.find((m) => m.type === 'error')!.error).toMatchObject({ code: 'SB_LIVE_FORBIDDEN' });
    client.send({ type: 'subscribe', channels: ['nope'] });
    client.socket.send('{not json');
    client.send({ type: 'subscribe', channels: ['events'], filter: { events: Array.from({ length: 101 }, (_, i) => `e${i}`) } });
    await client.waitFor((m) => m.filter((x) => x.type === 'error').length === 4, 'four refusals');
    const codes = client.messages.filter((m) => m.type === 'error').map((m) => (m.error as { code: string; message: string }));
    expect(codes.map((c) => c.code)).toEqual(['SB_LIVE_FORBIDDEN', 'SB_LIVE_MESSAGE_INVALID', 'SB_LIVE_MESSAGE_INVALID', 'SB_LIVE_TOO_MANY_SUBSCRIPTIONS']);
    expect(codes[1]!.message).toMatch(/channels\.0/);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
  });

  it("takes the project from the first message's key, and an unsubscribe of nothing does not stop the project for others", async () => {
    const other = await server.createProject('other-by-message');
    const byMessage = await live('');
    byMessage.send({ type: 'auth', key: other.readKey });
    await byMessage.waitFor((m) => m.some((x) => x.type === 'welcome'), 'the welcome');
    expect(byMessage.messages[0]).toMatchObject({ type: 'welcome', project: other.id });
    byMessage.send({ type: 'subscribe', channels: ['events'] });
    await byMessage.waitFor((m) => m.some((x) => x.type === 'snapshot'), 'the snapshot');
    const watcher = await live(`?key=${project.readKey}`);
    watcher.send({ type: 'subscribe', channels: ['events'], filter: { events: ['x'] } });
    await watcher.waitFor((m) => m.some((x) => x.type === 'snapshot'), 'the watcher snapshot');
    const idle = await live(`?key=${project.readKey}`);
    idle.send({ type: 'unsubscribe' });
    idle.send({ type: 'unsubscribe' });
    await idle.waitFor((m) => m.filter((x) => x.type === 'unsubscribed').length === 2, 'two unsubscribes');
    const before = deltaTotals(watcher.messages).get('x') ?? 0;
    await sendAll(server.url, project.writeKey, traffic(20, ['x'], 5, 1));
    await drain();
    await watcher.waitFor((m) => (deltaTotals(m).get('x') ?? 0) - before === 20, "the watcher's deltas");
    await new Promise((r) => setTimeout(r, 200));
    // The other project's figures never arrive.
    expect(byMessage.messages.filter((m) => m.type === 'delta')).toEqual([]);
  });

  it.each([
    ['says nothing', 4401, undefined, undefined],
    ['sends no JSON', 4400, '{not json', undefined],
    ['names a project that does not exist with the admin token', 4404, JSON.stringify({ type: 'auth', key: ADMIN_TOKEN, project: 'no-such-project' }), 'SB_PROJECT_NOT_FOUND'],
  ])('closes a socket that %s with %i', async (_, code, first, error) => {
    const socket = await live('');
    if (first !== undefined) socket.socket.send(first);
    expect(await socket.closed).toBe(code);
    if (error !== undefined) expect(socket.messages[0]).toMatchObject({ type: 'error', error: { code: error } });
  });

  it('takes the admin token with ?project in the first message', async () => {
    const admin = await live('');
    admin.send({ type: 'auth', key: ADMIN_TOKEN, project: project.id });
    await admin.waitFor((m) => m.some((x) => x.type === 'welcome'), 'the welcome for the admin token');
    expect(admin.messages[0]).toMatchObject({ project: project.id });
  });

  it('refuses subscribes past LIVE_MAX_SUBSCRIBES_PER_MINUTE (each costs a snapshot)', async () => {
    const eager = await live(`?key=${project.readKey}`);
    for (let i = 0; i < 7; i++) eager.send({ type: 'subscribe', channels: ['activeUsers'] });
    await eager.waitFor((m) => m.some((x) => x.type === 'error'), 'the refusal of the seventh subscribe');
    expect(eager.messages.filter((m) => m.type === 'error').map((m) => (m.error as { code: string }).code)).toEqual(['SB_LIVE_TOO_MANY_SUBSCRIPTIONS']);
  });

  it('counts what it sends to a socket by type and channel', async () => {
    const name = 'signalboard_live_messages_sent_total';
    const labels = ['channel="none",type="welcome"', 'channel="none",type="subscribed"', 'channel="events",type="snapshot"', 'channel="sync",type="sync"', 'channel="none",type="pong"'];
    const before = await Promise.all(labels.map((l) => metric(server, name, l)));
    const client = await live(`?key=${project.readKey}`);
    client.send({ type: 'subscribe', channels: ['events'] });
    client.send({ type: 'ping' });
    await client.waitFor((m) => m.some((x) => x.type === 'pong') && m.some((x) => x.type === 'sync'), 'the answers');
    const after = await Promise.all(labels.map((l) => metric(server, name, l)));
    expect(after.map((n, i) => n - before[i]!)).toEqual([1, 1, 1, 1, 1]);
  });

  it('builds a project\'s snapshot once for a crowd subscribing at one feed position, and apart for an event filter', async () => {
    const crowd = await server.createProject('snapshot-crowd');
    const builds = () => metric(server, 'signalboard_live_snapshot_builds_total', 'channel="events"');
    const before = await builds();
    const clients = await Promise.all(Array.from({ length: 12 }, () => live(`?key=${crowd.readKey}`)));
    for (const c of clients) c.send({ type: 'subscribe', channels: ['events'] });
    for (const c of clients) await c.waitFor((m) => m.some((x) => x.type === 'sync'), 'the snapshot');
    const texts = new Set(clients.map((c) => JSON.stringify(c.messages.find((m) => m.type === 'snapshot'))));
    // One build (two when a minute turned meanwhile), and every subscriber got the same snapshot of it.
    expect(await builds() - before).toBeLessThanOrEqual(texts.size);
    expect(texts.size).toBeLessThanOrEqual(2);
    const filtered = await live(`?key=${crowd.readKey}`);
    filtered.send({ type: 'subscribe', channels: ['events'], filter: { events: ['x'] } });
    await filtered.waitFor((m) => m.some((x) => x.type === 'sync'), 'the filtered snapshot');
    expect(await builds() - before).toBe(texts.size + 1);
    for (const c of [...clients, filtered]) c.socket.terminate();
  });

  it('takes a subscribe sent right behind its auth, answers pings, and leaves one channel on unsubscribe', async () => {
    // A new project, so its key is checked in MongoDB, not found in the gateway's cache.
    const fresh = await server.createProject('queued');
    const client = await live('');
    // No wait for the welcome: the subscribe queues behind the key check.
    client.send({ type: 'auth', key: fresh.readKey });
    client.send({ type: 'subscribe', channels: ['events', 'activeUsers'], filter: { events: ['tick'] } });
    await client.waitFor((m) => m.some((x) => x.type === 'sync'), 'the answer to the subscribe');
    expect(client.messages.map((m) => m.type)).toEqual(['welcome', 'subscribed', 'snapshot', 'snapshot', 'sync']);
    const sync = client.messages.find((m) => m.type === 'sync')!;
    client.send({ type: 'ping' });
    await client.waitFor((m) => m.some((x) => x.type === 'pong'), 'the pong');
    expect(client.messages.find((m) => m.type === 'pong')).toMatchObject({ seq: sync.seq, time: expect.any(Number) });

    client.send({ type: 'unsubscribe', channels: ['activeUsers'] });
    await client.waitFor((m) => m.some((x) => x.type === 'unsubscribed'), 'the unsubscribe');
    expect(client.messages.find((m) => m.type === 'unsubscribed')).toEqual({ type: 'unsubscribed', channels: ['activeUsers'] });
    const mark = client.messages.length;
    const delays = () => metric(server, 'signalboard_live_delay_seconds_count');
    const delaysBefore = await delays();
    await sendAll(server.url, fresh.writeKey, traffic(12, ['tick'], 4, 1));
    await client.waitFor((m) => deltaTotals(m.slice(mark)).get('tick') === 12, 'the events deltas after the unsubscribe');
    await drain();
    // The only dashboard of this project filters its events: its deltas count in the delay histogram too.
    expect(await delays()).toBeGreaterThan(delaysBefore);
    await new Promise((r) => setTimeout(r, 200));
    expect(client.messages.slice(mark).filter((m) => m.channel === 'activeUsers')).toEqual([]);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
  });

  it('lets at most LIVE_MAX_UNAUTHENTICATED connections wait for their key, at most LIVE_MAX_UNAUTHENTICATED_PER_ADDRESS from one address, and frees a place on auth', async () => {
    const waiting = await Promise.all([live('', '127.0.0.2'), live('', '127.0.0.2')]);
    // One address cannot take every place: others still get theirs.
    const greedy = await live('', '127.0.0.2');
    expect(await greedy.closed).toBe(4503);
    expect(greedy.messages).toEqual([{ type: 'error', error: expect.objectContaining({ code: 'SB_OVERLOADED', message: expect.stringContaining('LIVE_MAX_UNAUTHENTICATED_PER_ADDRESS'), retryAfter: 1 }) }]);
    waiting.push(await live('', '127.0.0.3'));
    const extra = await live('', '127.0.0.4');
    expect(await extra.closed).toBe(4503);
    expect(extra.messages).toEqual([{ type: 'error', error: expect.objectContaining({ code: 'SB_OVERLOADED', message: expect.stringContaining('(LIVE_MAX_UNAUTHENTICATED)'), retryAfter: 1 }) }]);
    // A key in the URL needs no place.
    const keyed = await live(`?key=${project.readKey}`);
    await keyed.waitFor((m) => m.some((x) => x.type === 'welcome'), 'the welcome of a connection with its key in the URL');
    waiting[0]!.send({ type: 'auth', key: project.readKey });
    await waiting[0]!.waitFor((m) => m.some((x) => x.type === 'welcome'), 'the welcome');
    // Its address's place is free again too.
    const next = await live('', '127.0.0.2');
    next.send({ type: 'auth', key: project.readKey });
    await next.waitFor((m) => m.some((x) => x.type === 'welcome'), 'the welcome of a connection that took the freed place');
    for (const c of [...waiting, keyed, next]) c.socket.terminate();
  });

  it('closes with 1009 past LIVE_MAX_MESSAGE_BYTES, and with 4429 past LIVE_MAX_CONNECTIONS_PER_KEY', async () => {
    const big = await live(`?key=${project.readKey}`);
    big.send({ type: 'subscribe', channels: ['events'], filter: { events: Array.from({ length: 100 }, () => 'x'.repeat(200)) } });
    expect(await big.closed).toBe(1009);

    const crowd = await server.createProject('crowd');
    const held = await Promise.all(Array.from({ length: 30 }, () => live(`?key=${crowd.readKey}`)));
    for (const c of held) await c.waitFor((m) => m.some((x) => x.type === 'welcome'), 'the welcome');
    const extra = await live(`?key=${crowd.readKey}`);
    expect(await extra.closed).toBe(4429);
    expect(extra.messages).toEqual([{ type: 'error', error: expect.objectContaining({ code: 'SB_LIVE_TOO_MANY_CONNECTIONS' }) }]);
    // A closed connection frees its place.
    await held[0]!.close();
    const again = await live(`?key=${crowd.readKey}`);
    await again.waitFor((m) => m.some((x) => x.type === 'welcome'), 'the welcome of a connection that took a freed place');
    for (const c of held) c.socket.terminate();
  });
});

describe('/v1/live connection cap', () => {
  it('closes connections past LIVE_MAX_CONNECTIONS with 4503 whatever their key, and takes new ones once some close', async () => {
    const server = await startTestServer({ LIVE_MAX_CONNECTIONS: '3' }, ['realtime', 'api']);
    const clients: LiveClient[] = [];
    try {
      const project = await server.createProject('capped');
      for (let i = 0; i < 3; i++) clients.push(await connectLive(server.url, `?key=${project.readKey}`));
      for (const c of clients) await c.waitFor((m) => m.some((x) => x.type === 'welcome'), 'the welcome');
      const extra = await connectLive(server.url, `?key=${project.readKey}`);
      expect(await extra.closed).toBe(4503);
      expect(extra.messages).toEqual([{ type: 'error', error: expect.objectContaining({ code: 'SB_OVERLOADED', message: expect.stringContaining('LIVE_MAX_CONNECTIONS'), retryAfter: 1 }) }]);
      await clients[0]!.close();
      const again = await connectLive(server.url, `?key=${project.readKey}`);
      clients.push(again);
      await again.waitFor((m) => m.some((x) => x.type === 'welcome'), 'the welcome of a connection that took a freed place');
    } finally {
      for (const c of clients) c.socket.terminate();
      await server.stop();
    }
  });
});

describe('/v1/live slow consumers', () => {
  const pause = (client: LiveClient) => (client.socket as unknown as { _socket: { pause(): void } })._socket.pause();
  const resume = (client: LiveClient) => (client.socket as unknown as { _socket: { resume(): void } })._socket.resume();

  /** A gateway with small buffer limits, and a project whose events snapshot (1,000 event names, some 85 KB) fills them fast. */
  async function slowSetup(settings: Record<string, string>, run: (server: TestServer, project: { writeKey: string; readKey: string }, client: LiveClient) => Promise<void>) {
    // Resumes read two feed entries at a time, so a catch-up spans pages; 1,000 names make large snapshots, and more follow.
    const server = await startTestServer({ LIVE_FLUSH_MS: '20', LIVE_SOFT_BUFFER_BYTES: '16384', LIVE_MAX_SUBSCRIBES_PER_MINUTE: '100000', LIVE_RESUME_PAGE_ENTRIES: '2', INGEST_MAX_EVENT_NAMES_PER_HOUR: '0', ...settings }, ['ingest', 'aggregator', 'realtime', 'api']);
    const redis = testRedis();
    let client: LiveClient | undefined;
    try {
      const project = await server.createProject('slow');
      await sendAll(server.url, project.writeKey, traffic(1000, Array.from({ length: 1000 }, (_, i) => `event_${i}`), 10, 1));
      await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, server.config.STREAM_PARTITIONS);
      client = await connectLive(server.url, `?key=${project.readKey}`);
      client.send({ type: 'subscribe', channels: ['events'] });
      await client.waitFor((m) => m.some((x) => x.type === 'sync'), 'the first snapshot and its sync');
      await run(server, project, client);
    } finally {
      client?.socket.terminate();
      redis.disconnect();
      await server.stop();
    }
  }

  it('closes a client that never reads with 4408, the buffer it is kept bounded', async () => {
    await slowSetup({ LIVE_MAX_BUFFER_BYTES: '65536', LIVE_SLOW_CLOSE_SECONDS: '1' }, async (server, _project, client) => {
      // A client that reads gets a snapshot larger than the buffer limit whole.
      const first = client.messages.find((m) => m.type === 'snapshot')!;
      const snapshotBytes = JSON.stringify(first).length;
      expect(snapshotBytes).toBeGreaterThan(65536);
      expect((first.counts as unknown[]).length).toBe(1000);
      // Stop reading, and keep asking for snapshots: the kernel's buffers fill, then the gateway's.
      pause(client);
      // One at a time, so the buffer is sampled between any two answers.
      let mostBuffered = 0;
      for (let i = 0; i < 5000 && (await metric(server, 'signalboard_live_slow_consumers_total', 'action="closed"')) === 0; i++) {
        client.send({ type: 'subscribe', channels: ['events'] });
        await new Promise((r) => setTimeout(r, 2));
        mostBuffered = Math.max(mostBuffered, await metric(server, 'signalboard_live_buffered_bytes', 'scope="max"'));
      }
      await waitFor(async () => (await metric(server, 'signalboard_live_slow_consumers_total', 'action="closed"')) === 1, 'the gateway to close the slow client');
      // At most the limit plus one answer (checked before it, then sent whole) ever waited for it.
      expect(mostBuffered).toBeGreaterThan(0);
      expect(mostBuffered).toBeLessThan(65536 + 2 * snapshotBytes);
      resume(client);
      expect(await client.closed).toBe(4408);
      const error = client.messages.find((m) => m.type === 'error');
      expect(error?.error).toMatchObject({ code: 'SB_LIVE_SLOW_CONSUMER' });
    });
  });

  it('stops live messages to a client that stops reading, and catches it up exactly, coalesced, when it reads again', async () => {
    await slowSetup({ LIVE_MAX_BUFFER_BYTES: String(64 * 1024 * 1024), LIVE_SLOW_CLOSE_SECONDS: '300' }, async (server, project, client) => {
      // Fill the kernel's buffers and then the gateway's past LIVE_SOFT_BUFFER_BYTES with snapshots.
      pause(client);
      for (let i = 0; i < 2000 && (await metric(server, 'signalboard_live_buffered_bytes', 'scope="max"')) <= 16384; i++) {
        for (let j = 0; j < 20; j++) client.send({ type: 'subscribe', channels: ['events'] });
        await new Promise((r) => setTimeout(r, 10));
      }
      // Events now: the next flush finds the socket behind and stops its live messages.
      const missed = traffic(200, ['late_a', 'late_b'], 20, 5);
      await sendAll(server.url, project.writeKey, missed.slice(0, 100));
      await waitFor(async () => (await metric(server, 'signalboard_live_slow_consumers_total', 'action="degraded"')) === 1, 'the socket degraded');
      await sendAll(server.url, project.writeKey, missed.slice(100));
      const redis = testRedis();
      await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, server.config.STREAM_PARTITIONS);
      redis.disconnect();
      resume(client);
      await client.waitFor((m) => m.some((x) => x.type === 'subscribed' && x.resumed === true), 'the catch-up');
      const catchUp = client.messages.slice(client.messages.findIndex((m) => m.type === 'subscribed' && m.resumed === true));
      await client.waitFor(() => sameTotals(deltaTotals(client.messages.slice(client.messages.findLastIndex((m) => m.type === 'snapshot'))), byName(missed)), 'deltas adding up to the events sent');
      await new Promise((r) => setTimeout(r, 300));
      // Nothing twice, nothing missed: after the last snapshot the deltas are exactly the events sent.
      const afterSnapshot = client.messages.slice(client.messages.findLastIndex((m) => m.type === 'snapshot'));
      expect(deltaTotals(afterSnapshot)).toEqual(byName(missed));
      // The catch-up is coalesced: one delta per event and minute, however many flushes it stands for.
      const keys = catchUp.slice(0, catchUp.findIndex((m) => m.type === 'sync')).filter((m) => m.type === 'delta').map((m) => `${m.event}|${m.bucket}`);
      expect(keys.length).toBeGreaterThan(0);
      expect(new Set(keys).size).toBe(keys.length);
      expect(await metric(server, 'signalboard_live_slow_consumers_total', 'action="closed"')).toBe(0);
      expect(client.socket.readyState).toBe(client.socket.OPEN);
    });
  }, 90_000);
});
