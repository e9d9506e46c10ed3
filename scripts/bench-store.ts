/**
 * `npm run bench:store`: what the aggregator's write path costs on the MongoDB-compatible
 * server, one operation kind at a time, on a fresh server of its own (FerretDB on SQLite
 * unless mongod is on PATH, or MONGODB_URL). The figures behind docs/aggregation.md's
 * choice of layout. N (default 50,000) events per measurement.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Document } from 'mongodb';

type Doc = Document & { _id: string };
import { freePort } from '../test/free-port.js';
import { startMongoServer, stopChild } from './local-services.js';

const N = Number(process.env.N ?? 50_000);

function event(i: number): Document {
  return {
    eventId: `evt-${i}-${'x'.repeat(24)}`,
    projectId: 'p_bench',
    event: `event_${i % 10}`,
    userId: `user-${i % 5000}`,
    timestamp: 1_764_000_000_000 + i,
    receivedAt: 1_764_000_000_000 + i,
    properties: { plan: i % 2 ? 'pro' : 'free', price: i % 100, path: `/page/${i % 50}` },
    context: { platform: 'web', country: 'DE', appVersion: '1.2.3', ip: '10.0.0.0', userAgent: 'Mozilla/5.0 (bench)' },
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-store-'));
  let child;
  let url = process.env.MONGODB_URL;
  if (url === undefined) {
    const port = await freePort();
    child = await startMongoServer({ port, dir, log: console.log });
    url = `mongodb://127.0.0.1:${port}/`;
  }
  const client = new MongoClient(url);
  const db = client.db('bench_store');
  // Its own database, empty at the start (a server given by MONGODB_URL may hold an earlier run's).
  await db.dropDatabase();
  const collection = (name: string) => db.collection<Doc>(name);
  const results: Record<string, string> = {};
  const time = async (name: string, count: number, work: () => Promise<unknown>) => {
    const t0 = performance.now();
    await work();
    const s = (performance.now() - t0) / 1000;
    results[name] = `${Math.round(count / s).toLocaleString('en')}/s (${count.toLocaleString('en')} in ${s.toFixed(2)} s)`;
    console.log(`${name}: ${results[name]}`);
  };
  const chunks = async (size: number, make: (i: number) => Doc, insert: (docs: Doc[]) => Promise<unknown>) => {
    for (let i = 0; i < N; i += size) await insert(Array.from({ length: Math.min(size, N - i) }, (_, j) => make(i + j)));
  };
  try {
    const events = Array.from({ length: N }, (_, i) => event(i));
    await time('one document per event (today: 3 secondary indexes), 1,000 per insert', N, async () => {
      const c = collection('a_events');
      await c.createIndex({ projectId: 1, timestamp: 1 });
      await c.createIndex({ projectId: 1, distinctId: 1 });
      await c.createIndex({ expireAt: 1 });
      await chunks(1000, (i) => ({ _id: `p|${events[i]!.eventId}`, ...events[i], timestamp: new Date(events[i]!.timestamp as number), expireAt: new Date() }), (d) => c.insertMany(d, { ordered: false }));
    });
    for (const size of [1000, 5000]) {
      await time(`id-only documents {_id}, ${size} per insert`, N, () => chunks(size, (i) => ({ _id: `p_bench|evt-${i}-${size}` }), (d) => collection(`b_ids_${size}`).insertMany(d, { ordered: false })));
    }
    await time('id documents {_id, b}, 5000 per insert', N, () => chunks(5000, (i) => ({ _id: `p_bench|evt-${i}`, b: 'p_bench|20500|p3|1234' }), (d) => collection('c_ids').insertMany(d, { ordered: false })));
    await time('id documents {_id, b, expireAt}, 5000 per insert', N, () => chunks(5000, (i) => ({ _id: `p_bench|evt-${i}`, b: 'p_bench|20500|p3|1234', expireAt: new Date() }), (d) => collection('d_ids').insertMany(d, { ordered: false })));
    await time('bucket documents: 1,000 events as one JSON string each', N, async () => {
      const c = collection('e_buckets');
      await c.createIndex({ projectId: 1, day: 1, part: 1 });
      for (let i = 0; i < N; i += 1000) {
        const slice = events.slice(i, i + 1000);
        await c.insertOne({ _id: `p_bench|20500|p${i % 16}|${i}`, projectId: 'p_bench', day: 20500, part: i % 16, seq: i, n: slice.length, events: JSON.stringify(slice), expireAt: new Date() });
      }
    });
    await time('find {_id: {$in: 1,000 ids}} (id documents)', N, async () => {
      for (let i = 0; i < N; i += 1000) await collection('c_ids').find({ _id: { $in: Array.from({ length: 1000 }, (_, j) => `p_bench|evt-${i + j}`) } }).toArray();
    });
    const dupes = Math.min(N, 5000);
    await time('insert 5,000 id documents that all exist (duplicate-key path)', dupes, () =>
      collection('c_ids').insertMany(Array.from({ length: dupes }, (_, i) => ({ _id: `p_bench|evt-${i}`, b: 'x' })), { ordered: false }).catch(() => undefined));
    // Late retries: 2% of each insert are ids stored earlier, the rest new (the aggregator's usual mix when clients resend).
    await time('insert id documents, 5,000 per insert of which 2% exist (late retries)', N, () =>
      chunks(5000, (i) => ({ _id: i % 50 === 0 ? `p_bench|evt-${i}` : `p_bench|late-${i}`, b: 'x' }), (d) => collection('c_ids').insertMany(d, { ordered: false }).catch((err: { writeErrors?: unknown[] }) => {
        if (!Array.isArray(err.writeErrors)) throw err;
      })),
    );
    const updates = Math.min(N, 3000);
    await time('guarded $inc updates by _id, 50 per bulk', updates, async () => {
      const c = collection('f_rollups');
      await c.insertMany(Array.from({ length: updates }, (_, i) => ({ _id: `r${i}`, count: 0, f: 0 })));
      for (let i = 0; i < updates; i += 50) {
        await c.bulkWrite(Array.from({ length: 50 }, (_, j) => ({ updateOne: { filter: { _id: `r${i + j}`, f: { $not: { $gte: 1 } } }, update: { $inc: { count: 5 }, $set: { f: 1, 'wm.p3': 7 } } } })), { ordered: false });
      }
    });
    await time('deleteMany {_id: {$in: 1,000 ids}}', N, async () => {
      for (let i = 0; i < N; i += 1000) await collection('c_ids').deleteMany({ _id: { $in: Array.from({ length: 1000 }, (_, j) => `p_bench|evt-${i + j}`) } });
    });
    // FerretDB answers buildInfo with the MongoDB version it imitates, and its own beside it.
    const info = (await db.admin().command({ buildInfo: 1 })) as { version: string; ferretdbVersion?: string };
    const server = info.ferretdbVersion === undefined ? `MongoDB ${info.version}` : `FerretDB ${info.ferretdbVersion} (SQLite)`;
    console.log(JSON.stringify({ server: `${server}${child === undefined ? ` at ${url}` : ', fresh'}`, n: N, results }, null, 2));
  } finally {
    await client.close();
    if (child !== undefined) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
