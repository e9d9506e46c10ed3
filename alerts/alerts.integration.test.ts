import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSignalboard, type RunningSignalboard } from '../bin/start.js';
import { createLogger } from '../core/logger.js';
import { ALERT_COLLECTIONS } from '../model/alert-rules.js';
import { bucketStart } from '../model/time-buckets.js';
import { deleteKeysWithPrefix } from '../core/redis.js';
import { startTestServer, TestClock, waitFor, type TestServer } from '../test/helpers.js';
import { connectLive, type LiveClient } from '../test/live-client.js';
import { sendAll } from '../test/pipeline-check.js';
import { signWebhookBody, verifyWebhookSignature } from './webhook-signing.js';

interface Received {
  body: Record<string, unknown>;
  text: string;
  timestamp: string;
  valid: boolean;
  answered: number;
}

/** A webhook receiver on loopback: answers 500 to the first request of each delivery, then 200. */
async function webhookReceiver(): Promise<{ server: Server; url: string; received: Received[]; secret: { value: string } }> {
  const received: Received[] = [];
  const secret = { value: '' };
  const seen = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const delivery = String(req.headers['x-signalboard-delivery']);
      const valid = verifyWebhookSignature(secret.value, String(req.headers['x-signalboard-timestamp']), text, String(req.headers['x-signalboard-signature']));
      const answered = seen.has(delivery) ? 200 : 500;
      seen.add(delivery);
      received.push({ body: JSON.parse(text) as Record<string, unknown>, text, timestamp: String(req.headers['x-signalboard-timestamp']), valid, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}/hook`, received, secret };
}

// The test's receivers listen on loopback, which webhooks reach only when allowed.
const ALERT_SETTINGS = { LIVE_FLUSH_MS: '20', ALERTS_RULES_REFRESH_MS: '200', ALERTS_LEASE_MS: '1000', WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_RETRY_MAX_MS: '200', WEBHOOK_ALLOWED_DESTINATIONS: '127.0.0.1' };

describe('alerts', () => {
  let server: TestServer;
  const clock = new TestClock();
  let project: { id: string; writeKey: string; readKey: string; adminKey: string };
  let hooks: Awaited<ReturnType<typeof webhookReceiver>>;
  let dashboard: LiveClient;
  // The restart test replaces the first process by two: alerts alone, and the rest.
  let second: RunningSignalboard | undefined;
  let third: RunningSignalboard | undefined;
  let base = '';
  let event = 0;

  const api = async (method: string, path: string, key: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}` }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (res.status === 204 ? null : await res.json()) as Record<string, unknown> };
  };
  const send = (name: string, count: number, at = Date.now(), platform = 'web') =>
    sendAll(base, project.writeKey, Array.from({ length: count }, (_, i) => ({ event: name, userId: `u${i}`, eventId: `a${event++}`, timestamp: at, properties: { platform } })));
  const alertsOf = (ruleId: string) => dashboard.messages.filter((m) => m.type === 'alert' && m.ruleId === ruleId).map((m) => m.state);
  const history = async (ruleId: string) => ((await api('GET', `/v1/alerts/history?rule=${ruleId}`, project.readKey)).body.firings as { state: string }[]).map((f) => f.state);

  beforeAll(async () => {
    server = await startTestServer(ALERT_SETTINGS, ['ingest', 'aggregator', 'realtime', 'alerts', 'api'], clock);
    base = server.url;
    project = (await server.createProject('alerts')) as typeof project;
    hooks = await webhookReceiver();
    dashboard = await connectLive(server.url, `?key=${project.readKey}`);
    dashboard.send({ type: 'subscribe', channels: ['alerts'] });
    await dashboard.waitFor((m) => m.some((x) => x.type === 'snapshot' && x.channel === 'alerts'), 'the alerts snapshot');
  });

  afterAll(async () => {
    dashboard?.socket.terminate();
    hooks?.server.close();
    await second?.stop();
    if (third === undefined) await server?.stop();
    else {
      await third.runtime.mongo.db.dropDatabase();
      await deleteKeysWithPrefix(third.runtime.redis, server.config.REDIS_KEY_PREFIX);
      await third.stop();
    }
  });

  it('manages rules: admin key writes, read key reads, bad rules get specific errors', async () => {
    const rule = { name: 'n', metric: { type: 'count', event: 'x' }, condition: { kind: 'threshold', op: '>', value: 1, window: '1m' } };
    expect((await api('POST', '/v1/alerts', project.readKey, rule)).body).toMatchObject({ error: { code: 'SB_AUTH_WRONG_KEY' } });
    const bad = await api('POST', '/v1/alerts', project.adminKey, { ...rule, metric: { type: 'count', event: 'x', where: { os: 'ios' } } });
    expect(bad.status).toBe(400);
    expect((bad.body.error as { message: string }).message).toContain('metric.where.os: "os" is not a dimension');
    // A webhook into the machine's or the cloud's own network is refused when saved (and again at every delivery).
    const metadata = await api('POST', '/v1/alerts', project.adminKey, { ...rule, webhook: { url: 'http://169.254.169.254/latest/meta-data/' } });
    expect(metadata.status).toBe(400);
    expect(metadata.body.error).toEqual({ code: 'SB_PARAM_INVALID', message: 'webhook.url: 169.254.169.254 is a link-local address (refused unless WEBHOOK_ALLOWED_DESTINATIONS names it)' });
    const created = await api('POST', '/v1/alerts', project.adminKey, rule);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await api('GET', `/v1/alerts/${id}`, project.readKey)).body).toMatchObject({ id, name: 'n', state: { status: expect.any(String) } });
    expect((await api('PUT', `/v1/alerts/${id}`, project.adminKey, { ...rule, name: 'renamed' })).body).toMatchObject({ name: 'renamed' });
    const other = await server.createProject('other');
    expect((await api('GET', `/v1/alerts/${id}`, other.readKey)).status).toBe(404);
    expect((await api('DELETE', `/v1/alerts/${id}`, project.adminKey)).status).toBe(204);
    expect((await api('GET', '/v1/alerts', project.readKey)).body).toEqual({ alerts: [] });
  });

  it('fires a threshold rule on the event that crosses it, to dashboards and a signed webhook retried after a 500', async () => {
    const created = await api('POST', '/v1/alerts', project.adminKey, {
      name: 'checkouts', metric: { type: 'count', event: 'checkout' }, condition: { kind: 'threshold', op: '>', value: 5, window: '5m' }, webhook: { url: hooks.url },
    });
    expect(created.body.webhookSecret).toMatch(/^whsec_/);
    hooks.secret.value = created.body.webhookSecret as string;
    const id = created.body.id as string;
    await new Promise((r) => setTimeout(r, 500)); // the evaluator picks the rule up
    await send('checkout', 5);
    await new Promise((r) => setTimeout(r, 1000));
    expect(alertsOf(id)).toEqual([]);
    await send('checkout', 1);
    await dashboard.waitFor(() => alertsOf(id).length === 1, 'the firing alert');
    expect(dashboard.messages.find((m) => m.type === 'alert' && m.ruleId === id)).toMatchObject({ channel: 'alerts', state: 'firing', value: 6, name: 'checkouts' });

    await waitFor(() => hooks.received.some((r) => r.answered === 200), 'the webhook delivered after its retry');
    expect(hooks.received.map((r) => [r.answered, r.valid, r.body.ruleId, r.body.state])).toEqual([[500, true, id, 'firing'], [200, true, id, 'firing']]);
    const { text, timestamp } = hooks.received[0]!;
    expect(verifyWebhookSignature('wrong-secret', timestamp, text, signWebhookBody(hooks.secret.value, timestamp, text))).toBe(false);
    // The receiver answers before the outcome is recorded: wait for the record, not the request.
    const deliveriesOf = async () => (await api('GET', `/v1/alerts/${id}/deliveries`, project.readKey)).body.deliveries as { status: string; attempts: unknown[]; secret?: string }[];
    await waitFor(async () => (await deliveriesOf())[0]?.status !== 'pending', 'the delivery recorded as done');
    const deliveries = await deliveriesOf();
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ status: 'delivered', attempts: [expect.objectContaining({ status: 500 }), expect.objectContaining({ status: 200 })] });
    expect(deliveries[0]!.secret).toBeUndefined();
    expect(await history(id)).toEqual(['firing']);
  });

  it('stops a deleted rule\'s queued deliveries: no attempt follows the delete', async () => {
    // An endpoint that always fails, so the delivery keeps being retried until stopped.
    let attempts = 0;
    const failing = createServer((req, res) => {
      attempts++;
      req.resume();
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = failing.address() as { port: number };
      const id = (await api('POST', '/v1/alerts', project.adminKey, {
        name: 'to delete', metric: { type: 'count', event: 'doomed' }, condition: { kind: 'threshold', op: '>', value: 0, window: '5m' }, webhook: { url: `http://127.0.0.1:${port}/hook` },
      })).body.id as string;
      await new Promise((r) => setTimeout(r, 500));
      await send('doomed', 1);
      await waitFor(() => attempts >= 2, 'the delivery retried');
      expect((await api('DELETE', `/v1/alerts/${id}`, project.adminKey)).status).toBe(204);
      const deliveries = server.running.runtime.mongo.db.collection(ALERT_COLLECTIONS.deliveries);
      await waitFor(async () => (await deliveries.findOne({ ruleId: id }))?.status === 'cancelled', 'the delivery cancelled');
      // An attempt under way at the delete may still end; none starts after it.
      await new Promise((r) => setTimeout(r, 300));
      const after = attempts;
      await new Promise((r) => setTimeout(r, 1000));
      expect(attempts).toBe(after);
      expect(await deliveries.findOne({ ruleId: id })).toMatchObject({ status: 'cancelled' });
    } finally {
      failing.close();
    }
  });

  it('counts only the events whose dimension matches a filtered rule', async () => {
    const ios = (await api('POST', '/v1/alerts', project.adminKey, {
      name: 'ios taps', metric: { type: 'count', event: 'tap', where: { platform: 'ios' } }, condition: { kind: 'threshold', op: '>', value: 2, window: '5m' },
    })).body.id as string;
    await new Promise((r) => setTimeout(r, 500));
    await send('tap', 5, Date.now(), 'web');
    await new Promise((r) => setTimeout(r, 1000));
    expect(alertsOf(ios)).toEqual([]);
    await send('tap', 3, Date.now(), 'ios');
    await dashboard.waitFor(() => alertsOf(ios).length === 1, 'the filtered rule firing');
    expect(dashboard.messages.find((m) => m.type === 'alert' && m.ruleId === ios)).toMatchObject({ state: 'firing', value: 3 });
  });

  it('fires and resolves with hysteresis in time, and an anomaly fires on a spike over its baseline and resolves when it passes', async () => {
    const quiet = (await api('POST', '/v1/alerts', project.adminKey, {
      name: 'no heartbeat', metric: { type: 'count', event: 'heartbeat' }, condition: { kind: 'threshold', op: '<', value: 1, window: '5m', hysteresis: 1 }, resolveAfter: '1s',
    })).body.id as string;
    await dashboard.waitFor(() => alertsOf(quiet).length === 1, 'the quiet rule firing');
    // One heartbeat ends the breach but stays inside the hysteresis band (clear needs 2): still firing.
    // (Five minutes, so both heartbeats fall in the window whenever the minute turns.)
    await send('heartbeat', 1);
    await new Promise((r) => setTimeout(r, 2500));
    expect(alertsOf(quiet)).toEqual(['firing']);
    await send('heartbeat', 1);
    await dashboard.waitFor(() => alertsOf(quiet).length === 2, 'the quiet rule resolving');
    expect(alertsOf(quiet)).toEqual(['firing', 'resolved']);
    expect(await history(quiet)).toEqual(['resolved', 'firing']);

    // A baseline of 4-6 signups a minute over the three minutes before this one, then 40 in it.
    // The evaluator's clock is set 30 s into the minute, so the real minute turning halfway
    // changes nothing; later it is moved a minute on instead of waiting for one.
    const minute = bucketStart(Date.now(), 'minute');
    clock.offsetMs = minute + 30_000 - Date.now();
    const spike = (await api('POST', '/v1/alerts', project.adminKey, {
      name: 'signup spike', metric: { type: 'count', event: 'signup' }, condition: { kind: 'anomaly', window: '1m', baselineWindows: 3, zScore: 3, minVolume: 2, direction: 'up' }, resolveAfter: '0s',
    })).body.id as string;
    for (const [back, n] of [[3, 4], [2, 5], [1, 6]] as const) await send('signup', n, minute - back * 60_000 + 1000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(alertsOf(spike)).toEqual([]);
    await send('signup', 40, minute + 20_000);
    await dashboard.waitFor(() => alertsOf(spike).length === 1, 'the anomaly firing');
    const fired = dashboard.messages.find((m) => m.type === 'alert' && m.ruleId === spike)!;
    // It fires on the first flush that takes z past 3, whatever part of the spike has arrived by then.
    expect(fired.value as number).toBeGreaterThanOrEqual(3);
    // When the minute turns, the spike is baseline and the current window quiet: resolved.
    clock.offsetMs += 60_000;
    await dashboard.waitFor(() => alertsOf(spike).length === 2, 'the anomaly resolving');
    expect(alertsOf(spike)).toEqual(['firing', 'resolved']);
    expect(await history(spike)).toEqual(['resolved', 'firing']);
  }, 60_000);

  it('runs once with two processes, and a restart or a new leader does not fire again', async () => {
    const urls = { redisUrl: server.config.REDIS_URL!, mongoUrl: server.config.MONGODB_URL! };
    second = await startSignalboard(['alerts'], server.config, createLogger('silent'), urls);
    // Two alerts processes now: one leads, the other stands by, so a crossing notifies once.
    const duo = (await api('POST', '/v1/alerts', project.adminKey, {
      name: 'duo', metric: { type: 'count', event: 'duo' }, condition: { kind: 'threshold', op: '>', value: 2, window: '5m' }, webhook: { url: hooks.url },
    })).body;
    hooks.secret.value = duo.webhookSecret as string;
    await new Promise((r) => setTimeout(r, 500));
    await send('duo', 3);
    await dashboard.waitFor(() => alertsOf(duo.id as string).length === 1, 'the duo rule firing');
    const duoHooks = () => hooks.received.filter((r) => r.body.ruleId === duo.id);
    await waitFor(() => duoHooks().some((r) => r.answered === 200), "the duo rule's webhook delivered");
    await new Promise((r) => setTimeout(r, 1500));
    expect(alertsOf(duo.id as string)).toEqual(['firing']);
    expect(duoHooks().map((r) => [r.answered, r.valid, r.body.state])).toEqual([[500, true, 'firing'], [200, true, 'firing']]);

    const before = dashboard.messages.filter((m) => m.type === 'alert').length;
    const webhooksBefore = hooks.received.length;
    // The first process stops; the second takes the leader lease over and loads the stored states.
    await server.running.stop();
    third = await startSignalboard(['ingest', 'aggregator', 'realtime', 'api'], server.config, createLogger('silent'), urls);
    base = `http://127.0.0.1:${third.port}`;
    await waitFor(async () => (await api('GET', '/v1/alerts', project.readKey)).status === 200, 'the restarted api');
    await new Promise((r) => setTimeout(r, 4000));
    const states = ((await api('GET', '/v1/alerts', project.readKey)).body.alerts as { name: string; state: { status: string; firings: number } }[]);
    expect(states.find((a) => a.name === 'checkouts')!.state.firings).toBe(1);
    expect(states.find((a) => a.name === 'signup spike')!.state).toMatchObject({ status: 'resolved', firings: 1 });
    expect(hooks.received.length).toBe(webhooksBefore);
    const relisten = await connectLive(base, `?key=${project.readKey}`);
    // The dashboard subscribed while the feed was empty: its syncs told it the epoch since.
    expect(dashboard.messages.find((m) => m.type === 'subscribed')).toMatchObject({ epoch: null });
    const { epoch } = dashboard.messages.filter((m) => m.type === 'sync').at(-1)!;
    expect(epoch).toMatch(/^\d+$/);
    relisten.send({ type: 'subscribe', channels: ['alerts'], resume: Math.max(...dashboard.messages.map((m) => m.seq ?? 0)), epoch });
    await relisten.waitFor((m) => m.some((x) => x.type === 'sync'), 'the resume answered');
    expect(relisten.messages.find((m) => m.type === 'subscribed')).toMatchObject({ resumed: true });
    await new Promise((r) => setTimeout(r, 1000));
    expect(relisten.messages.filter((m) => m.type === 'alert')).toEqual([]);
    expect(before).toBeGreaterThan(0);
    relisten.socket.terminate();
  });
});
