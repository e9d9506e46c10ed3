import { spawn } from 'node:child_process';
import type { Db, Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../model/collections.js';
import { generateDataset } from '../test/dataset.js';
import { ADMIN_TOKEN, startTestServer, testRedis, type TestServer } from '../test/helpers.js';
import { expectFiguresMatchRecount, sendAll, waitForDrain, waitForFolded } from '../test/pipeline-check.js';

const DAY = 86_400_000;
const PARTITIONS = 4;
const day = (d: number) => new Date(d * DAY).toISOString().slice(0, 10);
const within = (from: number, to: number) => ({ $gte: new Date(from * DAY), $lt: new Date((to + 1) * DAY) });

/** Runs the real CLI against the test server's storage. */
async function cli(server: TestServer, args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { config } = server;
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REDIS_URL: config.REDIS_URL!,
    MONGODB_URL: config.MONGODB_URL!,
    REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX,
    STREAM_PARTITIONS: String(PARTITIONS),
    ADMIN_TOKEN,
    DATA_DIR: config.DATA_DIR,
    LOG_LEVEL: 'error',
    ...extraEnv,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/signalboard.ts', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let [stdout, stderr] = ['', ''];
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

/**
 * Every figure document of the project, as the API would read it: watermarks left out
 * (they record batches, not figures), zero retention cells (left by users who moved
 * to an earlier cohort) dropped, users' days as a sorted list and lastSeen left out.
 */
async function figures(db: Db, projectId: string): Promise<Record<string, Document[]>> {
  const out: Record<string, Document[]> = {};
  for (const name of [COLLECTIONS.countsMinute, COLLECTIONS.countsHour, COLLECTIONS.countsDay, COLLECTIONS.activity, COLLECTIONS.retentionDaily, COLLECTIONS.retentionWeekly, COLLECTIONS.users]) {
    const docs = await db.collection(name).find({ projectId }, { projection: { wm: 0 } }).sort({ _id: 1 }).toArray();
    out[name] = docs
      .map((doc) => {
        if (doc.r !== undefined) doc.r = Object.fromEntries(Object.entries(doc.r as Record<string, number>).filter(([, n]) => n !== 0));
        if (doc.days !== undefined) {
          doc.days = Object.keys(doc.days as object).sort();
          // The live path keeps lastSeen (and the expiry counted from it) to within an
          // hour (LAST_SEEN_RESOLUTION_MS); a rebuild sets it exactly.
          delete doc.lastSeen;
          delete doc.expireAt;
        }
        return doc;
      })
      .filter((doc) => doc.r === undefined || Object.keys(doc.r as object).length > 0);
  }
  return out;
}

describe('signalboard recompute', () => {
  let server: TestServer;
  let db: Db;
  beforeAll(async () => {
    server = await startTestServer({ STREAM_PARTITIONS: String(PARTITIONS) }, ['ingest', 'api', 'aggregator']);
    db = server.running.runtime.mongo.db;
  });
  afterAll(() => server.stop());

  it('rebuilds exactly what the live path wrote, repairs damage, and the live path carries on after it', async () => {
    const project = await server.createProject('recompute');
    const dataset = generateDataset(31, 400, 40, Math.floor(Date.now() / DAY) - 1);
    const cut = Math.floor(dataset.sends.length * 0.8);
    const redis = testRedis();
    await sendAll(server.url, project.writeKey, dataset.sends.slice(0, cut));
    await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, PARTITIONS);
    // The documents hold every figure once the rollup deltas are folded.
    await waitForFolded(db, project.id);
    const live = await figures(db, project.id);

    // Damage a range of days (and some users) the way a bug or a bad restore could.
    const [from, to] = [dataset.firstDay + 15, dataset.firstDay + 24];
    await db.collection(COLLECTIONS.countsHour).deleteMany({ projectId: project.id, bucket: within(from, to) });
    await db.collection(COLLECTIONS.countsDay).updateMany({ projectId: project.id, bucket: within(from, to) }, { $inc: { count: 3 } });
    await db.collection(COLLECTIONS.activity).updateMany({ projectId: project.id, day: within(from, to) }, { $inc: { dau: 5, mau: -1 } });
    await db.collection(COLLECTIONS.retentionDaily).deleteMany({ projectId: project.id, cohort: within(from, to) });
    await db.collection(COLLECTIONS.users).deleteMany({ projectId: project.id, distinctId: { $in: ['user-1', 'user-2', 'user-3'] } });
    expect(await figures(db, project.id)).not.toEqual(live);

    const partial = await cli(server, ['recompute', '--project', project.id, '--from', day(from), '--to', day(to)], { LOG_LEVEL: 'info' });
    expect(partial.stderr).toBe('');
    expect(partial.code).toBe(0);
    const report = JSON.parse(partial.stdout.trim().split('\n').pop()!) as { from: string; to: string; events: number; written: Record<string, number> };
    expect(report).toMatchObject({ from: day(from), to: day(to) });
    expect(report.events).toBeGreaterThan(100);
    expect(await figures(db, project.id)).toEqual(live);
    // Not on a terminal, the progress is logged: each step as it starts and ends.
    type Progress = { step: string; daysDone: number; daysTotal: number; events: number };
    const progress = partial.stdout.split('\n').filter((line) => line.includes('"recompute progress"')).map((line) => JSON.parse(line) as Progress);
    expect([...new Set(progress.map((p) => p.step))]).toEqual(['counting events', 'reading users', 'writing']);
    expect(progress.filter((p) => p.step === 'counting events').at(-1)).toMatchObject({ daysDone: 10, daysTotal: 10, events: report.events });
    const users = progress.filter((p) => p.step === 'reading users').at(-1)!;
    expect(users.daysDone).toBe(users.daysTotal);

    // The whole range, while the rest of the events arrive: the workers pause and resume,
    // and what they apply afterwards builds on the rebuilt users and rollups.
    const sending = sendAll(server.url, project.writeKey, dataset.sends.slice(cut));
    const whole = await cli(server, ['recompute', '--project', project.id, '--from', day(dataset.firstDay), '--to', day(dataset.lastDay)]);
    await sending;
    expect(whole.code, whole.stderr).toBe(0);
    await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, PARTITIONS);
    redis.disconnect();
    await expectFiguresMatchRecount(server.url, project.readKey, dataset);
  }, 240_000);

  it('keeps a user\'s days whose raw events have expired, so the user keeps their cohort', async () => {
    const project = await server.createProject('expired-days');
    const today = Math.floor(Date.now() / DAY);
    const at = (day: number, userId: string, n: number) => ({ event: 'visit', userId, eventId: `${userId}-${day}-${n}`, timestamp: day * DAY + 3_600_000 * (n + 1), properties: { platform: 'web' } });
    // "old" was first seen 50 days ago and came back 2 days ago; "new" first came 2 days ago.
    await sendAll(server.url, project.writeKey, [at(today - 50, 'old', 0), at(today - 2, 'old', 0), at(today - 2, 'new', 0), at(today - 2, 'new', 1)]);
    const redis = testRedis();
    await waitForDrain(redis, server.config.REDIS_KEY_PREFIX, PARTITIONS);
    redis.disconnect();
    const read = async () => {
      const get = async (path: string) => (await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${project.readKey}` } })).json();
      return [await get(`/v1/metrics/retention?from=${day(today - 3)}&to=${day(today - 1)}`), await get(`/v1/metrics/active-users?window=month&from=${day(today - 3)}&to=${day(today - 1)}`)];
    };
    const live = await read();
    expect(live[0]).toMatchObject({ cohorts: [{ cohort: day(today - 2), size: 1 }] });

    // Raw events are kept 40 days for this recompute: the 50-day-old one has expired.
    expect((await db.collection(COLLECTIONS.rawEvents).deleteMany({ projectId: project.id, day: new Date((today - 50) * DAY) })).deletedCount).toBe(1);
    const run = await cli(server, ['recompute', '--project', project.id, '--from', day(today - 3), '--to', day(today - 1)], { EXPIRY_RAW_DAYS: '40' });
    expect(run.code, run.stderr).toBe(0);
    expect(await read()).toEqual(live);
  }, 120_000);

  it('refuses a reversed range, a date that is not one, an unknown project and an expired range, naming what was wrong', async () => {
    const reversed = await cli(server, ['recompute', '--project', 'p', '--from', '2026-03-10', '--to', '2026-03-01']);
    expect(reversed.code).toBe(2);
    expect(reversed.stderr).toContain('--from (2026-03-10) is after --to (2026-03-01)');
    const notADate = await cli(server, ['recompute', '--project', 'p', '--from', '2026-02-30', '--to', '2026-03-01']);
    expect(notADate.code).toBe(2);
    expect(notADate.stderr).toContain('--from must be a calendar date as YYYY-MM-DD, got "2026-02-30"');
    const unknown = await cli(server, ['recompute', '--project', 'no-such-project', '--from', '2026-03-01', '--to', '2026-03-01']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('SB_PROJECT_NOT_FOUND');
    const project = await server.createProject('too-old');
    const tooOld = await cli(server, ['recompute', '--project', project.id, '--from', '2001-01-01', '--to', '2001-01-31']);
    expect(tooOld.code).toBe(1);
    expect(tooOld.stderr).toMatch(/SB_PARAM_INVALID: --from 2001-01-01: raw events older than EXPIRY_RAW_DAYS \(365\) have expired; the earliest day that can be rebuilt is \d{4}-\d{2}-\d{2}/);
  }, 60_000);
});
