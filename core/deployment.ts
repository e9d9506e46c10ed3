import { randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import { COLLECTIONS } from '../model/collections.js';
import { allPartitions, streamKey } from '../model/event-stream.js';
import { SignalboardError } from './errors.js';
import type { Redis } from './redis.js';
import { insertUnlessPresent } from './store-compat.js';

/**
 * Binds a Redis namespace (REDIS_KEY_PREFIX on one Redis) to one deployment, so two
 * deployments sharing a Redis never write into or consume each other's streams
 * (docs/operations.md#one-redis-namespace-per-deployment). The identity is made on
 * first use and kept in both stores: MongoDB (`deployment`, the record of truth) and
 * Redis (`<prefix>:deployment`).
 *
 * - both hold the same identity: bound;
 * - MongoDB holds one, Redis none (Redis lost its data): Redis gets MongoDB's again;
 * - they differ, or Redis holds one and MongoDB none (a fresh database against a
 *   namespace in use), or MongoDB is new and the namespace already holds event streams:
 *   refused, naming REDIS_KEY_PREFIX and MONGODB_URL;
 * - neither (a new deployment, or one from before identities existed, whose MongoDB
 *   already holds partition positions): a new identity.
 */
export interface DeploymentRecord {
  _id: 'identity';
  id: string;
  createdAt: Date;
}

const RECORD_ID = 'identity';

export function deploymentKey(prefix: string): string {
  return `${prefix}:deployment`;
}

export interface DeploymentWhere {
  prefix: string;
  partitions: number;
  /** Redis and MongoDB as the operator named them (credentials left out), for the error. */
  redisUrl: string;
  mongoUrl: string;
}

/** Without user and password: the refusal names where, not how to log in. */
function redact(url: string): string {
  // By hand: a redis-cluster:// URL lists several host:port, which URL() refuses.
  return url.replace(/^([a-z+-]+:\/\/)[^@/]*@/i, '$1');
}

function mismatch(where: DeploymentWhere, why: string): SignalboardError {
  return new SignalboardError(
    'SB_DEPLOYMENT_MISMATCH',
    `REDIS_KEY_PREFIX "${where.prefix}" on ${redact(where.redisUrl)} belongs to another deployment than MONGODB_URL ${redact(where.mongoUrl)}: ${why}. ` +
      'Give this deployment a REDIS_KEY_PREFIX of its own, or point MONGODB_URL at the database that deployment uses (docs/operations.md#one-redis-namespace-per-deployment).',
  );
}

/** Whether any partition stream of the namespace holds entries (one command per key: with Redis Cluster each lives in its own slot). */
async function streamsHoldEntries(redis: Redis, where: DeploymentWhere): Promise<boolean> {
  const lengths = await Promise.all(allPartitions(where.partitions).map((p) => redis.xlen(streamKey(where.prefix, p))));
  return lengths.some((n) => n > 0);
}

/** Checks (and on first use records) which deployment the namespace belongs to; returns its identity. Throws SB_DEPLOYMENT_MISMATCH. */
export async function bindDeployment(redis: Redis, db: Db, where: DeploymentWhere): Promise<string> {
  const records = db.collection<DeploymentRecord>(COLLECTIONS.deployment);
  const key = deploymentKey(where.prefix);
  let record = await records.findOne({ _id: RECORD_ID });
  let inRedis = await redis.get(key);
  if (record === null) {
    if (inRedis !== null) throw mismatch(where, `Redis names deployment ${inRedis}, and this MongoDB database has no deployment record`);
    // (`findOne`, not a count: FerretDB 1.24 closes the connection on a count of a collection that does not exist.)
    const hasPositions = (await db.collection(COLLECTIONS.partitions).findOne({}, { projection: { _id: 1 } })) !== null;
    if (!hasPositions && (await streamsHoldEntries(redis, where))) {
      throw mismatch(where, 'the namespace already holds event streams, and this MongoDB database has never consumed any');
    }
    await insertUnlessPresent<DeploymentRecord>(records, { _id: RECORD_ID, id: `dep_${randomBytes(8).toString('hex')}`, createdAt: new Date() });
    record = (await records.findOne({ _id: RECORD_ID }))!;
  }
  if (inRedis === null) {
    await redis.set(key, record.id, 'NX');
    inRedis = await redis.get(key);
  }
  if (inRedis !== record.id) throw mismatch(where, `Redis names deployment ${inRedis}, MongoDB ${record.id}`);
  return record.id;
}

/**
 * One process's binding: checked once, then remembered. Writers (ingest's stream
 * appends, the aggregator before it takes a partition) call `ensure`.
 */
export class DeploymentBinding {
  private bound: string | undefined;
  private refused: SignalboardError | undefined;
  private checking: Promise<string> | undefined;

  constructor(private readonly redis: Redis, private readonly db: Db, private readonly where: DeploymentWhere) {}

  get identity(): string | undefined {
    return this.bound;
  }

  /** Resolves with the identity once bound; rejects with SB_DEPLOYMENT_MISMATCH, or with a storage error (try again later). */
  ensure(): Promise<string> {
    if (this.bound !== undefined) return Promise.resolve(this.bound);
    if (this.refused !== undefined) return Promise.reject(this.refused);
    this.checking ??= bindDeployment(this.redis, this.db, this.where)
      .then((id) => (this.bound = id))
      .catch((err: unknown) => {
        if (err instanceof SignalboardError && err.code === 'SB_DEPLOYMENT_MISMATCH') this.refused = err;
        throw err;
      })
      .finally(() => (this.checking = undefined));
    return this.checking;
  }
}
