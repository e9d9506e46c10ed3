import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestServer, testRedis, type TestServer } from '../test/helpers.js';
import { COLLECTIONS } from '../model/collections.js';
import { bindDeployment, deploymentKey, type DeploymentWhere } from './deployment.js';
import { streamKey } from '../model/event-stream.js';
import { withDatabase } from './mongo.js';
import { deleteKeysWithPrefix, type Redis } from './redis.js';

const id = () => randomBytes(4).toString('hex');

describe('one Redis namespace per deployment', () => {
  const clients: MongoClient[] = [];
  const prefixes: string[] = [];
  let redis: Redis;
  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
    for (const client of clients) {
      await client.db().dropDatabase();
      await client.close();
    }
  });

  /** A fresh database and, unless given, a fresh prefix. */
  const deployment = (prefix = `tdep${id()}`): { db: Db; where: DeploymentWhere } => {
    prefixes.push(prefix);
    const mongoUrl = withDatabase(inject('mongoUrl'), `sbtest_dep_${id()}`);
    const client = new MongoClient(mongoUrl);
    clients.push(client);
    return { db: client.db(), where: { prefix, partitions: 4, redisUrl: inject('redisUrl'), mongoUrl } };
  };

  it('records an identity on first use and finds the same one again, also after Redis lost it', async () => {
    const { db, where } = deployment();
    const first = await bindDeployment(redis, db, where);
    expect(first).toMatch(/^dep_[0-9a-f]{16}$/);
    expect(await redis.get(deploymentKey(where.prefix))).toBe(first);
    expect(await bindDeployment(redis, db, where)).toBe(first);
    // Redis restarted without its data: MongoDB's record is the truth.
    await redis.del(deploymentKey(where.prefix));
    expect(await bindDeployment(redis, db, where)).toBe(first);
    expect(await redis.get(deploymentKey(where.prefix))).toBe(first);
  });

  it('refuses a second deployment on the same namespace, naming REDIS_KEY_PREFIX and MONGODB_URL', async () => {
    const a = deployment();
    await bindDeployment(redis, a.db, a.where);
    const b = deployment(a.where.prefix);
    const refused = bindDeployment(redis, b.db, b.where);
    await expect(refused).rejects.toMatchObject({ code: 'SB_DEPLOYMENT_MISMATCH' });
    await expect(refused).rejects.toThrow(`REDIS_KEY_PREFIX "${a.where.prefix}"`);
    await expect(refused).rejects.toThrow(`MONGODB_URL ${b.where.mongoUrl}`);
    // Nothing was recorded for the refused one: the namespace still names the first.
    expect(await b.db.collection(COLLECTIONS.deployment).countDocuments()).toBe(0);
  });

  it('refuses a new database against streams written before identities existed, and adopts them for the database that consumed them', async () => {
    const prefix = `tdep${id()}`;
    await redis.xadd(streamKey(prefix, 2), '*', 'v', '1');
    const fresh = deployment(prefix);
    await expect(bindDeployment(redis, fresh.db, fresh.where)).rejects.toThrow('the namespace already holds event streams, and this MongoDB database has never consumed any');
    // The deployment that wrote them holds partition positions: it takes the namespace.
    const owner = deployment(prefix);
    await owner.db.collection(COLLECTIONS.partitions).insertOne({ _id: 'partitions' as never });
    expect(await bindDeployment(redis, owner.db, owner.where)).toMatch(/^dep_/);
  });
});

describe('a stack started on another deployment\'s namespace', () => {
  let first: TestServer;
  beforeAll(async () => {
    first = await startTestServer({}, ['ingest', 'aggregator', 'api']);
  });
  afterAll(() => first.stop());

  it('refuses to start, and the first deployment goes on counting its events', async () => {
    const project = await first.createProject('owner');
    const post = () => fetch(`${first.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${project.writeKey}` }, body: JSON.stringify({ event: 'e', userId: 'u' }) });
    expect((await post()).status).toBe(202);
    // A fresh database (a new DATA_DIR) against the same Redis and prefix.
    await expect(startTestServer({ REDIS_KEY_PREFIX: first.config.REDIS_KEY_PREFIX }, ['ingest', 'aggregator', 'api'])).rejects.toMatchObject({ code: 'SB_DEPLOYMENT_MISMATCH' });
    expect((await post()).status).toBe(202);
  });
});
