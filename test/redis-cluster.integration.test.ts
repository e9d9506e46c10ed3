import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withDatabase } from '../core/mongo.js';
import type { Redis as RedisServer } from 'ioredis';
import { createRedis, scanKeys, type Redis } from '../core/redis.js';
import { buildDashboard } from '../scripts/build-dashboard.js';
import { startRedisServer, stopChild } from '../scripts/local-services.js';
import { listeningUrl, runCli, type CliRun } from './cli-process.js';
import { freePort } from './free-port.js';
import { ADMIN_TOKEN, testRedis, waitFor } from './helpers.js';
import { SteadyLoad, WatchingDashboard } from './load-clients.js';
import { recentTotal, storedAndRolledUp, waitForDrain } from './pipeline-check.js';

/**
 * Signalboard on a Redis Cluster of three masters on loopback (no replicas), as
 * `REDIS_URL=redis-cluster://…` configures it: `signalboard all` (ingest, aggregator,
 * gateway, alerts, api) runs unchanged on it, every partition's keys and every
 * project's feed keys share a slot, the partitions spread over the masters, and a
 * master killed and restarted with its AOF loses no acknowledged event.
 */
const PARTITIONS = 8;
const run = promisify(execFile);

describe('Redis Cluster: three masters on this machine', () => {
  let dir: string;
  const ports: number[] = [];
  const nodes: ChildProcess[] = [];
  /** One plain connection per master, for what a cluster client hides (SCAN, CLUSTER INFO). */
  const direct: Redis[] = [];
  let cluster: Redis;
  let stack: CliRun;
  let url: string;
  let mongoUrl: string;
  const prefix = `sbcluster${process.pid}`;
  let project: { id: string; writeKey: string; readKey: string };
  let dashboard: WatchingDashboard;
  const loads: SteadyLoad[] = [];

  const startNode = async (i: number) => {
    nodes[i] = await startRedisServer({ port: ports[i]!, dir: join(dir, `node${i}`), clusterNode: true });
  };
  const clusterOk = async () => (await Promise.all(direct.map((r) => r.cluster('INFO').then((info) => String(info).includes('cluster_state:ok'), () => false)))).every(Boolean);
  /** Every key of the namespace, by the master that holds it. */
  const keysByNode = async () =>
    Promise.all(
      direct.map(async (r) => {
        const keys: string[] = [];
        for await (const page of scanKeys(r as RedisServer, prefix)) keys.push(...page);
        return keys;
      }),
    );
  const slotOf = async (key: string) => Number(await direct[0]!.cluster('KEYSLOT', key));

  /** Stops the load; then acknowledged = raw events stored = rolled up = the API's figure = the dashboard's. */
  const expectAllCounted = async (load: SteadyLoad, event: string) => {
    await load.stop();
    expect(load.acknowledged).toBe(load.generated);
    await waitForDrain(cluster, prefix, PARTITIONS, 60_000);
    const mongo = new MongoClient(mongoUrl);
    try {
      const expected = { stored: loads.reduce((sum, l) => sum + l.generated, 0), rolledUp: load.generated };
      await waitFor(async () => JSON.stringify(await storedAndRolledUp(mongo.db(), project.id, event)) === JSON.stringify(expected), `stored and rolled up ${JSON.stringify(expected)}`, 20_000).catch(async () => {
        expect(await storedAndRolledUp(mongo.db(), project.id, event)).toEqual(expected);
      });
    } finally {
      await mongo.close();
    }
    expect(await recentTotal(url, project.readKey, event)).toBe(load.generated);
    await waitFor(() => dashboard.total(event) === load.generated, `the dashboard to show ${load.generated} ${event} events`, 20_000).catch(() => {
      expect(dashboard.total(event)).toBe(load.generated);
    });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-cluster-'));
    for (let i = 0; i < 3; i++) ports.push(await freePort());
    for (let i = 0; i < 3; i++) await startNode(i);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) direct.push(testRedis(`redis://127.0.0.1:${port}`).on('error', () => undefined)); // one is killed on purpose
    await waitFor(clusterOk, 'the cluster to be ok on every master', 30_000);

    // Two seeds: the client learns the third from them.
    const redisUrl = `redis-cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`;
    cluster = createRedis(redisUrl, 'test', { enableOfflineQueue: true, maxRetriesPerRequest: 3 }).on('error', () => undefined);
    mongoUrl = withDatabase(inject('mongoUrl'), `sbtest_cluster_${process.pid}`);
    // Built, as `npm start` has it: a healthy start then logs no warning at all.
    await buildDashboard(join(dir, 'dashboard'));
    stack = runCli(['all'], {
      REDIS_URL: redisUrl,
      MONGODB_URL: mongoUrl,
      REDIS_KEY_PREFIX: prefix,
      STREAM_PARTITIONS: String(PARTITIONS),
      ADMIN_TOKEN,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      DATA_DIR: join(dir, 'data'),
      DASHBOARD_DIR: join(dir, 'dashboard'),
      AGGREGATOR_LEASE_MS: '2000',
      INGEST_RETRY_AFTER_SECONDS: '1',
    });
    url = (await listeningUrl(stack, 60_000)).replace('localhost', '127.0.0.1');
    const res = await fetch(`${url}/v1/projects`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: '{"name":"cluster"}' });
    project = (await res.json()) as typeof project;
    dashboard = new WatchingDashboard([url], project.readKey);
    await dashboard.open();
  }, 120_000);

  afterAll(async () => {
    dashboard?.close();
    if (stack !== undefined) await stopChild(stack.child);
    cluster?.disconnect();
    for (const r of direct) r.disconnect();
    await Promise.all(nodes.map((n) => stopChild(n)));
    const mongo = new MongoClient(mongoUrl);
    await mongo.db().dropDatabase();
    await mongo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs unchanged: every partition's keys in one slot, the partitions on every master, each event counted once", async () => {
    const load = new SteadyLoad([url], project.writeKey, 'cluster_steady');
    loads.push(load);
    load.start();
    await sleep(3000);
    await expectAllCounted(load, 'cluster_steady');

    const byNode = await keysByNode();
    const all = byNode.flat();
    for (let p = 0; p < PARTITIONS; p++) {
      const keys = [`${prefix}:events:{p${p}}`, `${prefix}:counts:{p${p}}`, `${prefix}:fence:{p${p}}`];
      for (const key of keys) expect(all).toContain(key);
      expect(new Set(await Promise.all(keys.map(slotOf))).size).toBe(1);
    }
    const feedKeys = all.filter((k) => k.endsWith(`{${project.id}}`));
    expect(feedKeys.length).toBeGreaterThanOrEqual(4);
    expect(new Set(await Promise.all(feedKeys.map(slotOf))).size).toBe(1);
    // The partitions' slots fall on all three masters.
    const streamsPerNode = byNode.map((keys) => keys.filter((k) => k.startsWith(`${prefix}:events:`)).length);
    expect(streamsPerNode.every((n) => n > 0)).toBe(true);
    // A healthy run on a cluster logs no warning.
    expect(stack.output().split('\n').filter((line) => /"level":(40|50|60)/.test(line))).toEqual([]);
  }, 60_000);

  it('a master killed and restarted with its AOF: no acknowledged event lost, none counted twice, and readyz names Redis while it is down', async () => {
    const load = new SteadyLoad([url], project.writeKey, 'cluster_restart');
    loads.push(load);
    load.start();
    await sleep(1500);
    // The master with the most partitions.
    const streamsPerNode = (await keysByNode()).map((keys) => keys.filter((k) => k.startsWith(`${prefix}:events:`)).length);
    const victim = streamsPerNode.indexOf(Math.max(...streamsPerNode));
    nodes[victim]!.kill('SIGKILL');
    await new Promise((r) => nodes[victim]!.once('exit', r));
    const killedAt = Date.now();
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 503, '/readyz to report Redis down', 20_000);
    expect((await (await fetch(`${url}/readyz`)).json()) as { down: string[] }).toMatchObject({ down: ['redis'] });
    // Refused with an answer that says to resend (a project's rate-limit key lives on one
    // master, so while it is down its project's requests are refused whole).
    await sleep(3000);
    expect(Date.now() - killedAt).toBeGreaterThan(2000);
    // A request already waiting on the dead master answers only when its command times out
    // (REDIS_COMMAND_TIMEOUT_MS): on a loaded machine the first refusal may come after the 3 s.
    await waitFor(() => load.refusals.size > 0, 'a refusal while the master is down', 10_000);
    expect([...load.refusals.keys()].filter((k) => k !== '503' && k !== '202 with retriable rejections')).toEqual([]);
    expect(load.refusals.size).toBeGreaterThan(0);

    await startNode(victim);
    const restartedAt = Date.now();
    await waitFor(clusterOk, 'the cluster to be ok again', 30_000);
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, '/readyz to be ready again', 30_000);
    await waitFor(() => load.lastAcknowledgedAt > restartedAt, 'events acknowledged after the restart', 30_000);
    await expectAllCounted(load, 'cluster_restart');
  }, 120_000);
});
