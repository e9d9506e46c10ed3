import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { withDatabase } from '../core/mongo.js';
import { deleteKeysWithPrefix } from '../core/redis.js';
import { listeningUrl, runCli as run } from './cli-process.js';
import { testRedis, waitFor } from './helpers.js';

function storageEnv(): Record<string, string> {
  return {
    REDIS_URL: inject('redisUrl'),
    MONGODB_URL: withDatabase(inject('mongoUrl'), `sbtest_cli_${process.pid}`),
    REDIS_KEY_PREFIX: `tcli${process.pid}`,
    PORT: '0',
    HOST: '127.0.0.1',
  };
}

describe('signalboard CLI', () => {
  afterAll(async () => {
    const env = storageEnv();
    const redis = testRedis();
    await deleteKeysWithPrefix(redis, env.REDIS_KEY_PREFIX!);
    redis.disconnect();
    const client = new MongoClient(env.MONGODB_URL!);
    await client.db().dropDatabase();
    await client.close();
  });

  it('stops at start-up naming a bad variable', async () => {
    const r = run(['all'], { PORT: 'eighty', INGEST_MAX_BODY_BYTES: '12' });
    expect(await r.exit).toBe(1);
    expect(r.output()).toMatch(/SB_CONFIG_INVALID: Invalid configuration:/);
    expect(r.output()).toMatch(/PORT: .*\(got "eighty"\)/);
    expect(r.output()).toMatch(/INGEST_MAX_BODY_BYTES: .*\(got "12"\)/);
  });

  it('refuses an unknown role with the usage', async () => {
    const r = run(['everything'], {});
    expect(await r.exit).toBe(2);
    expect(r.output()).toMatch(/unknown role "everything"[\s\S]*usage: signalboard <role>/);
  });

  it('lists the dead letters newest first, one JSON line each, with a count per reason; refuses a bad --limit', async () => {
    const env = storageEnv();
    const redis = testRedis();
    try {
      for (const [reason, payload] of [['undecodable stream entry', '{"fields":[]}'], ['unwritable rollup document', '{"collection":"counts_day"}'], ['undecodable stream entry', '{"fields":[1]}']]) {
        await redis.xadd(`${env.REDIS_KEY_PREFIX}:deadletter`, '*', 'reason', reason!, 'partition', '3', 'entry', '1-0', 'payload', payload!);
      }
    } finally {
      redis.disconnect();
    }
    const r = run(['dead-letters', '--limit', '2'], { ...env, LOG_LEVEL: 'warn' });
    expect(await r.exit).toBe(0);
    const lines = r.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { reason: string; partition: number; payload: string });
    expect(lines.map((l) => [l.reason, l.partition, l.payload])).toEqual([['undecodable stream entry', 3, '{"fields":[1]}'], ['unwritable rollup document', 3, '{"collection":"counts_day"}']]);
    expect(r.output()).toContain('1 × undecodable stream entry\n1 × unwritable rollup document');
    const bad = run(['dead-letters', '--limit', 'lots'], env);
    expect(await bad.exit).toBe(2);
    expect(bad.output()).toMatch(/--limit must be a whole number/);
  });

  it("refuses uWebSockets.js's slow fallback unless allowed", async () => {
    const r = run(['all'], { ...storageEnv(), UWS_USE_FALLBACK: '1' });
    expect(await r.exit).toBe(1);
    expect(r.output()).toMatch(/SB_UWS_FALLBACK: .*ALLOW_UWS_FALLBACK=true/);
  });

  it('runs every role, generates and keeps the admin token, and exits cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-cli-'));
    const first = run(['all'], { ...storageEnv(), DATA_DIR: dataDir });
    const url = await listeningUrl(first);
    const token = (JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { adminToken: string }).adminToken;
    // Not a terminal: the token is kept in the file and never written to the (collected) log.
    expect(first.output()).not.toContain(token);
    expect(first.output()).toContain(join(dataDir, 'credentials.json'));

    const created = await fetch(`${url}/v1/projects`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{"name":"cli"}' });
    expect(created.status).toBe(201);
    const { writeKey, readKey } = (await created.json()) as { writeKey: string; readKey: string };
    const sent = await fetch(`${url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${writeKey}` }, body: '{"event":"cli","userId":"u"}' });
    expect(sent.status).toBe(202);
    // The aggregator runs in a thread of its own: its metrics are in the process's /metrics, the process's once.
    await waitFor(async () => /^signalboard_aggregator_events_total\{result="counted"\} 1$/m.test(await (await fetch(`${url}/metrics`)).text()), 'the event counted in /metrics', 20_000);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^signalboard_aggregator_partitions_owned \d+$/m);
    expect(metrics.match(/^signalboard_process_cpu_user_seconds_total /gm)).toHaveLength(1);
    expect(first.output()).toMatch(/"thread":"aggregator".*"msg":"aggregator: the writing worker"/);
    // Reports run in a thread of their own too.
    const report = await fetch(`${url}/v1/reports/query`, { method: 'POST', headers: { authorization: `Bearer ${readKey}` }, body: '{"kind":"trends","last":"1d","interval":"day","series":[{"event":"cli"}]}' });
    expect(((await report.json()) as { result: { results: Array<{ total: number }> } }).result.results[0]!.total).toBe(1);
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);

    // A second start reuses the saved token and does not print it again.
    const second = run(['ingest'], { ...storageEnv(), DATA_DIR: dataDir });
    const ingestUrl = await listeningUrl(second);
    expect(second.output()).not.toContain(token);
    expect((await fetch(`${ingestUrl}/v1/projects`, { method: 'POST', body: '{}' })).status).toBe(404);
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
  }, 60_000);
});
