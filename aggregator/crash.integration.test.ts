import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type Worker } from '../test/aggregator-workers.js';
import { generateDataset } from '../test/dataset.js';
import { startTestServer, testRedis, type TestServer } from '../test/helpers.js';
import { connectLive, deltaTotals, type LiveMessage } from '../test/live-client.js';
import { expectFiguresMatchRecount, sendAll, waitForDrain } from '../test/pipeline-check.js';

const DAY = 86_400_000;
const PARTITIONS = 4;

/**
 * Invariant 2 under crashes: aggregator processes are SIGKILLed again and again, at
 * random moments from outside and at every step boundary from inside (failpoints:
 * after the raw insert, between the users' and the rollup deltas' writes, between the
 * MongoDB writes and the commit, between the MongoDB and the Redis commit, between the
 * collections a fold writes and before it deletes the folded deltas), and restarted. The figures
 * must still equal the brute-force recount, and a dashboard's deltas must add up to
 * exactly the events sent.
 */
describe('aggregator workers killed with SIGKILL at random points', () => {
  let server: TestServer;
  const workers = new Set<Worker>();
  let killed = 0;

  beforeAll(async () => {
    server = await startTestServer({ STREAM_PARTITIONS: String(PARTITIONS), AGGREGATOR_LEASE_MS: '1000', LIVE_FLUSH_MS: '20' }, ['ingest', 'realtime', 'api']);
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await server.stop();
  });

  it('counts every event exactly once', async () => {
    const project = await server.createProject('crash');
    const dataset = generateDataset(11, 600, 42, Math.floor(Date.now() / DAY) - 1);
    // A dashboard watching throughout: replayed batches must not reach it twice.
    const dashboard = await connectLive(server.url, `?key=${project.readKey}`);
    dashboard.send({ type: 'subscribe', channels: ['events'] });
    await dashboard.waitFor((m) => m.some((x) => x.type === 'snapshot'), 'the snapshot');
    const crashy = { SB_FAILPOINTS: 'after-insert:0.1,mid-apply:0.1,before-commit:0.15,after-commit:0.1,mid-fold:0.05', AGGREGATOR_LEASE_MS: '1000', AGGREGATOR_BATCH_ENTRIES: '5', AGGREGATOR_FOLD_MS: '100' };
    let sending = true;
    const keepTwoRunning = (async () => {
      while (sending) {
        for (const w of workers) if (w.child.exitCode !== null || w.child.signalCode !== null) workers.delete(w);
        while (workers.size < 2) {
          const w = startWorker(server.config, crashy);
          workers.add(w);
          void w.exited.then(({ signal }) => {
            if (signal === 'SIGKILL') killed++;
          });
        }
        // And from outside, at a moment no step chose.
        if (Math.random() < 0.3) [...workers][0]?.child.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, 700));
      }
    })();

    await sendAll(server.url, project.writeKey, dataset.sends, 100, 2);
    // Let the crashing workers run a while longer (until enough of them died), then finish with a clean one.
    const crashUntil = Date.now() + 30_000;
    await new Promise((r) => setTimeout(r, 5000));
    while (killed < 5 && Date.now() < crashUntil) await new Promise((r) => setTimeout(r, 250));
    sending = false;
    await keepTwoRunning;
    for (const w of workers) w.child.kill('SIGKILL');
    await Promise.all([...workers].map((w) => w.exited));
    workers.clear();
    const finisher = startWorker(server.config, { AGGREGATOR_LEASE_MS: '1000' });
    workers.add(finisher);

    const redis = testRedis();
    await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, PARTITIONS, 180_000);
    redis.disconnect();
    expect(killed).toBeGreaterThanOrEqual(5);
    await expectFiguresMatchRecount(server.url, project.readKey, dataset);
    // Deltas carry minute counts, and minute rollups are kept EXPIRY_MINUTE_DAYS (14): compare the last 13 days.
    const since = (Math.floor(Date.now() / DAY) - 13) * DAY;
    const recent = new Map<string, number>();
    for (const e of new Map(dataset.sends.map((e) => [e.eventId, e])).values()) if (e.timestamp >= since) recent.set(e.event, (recent.get(e.event) ?? 0) + 1);
    const received = (messages: readonly LiveMessage[]) => deltaTotals(messages.filter((m) => Date.parse(String(m.bucket)) >= since));
    await dashboard.waitFor((m) => JSON.stringify([...received(m)].sort()) === JSON.stringify([...recent].sort()), `deltas adding up to ${JSON.stringify([...recent])}`);
    await new Promise((r) => setTimeout(r, 300));
    expect(received(dashboard.messages)).toEqual(recent);
    dashboard.socket.terminate();
  }, 300_000);
});
