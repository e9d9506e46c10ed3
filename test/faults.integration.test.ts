import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS, type CountDoc } from '../model/collections.js';
import { readRawEvents } from '../model/raw-events.js';
import { dayNumber } from '../model/time-buckets.js';
import { findRollups } from '../model/rollup-deltas.js';
import { metricSum } from '../scripts/bench-stats.js';
import { startMongoServer, startRedisServer, stopChild } from '../scripts/local-services.js';
import { listeningUrl, runCli, type CliRun } from './cli-process.js';
import { freePort } from './free-port.js';
import { ADMIN_TOKEN, testRedis, waitFor } from './helpers.js';
import { SteadyLoad, WatchingDashboard } from './load-clients.js';
import { recentTotal, storedAndRolledUp, waitForDrain } from './pipeline-check.js';

/**
 * Faults under steady load, on a deployment of its own: one process per role (two
 * alerts processes: leader and standby), its own Redis (AOF, fsync always) and its own
 * MongoDB-compatible server, so stopping them harms no other test. For each fault: what
 * the stack reports while it lasts, how long it takes to recover by itself (written to
 * $TMPDIR/signalboard-test-results/faults.json; docs/operations.md#recovery-times), and
 * then that nothing acknowledged was lost or counted twice: events acknowledged = raw
 * events stored = the rolled-up counts = the API's figure = what a dashboard that
 * stayed open (reconnecting and resuming) adds up.
 */
const PARTITIONS = 4;

/** Runs one of scripts/*.sh as an operator would; rejects with its output when it fails. */
function runScript(script: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [`scripts/${script}`, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

interface Role {
  name: string;
  /** What it runs: `signalboard <role>`. */
  role: string;
  port: number;
  url: string;
  run: CliRun;
}

describe('faults under steady load, two processes of each role', () => {
  let dir: string;
  let redisPort: number;
  let mongoPort: number;
  let redisServer: ChildProcess;
  let mongoServer: ChildProcess;
  let env: Record<string, string>;
  const roles = new Map<string, Role>();
  const prefix = `faults${process.pid}`;
  let project: { id: string; writeKey: string; readKey: string; adminKey: string };
  let dashboard: WatchingDashboard;
  const recoveries: Array<{ fault: string; what: string; ms: number }> = [];
  /** The backup drill: how long the backup took, the processes' start within the restore, and the recovery point (acknowledged events not brought back). */
  let drill: { backupMs: { mongodb: number; redis: number }; rolesStartMs: number; acknowledged: number; lost: number; acknowledgedAfterBackupFinished: number } | undefined;
  const log = () => undefined;

  const start = async (name: string, role: string, port?: number): Promise<Role> => {
    const p = port ?? (await freePort());
    const run = runCli([role], { ...env, PORT: String(p) });
    const url = (await listeningUrl(run, 60_000)).replace('localhost', '127.0.0.1');
    const started = { name, role, port: p, url, run };
    roles.set(name, started);
    return started;
  };
  const kill = async (name: string) => {
    const role = roles.get(name)!;
    role.run.child.kill('SIGKILL');
    await role.run.exit;
  };
  const alive = (name: string) => roles.get(name)!.run.child.exitCode === null && roles.get(name)!.run.child.signalCode === null;
  const restart = (name: string) => start(name, roles.get(name)!.role, roles.get(name)!.port);
  const url = (name: string) => roles.get(name)!.url;
  const readyz = async (name: string) => {
    const res = await fetch(`${url(name)}/readyz`);
    return { status: res.status, body: (await res.json()) as { down?: string[] } };
  };
  const metric = async (name: string, metricName: string, labels = '') => {
    return metricSum(await (await fetch(`${url(name)}/metrics`)).text(), metricName, labels);
  };

  /** Stops the load and checks that every acknowledged event is stored, rolled up, shown by the API and by the dashboard, once. */
  const expectNothingLostOrDoubled = async (load: SteadyLoad, event: string) => {
    await load.stop();
    expect(load.acknowledged).toBe(load.generated);
    const redis = testRedis(`redis://127.0.0.1:${redisPort}`);
    await waitForDrain(redis, prefix, PARTITIONS, 120_000);
    redis.disconnect();
    const mongo = new MongoClient(`mongodb://127.0.0.1:${mongoPort}/faults`);
    try {
      const db = mongo.db();
      const counts = () => storedAndRolledUp(db, project.id, event);
      // Raw events of every fault so far: all the load's events, each name's own.
      const expected = { stored: totalGenerated(), rolledUp: load.generated };
      await waitFor(async () => JSON.stringify(await counts()) === JSON.stringify(expected), `stored and rolled-up counts ${JSON.stringify(expected)}`, 20_000).catch(async () => {
        expect(await counts()).toEqual(expected);
      });
      expect(await recentTotal(url('api-a'), project.readKey, event)).toBe(load.generated);
      await waitFor(() => dashboard.total(event) === load.generated, `the dashboard to show ${load.generated} ${event} events`, 20_000).catch(() => {
        expect(dashboard.total(event)).toBe(load.generated);
      });
    } finally {
      await mongo.close();
    }
  };
  const loads: SteadyLoad[] = [];
  /** Events sent outside the loads (the alert probe). */
  let otherEvents = 0;
  const totalGenerated = () => loads.reduce((sum, l) => sum + l.generated, otherEvents);
  const steadyLoad = (event: string) => {
    const load = new SteadyLoad([url('ingest-a'), url('ingest-b')], project.writeKey, event);
    loads.push(load);
    load.start();
    return load;
  };
  /** Waits until `check` holds, and returns how long that took from `since`. */
  const recovered = async (fault: string, what: string, since: number, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) => {
    await waitFor(check, `${fault}: ${what}`, timeoutMs);
    recoveries.push({ fault, what, ms: Date.now() - since });
  };

  /** Every role twice, a few at a time: each is a TypeScript process compiling at start, on two cores. */
  const startRoles = async (startOne: (name: string, role: string) => Promise<Role>) => {
    for (const group of [['ingest', 'aggregator', 'api'], ['realtime', 'alerts']]) {
      await Promise.all(group.map((role) => startOne(`${role}-a`, role)));
      await Promise.all(group.map((role) => startOne(`${role}-b`, role)));
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-faults-'));
    [redisPort, mongoPort] = [await freePort(), await freePort()];
    redisServer = await startRedisServer({ port: redisPort, dir: join(dir, 'redis') });
    mongoServer = await startMongoServer({ port: mongoPort, dir: join(dir, 'mongo'), log });
    env = {
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      MONGODB_URL: `mongodb://127.0.0.1:${mongoPort}/faults`,
      REDIS_KEY_PREFIX: prefix,
      ADMIN_TOKEN,
      STREAM_PARTITIONS: String(PARTITIONS),
      DATA_DIR: join(dir, 'data'),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      AGGREGATOR_LEASE_MS: '2000',
      ALERTS_LEASE_MS: '2000',
      ALERTS_RULES_REFRESH_MS: '200',
      INGEST_RETRY_AFTER_SECONDS: '1',
    };
    await startRoles((name, role) => start(name, role));
    const res = await fetch(`${url('api-a')}/v1/projects`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: '{"name":"faults"}' });
    project = (await res.json()) as typeof project;
    dashboard = new WatchingDashboard([url('realtime-a'), url('realtime-b')], project.readKey);
    await dashboard.open();
  }, 180_000);

  afterAll(async () => {
    dashboard?.close();
    await Promise.all([...roles.values()].map((r) => stopChild(r.run.child)));
    await stopChild(redisServer);
    await stopChild(mongoServer);
    rmSync(dir, { recursive: true, force: true });
    const results = join(tmpdir(), 'signalboard-test-results');
    mkdirSync(results, { recursive: true });
    writeFileSync(join(results, 'faults.json'), `${JSON.stringify({ recoveries, drill }, null, 2)}\n`);
    console.log(`recovery times (ms):\n${recoveries.map((r) => `  ${r.fault}: ${r.what}: ${r.ms}`).join('\n')}\nbackup drill: ${JSON.stringify(drill)}`);
  });

  it('SIGKILL of an ingest process: clients resend what got no answer to the other one; nothing lost', async () => {
    const load = steadyLoad('load_ingest');
    await sleep(1500);
    await kill('ingest-a');
    const killedAt = Date.now();
    await recovered('an ingest process killed', 'kill to an event acknowledged by the other', killedAt, () => load.lastAcknowledgedAt > killedAt);
    await sleep(1000);
    expect(load.refusals.get('no answer') ?? 0).toBeGreaterThan(0);
    await restart('ingest-a');
    await sleep(1000);
    await expectNothingLostOrDoubled(load, 'load_ingest');
  }, 120_000);

  it('SIGKILL of the aggregator that writes: the other takes its partitions over when the lease ends, finishes the dead batch, and catches up', async () => {
    const load = steadyLoad('load_aggregator');
    await sleep(1500);
    // On FerretDB one aggregator writes and the other stands by (docs/aggregation.md): kill the writer.
    const consumed = async (name: string) => metric(name, 'signalboard_aggregator_events_total');
    const writer = (await consumed('aggregator-a')) >= (await consumed('aggregator-b')) ? 'aggregator-a' : 'aggregator-b';
    const other = writer === 'aggregator-a' ? 'aggregator-b' : 'aggregator-a';
    const before = await consumed(other);
    await kill(writer);
    const killedAt = Date.now();
    await recovered('the writing aggregator killed', 'kill to the other consuming (lease 2 s)', killedAt, async () => (await consumed(other)) > before, 30_000);
    await recovered('the writing aggregator killed', 'kill to the backlog consumed', killedAt, async () => (await metric('ingest-a', 'signalboard_stream_unconsumed_events')) < 200, 60_000);
    await restart(writer);
    await expectNothingLostOrDoubled(load, 'load_aggregator');
  }, 120_000);

  it('SIGKILL of a realtime gateway: the open dashboard reconnects to the other and resumes from its seq, no gap', async () => {
    const load = steadyLoad('load_realtime');
    await sleep(1500);
    const answersBefore = dashboard.answers.length;
    const closesBefore = dashboard.closes;
    // The dashboard is on one of the two; kill that one.
    for (const name of ['realtime-a', 'realtime-b']) if ((await metric(name, 'signalboard_live_connections')) > 0) await kill(name);
    const killedAt = Date.now();
    await recovered('the dashboard\'s gateway killed', 'kill to the dashboard resumed on the other', killedAt, () => dashboard.answers.length > answersBefore);
    expect(dashboard.closes).toBe(closesBefore + 1);
    expect(dashboard.answers.slice(answersBefore)[0]).toMatchObject({ resumed: true });
    for (const name of ['realtime-a', 'realtime-b']) if (!alive(name)) await restart(name);
    await sleep(1000);
    await expectNothingLostOrDoubled(load, 'load_realtime');
  }, 120_000);

  it('SIGKILL of the alerts leader: the standby takes the lease and evaluates; a rule crossed after the kill fires once', async () => {
    const leader = [...roles.values()].find((r) => r.name.startsWith('alerts') && r.run.output().includes('alerts: leader; evaluating'))!;
    expect(leader).toBeDefined();
    const standby = [...roles.values()].find((r) => r.name.startsWith('alerts') && r !== leader)!;
    const created = await fetch(`${url('api-a')}/v1/alerts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${project.adminKey}` },
      body: JSON.stringify({ name: 'after the kill', metric: { type: 'count', event: 'alert_probe' }, condition: { kind: 'threshold', op: '>', value: 0, window: '5m' } }),
    });
    expect(created.status).toBe(201);
    const load = steadyLoad('load_alerts');
    await sleep(1000);
    await kill(leader.name);
    const killedAt = Date.now();
    const probe = await fetch(`${url('ingest-a')}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${project.writeKey}` }, body: JSON.stringify([{ event: 'alert_probe', userId: 'p', eventId: randomUUID() }]) });
    expect(await probe.json()).toEqual({ accepted: 1, rejected: [] });
    otherEvents++;
    const history = async () => ((await (await fetch(`${url('api-a')}/v1/alerts/history`, { headers: { authorization: `Bearer ${project.readKey}` } })).json()) as { firings: Array<{ state: string; name: string }> }).firings;
    await recovered('alerts leader killed', 'kill to the standby leading', killedAt, () => standby.run.output().includes('alerts: leader; evaluating'), 30_000);
    await recovered('alerts leader killed', 'kill to the crossed rule firing', killedAt, async () => (await history()).some((f) => f.state === 'firing'), 30_000);
    await restart(leader.name);
    await sleep(3000);
    expect((await history()).filter((f) => f.state === 'firing')).toHaveLength(1);
    await expectNothingLostOrDoubled(load, 'load_alerts');
  }, 120_000);

  it('Redis killed and restarted with its AOF: every acknowledged event is still there, and every role carries on', async () => {
    const load = steadyLoad('load_redis');
    await sleep(1500);
    redisServer.kill('SIGKILL');
    await new Promise((r) => redisServer.once('exit', r));
    await waitFor(async () => (await readyz('ingest-a')).body.down?.includes('redis') === true, 'ingest /readyz to name Redis');
    expect((await readyz('aggregator-a')).body.down).toContain('redis');
    await sleep(1000);
    const restartedAt = Date.now();
    redisServer = await startRedisServer({ port: redisPort, dir: join(dir, 'redis') });
    await recovered('Redis restarted', 'restart to ingest acknowledging again', restartedAt, () => load.lastAcknowledgedAt > restartedAt);
    await recovered('Redis restarted', 'restart to every /readyz ready', restartedAt, async () => (await Promise.all([...roles.keys()].filter(alive).map((n) => readyz(n)))).every((r) => r.status === 200));
    await sleep(1000);
    await expectNothingLostOrDoubled(load, 'load_redis');
  }, 120_000);

  it('MongoDB stopped for 30 s: ingest keeps accepting, /readyz names MongoDB, and the aggregator catches up by itself', async () => {
    const load = steadyLoad('load_mongodb');
    await sleep(1500);
    await stopChild(mongoServer);
    await waitFor(async () => (await readyz('aggregator-a')).body.down?.includes('mongodb') === true, 'aggregator /readyz to name MongoDB');
    const acknowledgedWhileDown = load.acknowledged;
    await sleep(30_000);
    expect(load.acknowledged).toBeGreaterThan(acknowledgedWhileDown);
    expect(await metric('ingest-a', 'signalboard_stream_unconsumed_events')).toBeGreaterThan(0);
    const restartedAt = Date.now();
    mongoServer = await startMongoServer({ port: mongoPort, dir: join(dir, 'mongo'), log });
    await recovered('MongoDB stopped 30 s', 'start to the aggregator /readyz ready', restartedAt, async () => (await readyz('aggregator-a')).status === 200);
    await recovered('MongoDB stopped 30 s', 'start to the backlog consumed', restartedAt, async () => (await metric('ingest-a', 'signalboard_stream_unconsumed_events')) < 200, 90_000);
    await expectNothingLostOrDoubled(load, 'load_mongodb');
  }, 180_000);

  it('Redis full (maxmemory, noeviction): ingest refuses with a retriable answer, loses nothing, and accepts again once there is room', async () => {
    const redis = testRedis(`redis://127.0.0.1:${redisPort}`);
    const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    // What an operator's dashboard sees: refused requests and events refused for a resend.
    const refusedByIngest = async () => {
      let sum = 0;
      for (const name of ['ingest-a', 'ingest-b']) sum += (await metric(name, 'signalboard_ingest_refused_requests_total')) + (await metric(name, 'signalboard_ingest_events_total', 'result="rejected"'));
      return sum;
    };
    const refusedByIngestBefore = await refusedByIngest();
    const load = steadyLoad('load_full');
    await sleep(1000);
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', String(used + 256 * 1024));
    const refusedBefore = [...load.refusals.values()].reduce((a, b) => a + b, 0);
    await waitFor(() => [...load.refusals.values()].reduce((a, b) => a + b, 0) > refusedBefore + 5, 'ingest to refuse while Redis is full', 30_000);
    expect([...load.refusals.keys()].some((k) => k === '503' || k === '202 with retriable rejections')).toBe(true);
    expect(await refusedByIngest()).toBeGreaterThan(refusedByIngestBefore);
    await sleep(3000);
    const freedAt = Date.now();
    await redis.config('SET', 'maxmemory', '0');
    redis.disconnect();
    await recovered('Redis full', 'room again to ingest acknowledging', freedAt, () => load.lastAcknowledgedAt > freedAt);
    await expectNothingLostOrDoubled(load, 'load_full');
  }, 120_000);

  // Last: it replaces both stores, and loses (as a restore does) what came after the backup.
  it('backup under load, then both stores lost and restored from it: every event acknowledged before the Redis snapshot is counted, once, and the stack carries on', async () => {
    const load = steadyLoad('load_backup');
    await sleep(1500);
    const backupDir = join(dir, 'backup');
    const sqliteDir = join(dir, 'mongo');
    await runScript('backup.sh', [backupDir], { ...env, FERRETDB_SQLITE_DIR: sqliteDir });
    const taken = JSON.parse(readFileSync(join(backupDir, 'backup.json'), 'utf8')) as { startedAt: number; mongodbAt: number; redisAt: number };
    // The backup's hold is gone: the aggregators trim again.
    const redis = testRedis(`redis://127.0.0.1:${redisPort}`);
    const groups = (await redis.xinfo('GROUPS', `${prefix}:events:{p0}`)) as unknown[][];
    redis.disconnect();
    expect(groups.map((g) => g[1])).toEqual(['aggregator']);
    await sleep(1500);
    await load.stop();

    // The disaster: every process, both stores and their data gone.
    await Promise.all([...roles.keys()].filter(alive).map((name) => kill(name)));
    redisServer.kill('SIGKILL');
    mongoServer.kill('SIGKILL');
    await Promise.all([redisServer, mongoServer].map((child) => child.exitCode === null && child.signalCode === null ? new Promise((r) => child.once('exit', r)) : undefined));
    rmSync(join(dir, 'redis'), { recursive: true, force: true });
    rmSync(sqliteDir, { recursive: true, force: true });

    const restoreStarted = Date.now();
    await runScript('restore.sh', [backupDir, 'files'], { ...env, REDIS_DIR: join(dir, 'redis'), FERRETDB_SQLITE_DIR: sqliteDir });
    redisServer = await startRedisServer({ port: redisPort, dir: join(dir, 'redis'), appendOnly: false });
    await runScript('restore.sh', [backupDir, 'finish'], env);
    mongoServer = await startMongoServer({ port: mongoPort, dir: sqliteDir, log });
    const rolesStarted = Date.now();
    await startRoles((name) => restart(name));
    const rolesStartMs = Date.now() - rolesStarted;
    const probe = steadyLoad('after_restore');
    await recovered('backup restored', 'restore start to ingest acknowledging', restoreStarted, () => probe.acknowledged > 0, 120_000);
    await probe.stop();

    const check = testRedis(`redis://127.0.0.1:${redisPort}`);
    await waitForDrain(check, prefix, PARTITIONS, 120_000);
    expect(await check.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    check.disconnect();
    const mongo = new MongoClient(`mongodb://127.0.0.1:${mongoPort}/faults`);
    try {
      const db = mongo.db();
      const today = dayNumber(Date.now());
      const stored = new Map<string, number>();
      const perEvent = new Map<string, number>();
      for await (const e of readRawEvents(db, { projectId: project.id, fromDay: today - 1, toDay: today + 1 })) {
        stored.set(e.eventId, (stored.get(e.eventId) ?? 0) + 1);
        perEvent.set(e.event, (perEvent.get(e.event) ?? 0) + 1);
      }
      expect([...stored.values()].filter((n) => n > 1)).toEqual([]);
      // Every event acknowledged before the Redis snapshot began is back; what is lost came after it.
      const lost = [...load.acknowledgedAt].filter(([id]) => !stored.has(id));
      expect(lost.filter(([, at]) => at < taken.mongodbAt)).toEqual([]);
      expect(load.acknowledged).toBe(load.generated);
      drill = { backupMs: { mongodb: taken.mongodbAt - taken.startedAt, redis: taken.redisAt - taken.mongodbAt }, rolesStartMs, acknowledged: load.acknowledged, lost: lost.length, acknowledgedAfterBackupFinished: [...load.acknowledgedAt.values()].filter((at) => at >= taken.redisAt).length };
      // Every earlier fault's events are all there, and every figure equals the raw events.
      for (const earlier of loads.filter((l) => l !== load && l !== probe)) expect([...earlier.acknowledgedAt.keys()].filter((id) => !stored.has(id))).toEqual([]);
      expect(perEvent.get('after_restore')).toBe(probe.generated);
      for (const [event, count] of perEvent) {
        const days = await findRollups<CountDoc>(db, COLLECTIONS.countsDay, { projectId: project.id, event });
        expect({ event, rolledUp: days.reduce((a, d) => a + d.count, 0) }).toEqual({ event, rolledUp: count });
      }
      expect(await recentTotal(url('api-a'), project.readKey, 'load_backup')).toBe(perEvent.get('load_backup'));
      recoveries.push({ fault: 'backup restored', what: 'restore start to every restored event counted', ms: Date.now() - restoreStarted });
      // The dashboard that stayed open through it all shows the restored figures.
      await waitFor(() => dashboard.total('load_backup') === perEvent.get('load_backup'), 'the open dashboard to show the restored figure', 20_000).catch(() => {
        expect(dashboard.total('load_backup')).toBe(perEvent.get('load_backup'));
      });
    } finally {
      await mongo.close();
    }
  }, 300_000);
});
