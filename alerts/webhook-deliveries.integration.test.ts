import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MongoClient, type Db } from 'mongodb';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { DestinationPolicy } from '../core/webhook-destination.js';
import { withDatabase } from '../core/mongo.js';
import { ALERT_COLLECTIONS } from '../model/alert-rules.js';
import { AlertStore, type DeliveryDoc } from '../model/alert-store.js';
import { DELIVERY_CLAIMS_COLLECTION } from './webhook-claims.js';
import { WebhookDeliveries, type WebhookDeliveryOptions } from './webhook-deliveries.js';
import type { DeliveryOutcome } from './webhook-policy.js';
import { verifyWebhookSignature } from './webhook-signing.js';

const SECRET = 'whsec_test';
// The receivers listen on loopback, which webhooks may reach only when allowed.
const OPTIONS: WebhookDeliveryOptions = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 200, timeoutMs: 2000, pollMs: 60_000, destinations: DestinationPolicy.parse('127.0.0.1') };
const FAR_FUTURE = new Date('2100-01-01');
const logger = createLogger('silent');

interface Received {
  id: string;
  /** This delivery's request number, 1-based. */
  n: number;
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** verifyWebhookSignature with the right secret, and with a wrong one. */
  valid: boolean;
  validWithWrongSecret: boolean;
}

interface Receiver {
  url: string;
  requests: Received[];
  count(id: string): number;
  close(): Promise<void>;
}

/** A real endpoint on 127.0.0.1; `answer` gives the status for a delivery's n-th request (or never answers). */
async function startReceiver(answer: (r: Received) => number | Promise<number> | 'hang'): Promise<Receiver> {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['x-signalboard-delivery']);
      const timestamp = String(req.headers['x-signalboard-timestamp']);
      const signature = req.headers['x-signalboard-signature'] as string | undefined;
      const r: Received = {
        id,
        n: requests.filter((x) => x.id === id).length + 1,
        at: Date.now(),
        headers: req.headers,
        body,
        valid: verifyWebhookSignature(SECRET, timestamp, body, signature),
        validWithWrongSecret: verifyWebhookSignature('whsec_wrong', timestamp, body, signature),
      };
      requests.push(r);
      void Promise.resolve(answer(r)).then((status) => {
        if (status !== 'hang') res.writeHead(status).end('ok');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/alerts`,
    requests,
    count: (id) => requests.filter((r) => r.id === id).length,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function delivery(id: string, url: string, payload: Record<string, unknown> = { ruleId: 'r1', state: 'firing', value: 42 }) {
  return { id, projectId: 'p1', ruleId: 'r1', url, secret: SECRET, payload };
}

describe('WebhookDeliveries', () => {
  const base = `sbtest_wh_${randomBytes(5).toString('hex')}`;
  let client: MongoClient;
  const dbs: Db[] = [];
  const receivers: Receiver[] = [];

  /** Each test its own database, dropped after it. */
  const freshDb = () => {
    const db = client.db(`${base}_${dbs.length}`);
    dbs.push(db);
    return db;
  };
  const receiver = async (answer: Parameters<typeof startReceiver>[0]) => {
    const r = await startReceiver(answer);
    receivers.push(r);
    return r;
  };
  const deliveries = async (db: Db, options: Partial<WebhookDeliveryOptions> = {}, onOutcome?: (o: DeliveryOutcome) => void) => {
    const wd = new WebhookDeliveries(db, { ...OPTIONS, ...options }, logger, onOutcome);
    await wd.ensureIndexes();
    return wd;
  };
  const read = async (db: Db, id: string) => (await db.collection<DeliveryDoc>(ALERT_COLLECTIONS.deliveries).findOne({ _id: id }))!;

  beforeAll(() => {
    client = new MongoClient(withDatabase(inject('mongoUrl'), base));
  });
  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.close();
    for (const db of dbs.splice(0)) await db.dropDatabase();
  });
  afterAll(() => client.close());

  it('retries with backoff until a 2xx answer, signing every request, and then sends nothing more', async () => {
    const db = freshDb();
    const hooks = await receiver((r) => (r.n <= 2 ? 500 : 204));
    const outcomes: DeliveryOutcome[] = [];
    const wd = await deliveries(db, {}, (o) => outcomes.push(o));
    const payload = { ruleId: 'r1', state: 'firing', value: 42, labels: { env: 'prod', note: 'ünïcode ✓' } };
    await wd.enqueue(delivery('r1:7:firing:webhook', hooks.url, payload));

    expect(await wd.runDue()).toBe(1);
    for (const expectedDelay of [50, 100]) {
      const doc = await read(db, 'r1:7:firing:webhook');
      expect(doc.status).toBe('pending');
      expect(doc.lockedUntil).toBeNull();
      const wait = doc.nextAttemptAt.getTime() - doc.attempts.at(-1)!.at.getTime();
      expect(wait).toBeGreaterThanOrEqual(expectedDelay);
      expect(wait).toBeLessThan(expectedDelay + 1000);
      expect(await wd.runDue(new Date(doc.nextAttemptAt.getTime() - 1))).toBe(0);
      expect(await wd.runDue(doc.nextAttemptAt)).toBe(1);
    }

    const doc = await read(db, 'r1:7:firing:webhook');
    expect(doc.status).toBe('delivered');
    expect(doc.deliveredAt).toBeInstanceOf(Date);
    expect(doc.attempts.map((a) => a.status)).toEqual([500, 500, 204]);
    expect(doc.attempts.every((a) => a.error === undefined && a.ms >= 0)).toBe(true);
    expect(outcomes).toEqual(['retry', 'retry', 'delivered']);

    expect(hooks.requests).toHaveLength(3);
    for (const r of hooks.requests) {
      expect(r.valid).toBe(true);
      expect(r.validWithWrongSecret).toBe(false);
      expect(JSON.parse(r.body)).toEqual(payload);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['user-agent']).toBe('Signalboard-Webhook/1');
      expect(r.headers['x-signalboard-delivery']).toBe('r1:7:firing:webhook');
      expect(Number(r.headers['x-signalboard-timestamp'])).toBeCloseTo(Date.now() / 1000, -2);
    }

    expect(await wd.runDue(FAR_FUTURE)).toBe(0);
    expect(hooks.requests).toHaveLength(3);

    const [listed] = await new AlertStore(db).deliveriesOf('p1', { limit: 10 });
    expect(listed).not.toHaveProperty('secret');
    expect(listed).toMatchObject({ _id: 'r1:7:firing:webhook', status: 'delivered', url: hooks.url, payload });
  });

  it('marks a delivery dead after maxAttempts of 500s, keeps every attempt, and stops sending', async () => {
    const db = freshDb();
    const hooks = await receiver(() => 500);
    const outcomes: DeliveryOutcome[] = [];
    const wd = await deliveries(db, { maxAttempts: 3 }, (o) => outcomes.push(o));
    await wd.enqueue(delivery('d1', hooks.url));

    for (let i = 0; i < 3; i++) expect(await wd.runDue((await read(db, 'd1')).nextAttemptAt)).toBe(1);
    const doc = await read(db, 'd1');
    expect(doc.status).toBe('dead');
    expect(doc.lockedUntil).toBeNull();
    expect(doc.attempts.map((a) => a.status)).toEqual([500, 500, 500]);
    expect(outcomes).toEqual(['retry', 'retry', 'dead']);

    expect(await wd.runDue(FAR_FUTURE)).toBe(0);
    expect(hooks.count('d1')).toBe(3);
    expect((await new AlertStore(db).deliveriesOf('p1', { status: 'dead', limit: 10 })).map((d) => d._id)).toEqual(['d1']);
  });

  it('refuses loopback, private and metadata destinations by default, literal or resolved at connection time, and reaches them when allowed', async () => {
    const db = freshDb();
    const hooks = await receiver(() => 204);
    const port = new URL(hooks.url).port;
    const wd = await deliveries(db, { maxAttempts: 1, destinations: DestinationPolicy.parse('') });
    await wd.enqueue(delivery('literal', hooks.url));
    // A name, not an address: only the connection's lookup can tell where it goes.
    await wd.enqueue(delivery('named', `http://localhost:${port}/hooks/alerts`));
    await wd.enqueue(delivery('metadata', 'http://169.254.169.254/latest/meta-data/'));
    expect(await wd.runDue()).toBe(3);
    expect(hooks.requests).toEqual([]);
    expect((await read(db, 'literal')).attempts[0]!.error).toBe('destination refused: 127.0.0.1 is a loopback address (refused unless WEBHOOK_ALLOWED_DESTINATIONS names it)');
    expect((await read(db, 'named')).attempts[0]!.error).toBe('destination refused: localhost resolves to a loopback address (refused unless WEBHOOK_ALLOWED_DESTINATIONS names it)');
    expect((await read(db, 'metadata')).attempts[0]!.error).toMatch(/^destination refused: 169\.254\.169\.254 is a link-local address/);
    expect((await read(db, 'metadata')).status).toBe('dead');

    // The operator names the host: delivered.
    const allowed = await deliveries(db, { maxAttempts: 1, destinations: DestinationPolicy.parse('localhost') });
    await allowed.enqueue(delivery('allowed', `http://localhost:${port}/hooks/alerts`));
    expect(await allowed.runDue()).toBe(1);
    expect((await read(db, 'allowed')).status).toBe('delivered');
    expect(hooks.count('allowed')).toBe(1);
  });

  it('counts a refused connection and a timeout as failed attempts', async () => {
    const db = freshDb();
    const silent = await receiver(() => 'hang');
    const wd = await deliveries(db, { maxAttempts: 2, timeoutMs: 300 });
    await wd.enqueue(delivery('refused', `http://127.0.0.1:${await closedPort()}/hook`));
    await wd.enqueue(delivery('timeout', silent.url));

    expect(await wd.runDue()).toBe(2);
    expect(await wd.runDue(FAR_FUTURE)).toBe(2);
    expect(await wd.runDue(FAR_FUTURE)).toBe(0);

    const refused = await read(db, 'refused');
    expect(refused.status).toBe('dead');
    expect(refused.attempts).toHaveLength(2);
    for (const a of refused.attempts) {
      expect(a.status).toBeUndefined();
      // A category: the connection's own text would name internal addresses and ports.
      expect(a.error).toBe('connection refused');
    }
    const timeout = await read(db, 'timeout');
    expect(timeout.status).toBe('dead');
    expect(timeout.attempts.map((a) => a.error)).toEqual(['timeout after 300 ms', 'timeout after 300 ms']);
    expect(timeout.attempts.every((a) => a.ms >= 250)).toBe(true);
    expect(silent.count('timeout')).toBe(2);
  });

  it('does not let an endpoint that never answers hold up the others beyond its timeout', async () => {
    const db = freshDb();
    const timeoutMs = 1500;
    const slow = await receiver(() => 'hang');
    const fast = await receiver(() => 200);
    const wd = await deliveries(db, { timeoutMs });
    const start = new Date(Date.now() - 1000);
    // The slow one is the oldest, so it is claimed first.
    await wd.enqueue(delivery('slow', slow.url), start);
    for (let i = 0; i < 6; i++) await wd.enqueue(delivery(`fast${i}`, fast.url));

    const began = Date.now();
    expect(await wd.runDue()).toBe(7);
    expect(fast.requests).toHaveLength(6);
    for (const r of fast.requests) expect(r.at - began).toBeLessThan(timeoutMs);
    expect((await new AlertStore(db).deliveriesOf('p1', { status: 'delivered', limit: 10 })).length).toBe(6);
    expect((await read(db, 'slow')).attempts[0]!.error).toBe(`timeout after ${timeoutMs} ms`);
  });

  it('queues a delivery once when it is enqueued twice', async () => {
    const db = freshDb();
    const hooks = await receiver(() => 200);
    const wd = await deliveries(db);
    await wd.enqueue(delivery('r1:1:firing:webhook', hooks.url, { n: 1 }));
    await wd.enqueue(delivery('r1:1:firing:webhook', hooks.url, { n: 2 }));

    expect(await db.collection(ALERT_COLLECTIONS.deliveries).countDocuments({})).toBe(1);
    expect(await wd.runDue()).toBe(1);
    expect(await wd.runDue(FAR_FUTURE)).toBe(0);
    expect(hooks.requests.map((r) => JSON.parse(r.body) as unknown)).toEqual([{ n: 1 }]);
    // Enqueued again after it was sent (a crash between sending and recording the firing): still nothing more.
    await wd.enqueue(delivery('r1:1:firing:webhook', hooks.url, { n: 3 }));
    expect(await wd.runDue(FAR_FUTURE)).toBe(0);
    expect(hooks.requests).toHaveLength(1);
  });

  it('sends each attempt exactly once when several workers run at the same time', async () => {
    const db = freshDb();
    // Slow enough that the workers' claims overlap with attempts under way.
    const hooks = await receiver(async (r) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return r.n === 1 ? 503 : 200;
    });
    // Two clients, as two processes would have.
    const other = new MongoClient(withDatabase(inject('mongoUrl'), db.databaseName));
    try {
      const workers = [await deliveries(db), await deliveries(db), await deliveries(other.db(db.databaseName)), await deliveries(other.db(db.databaseName))];
      const ids = Array.from({ length: 12 }, (_, i) => `c${i}`);
      for (const id of ids) await workers[0]!.enqueue(delivery(id, hooks.url));

      const first = await Promise.all(workers.map((w) => w.runDue()));
      expect(first.reduce((a, b) => a + b)).toBe(12);
      for (const id of ids) expect(hooks.count(id), id).toBe(1);

      const second = await Promise.all(workers.map((w) => w.runDue(FAR_FUTURE)));
      expect(second.reduce((a, b) => a + b)).toBe(12);
      for (const id of ids) expect(hooks.count(id), id).toBe(2);

      const docs = await db.collection<DeliveryDoc>(ALERT_COLLECTIONS.deliveries).find({}).toArray();
      expect(docs.map((d) => [d._id, d.status, d.attempts.map((a) => a.status)])).toEqual(
        expect.arrayContaining(ids.map((id) => [id, 'delivered', [503, 200]])),
      );
      expect(docs).toHaveLength(12);
    } finally {
      await other.close();
    }
  });

  it('takes over a delivery whose worker died holding it, and leaves one whose worker is alive', async () => {
    const db = freshDb();
    const hooks = await receiver(() => 200);
    const wd = await deliveries(db);
    await wd.enqueue(delivery('orphan', hooks.url));
    await wd.enqueue(delivery('held', hooks.url));
    const claims = db.collection<{ _id: string; until: Date; expireAt: Date }>(DELIVERY_CLAIMS_COLLECTION);
    const expireAt = new Date(Date.now() + 3_600_000);
    // As a worker leaves them: its claim on attempt 1 inserted, lockedUntil set, then nothing.
    await claims.insertMany([
      { _id: 'orphan#1#0', until: new Date(Date.now() - 1000), expireAt },
      { _id: 'held#1#0', until: new Date(Date.now() + 60_000), expireAt },
    ]);
    await db.collection<DeliveryDoc>(ALERT_COLLECTIONS.deliveries).updateOne({ _id: 'orphan' }, { $set: { lockedUntil: new Date(Date.now() - 1000) } });
    await db.collection<DeliveryDoc>(ALERT_COLLECTIONS.deliveries).updateOne({ _id: 'held' }, { $set: { lockedUntil: new Date(Date.now() + 60_000) } });

    expect(await wd.runDue()).toBe(1);
    expect(hooks.requests.map((r) => r.id)).toEqual(['orphan']);
    expect((await read(db, 'orphan')).status).toBe('delivered');
    expect(await claims.countDocuments({ _id: 'orphan#1#1' })).toBe(1);

    // Even once its lockedUntil is cleared, the live claim keeps others off it.
    await db.collection<DeliveryDoc>(ALERT_COLLECTIONS.deliveries).updateOne({ _id: 'held' }, { $set: { lockedUntil: null } });
    expect(await wd.runDue()).toBe(0);
    expect(hooks.count('held')).toBe(0);
  });

  it('sends at once on kick, and stop() waits for the attempt under way', async () => {
    const db = freshDb();
    let release: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (release = resolve));
    const hooks = await receiver(async () => {
      await answered;
      return 200;
    });
    const wd = await deliveries(db, { pollMs: 60_000 });
    wd.start();
    await wd.enqueue(delivery('k1', hooks.url));
    wd.kick();
    await waitFor(() => hooks.requests.length === 1, 'the kicked delivery to arrive', 5000);

    let stopped = false;
    const stopping = wd.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect((await read(db, 'k1')).status).toBe('delivered');
  });

  it('logs a failed run instead of throwing from the loop', async () => {
    const lines: string[] = [];
    const capture = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const unreachable = new MongoClient(`mongodb://127.0.0.1:${await closedPort()}/x`, { serverSelectionTimeoutMS: 200 });
    try {
      const wd = new WebhookDeliveries(unreachable.db('x'), OPTIONS, capture);
      await expect(wd.runDue()).rejects.toThrow();
      wd.start();
      await waitFor(() => lines.some((l) => l.includes('webhook delivery run failed')), 'the failure to be logged', 5000);
      await wd.stop();
    } finally {
      await unreachable.close();
    }
  });

  it('refuses bad options at construction, naming the option', () => {
    expect(() => new WebhookDeliveries(client.db('unused'), { ...OPTIONS, maxAttempts: 0 }, logger)).toThrow(/options\.maxAttempts/);
    expect(() => new WebhookDeliveries(client.db('unused'), { ...OPTIONS, timeoutMs: 1.5 }, logger)).toThrow(/options\.timeoutMs/);
    expect(() => new WebhookDeliveries(client.db('unused'), { ...OPTIONS, baseDelayMs: 500, maxDelayMs: 100 }, logger)).toThrow(/maxDelayMs/);
  });
});
