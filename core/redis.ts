import { Cluster, Redis as RedisServer, type RedisOptions } from 'ioredis';
import { defineScripts } from './redis-scripts.js';

/** A connection to Redis: one server, or a Redis Cluster. */
export type Redis = RedisServer | Cluster;

const CLUSTER_URL = /^redis-cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#@]+)\/?$/;

export interface ClusterAddress {
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
}

/**
 * The seed nodes of a `redis-cluster://[user:password@]host:port,host:port` URL (any
 * masters of the cluster; the client learns the rest), or undefined for a server's URL.
 */
export function clusterAddress(url: string): ClusterAddress | undefined {
  if (!url.startsWith('redis-cluster:')) return undefined;
  const match = CLUSTER_URL.exec(url);
  if (match === null) throw new Error('a cluster URL is redis-cluster://[user:password@]host:port[,host:port...]');
  const nodes = match[3]!.split(',').map((node) => {
    const at = node.lastIndexOf(':');
    const port = Number(node.slice(at + 1));
    if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`"${node}" in a cluster URL is not host:port`);
    return { host: node.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port };
  });
  const decode = (part: string | undefined) => (part === undefined || part === '' ? undefined : decodeURIComponent(part));
  const username = decode(match[1]);
  const password = decode(match[2]);
  return { nodes, ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }) };
}

/**
 * One ioredis client: a server's connection, or a Cluster client for a
 * `redis-cluster://` URL. Commands fail at once while Redis is unreachable
 * (no offline queue, no resend of unanswered commands) and after `commandTimeout`
 * when Redis stalls, so callers answer 503 instead of holding requests, and never
 * learn of success they can't prove. Every script of core/redis-scripts.ts is defined on it.
 */
export function createRedis(url: string, name: string, options: RedisOptions = {}): Redis {
  const { enableOfflineQueue = false, enableAutoPipelining, ...rest } = options;
  const connection = {
    connectionName: `signalboard:${name}`,
    commandTimeout: 3000,
    keepAlive: 10_000,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    lazyConnect: false,
    ...rest,
  };
  const queueing = { enableOfflineQueue, ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }) };
  const reconnectDelay = (attempt: number) => Math.min(100 * attempt, 2000);
  const cluster = clusterAddress(url);
  const redis =
    cluster === undefined
      ? new RedisServer(url, { retryStrategy: reconnectDelay, ...connection, ...queueing })
      : new Cluster(cluster.nodes, {
          redisOptions: { ...connection, ...(cluster.username === undefined ? {} : { username: cluster.username }), ...(cluster.password === undefined ? {} : { password: cluster.password }) },
          ...queueing,
          // Reads go to masters: a replica may not hold an acknowledged append yet.
          scaleReads: 'master',
          clusterRetryStrategy: reconnectDelay,
          // A slot moving (MOVED, ASK) or a failover under way (CLUSTERDOWN, TRYAGAIN) is
          // retried: the command did not run. A command whose node died unanswered is not.
          retryDelayOnFailover: 200,
          retryDelayOnClusterDown: 200,
          retryDelayOnTryAgain: 200,
          maxRedirections: 8,
        });
  defineScripts(redis);
  return redis;
}

export function redisReady(redis: Redis): boolean {
  return redis.status === 'ready';
}

/** The servers behind a client: the cluster's masters, or the one server. */
function servers(redis: Redis): RedisServer[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/**
 * Answers when every server answers PING: of a cluster, the master of every slot, so a
 * master that is down shows even while the others serve theirs.
 */
export async function pingEvery(redis: Redis): Promise<void> {
  if (!(redis instanceof Cluster)) {
    await redis.ping();
    return;
  }
  if (redis.status !== 'ready') throw new Error(`cluster ${redis.status}`);
  const connected = new Map(servers(redis).map((server) => [`${server.options.host}:${server.options.port}`, server]));
  const masters = new Set(redis.slots.flatMap((slot) => slot.slice(0, 1)));
  await Promise.all(
    [...masters].map(async (master) => {
      const server = connected.get(master);
      if (server === undefined) throw new Error(`no connection to the master ${master}`);
      await server.ping();
    }),
  );
}

/** The keys of one server under `<prefix>:`, a SCAN page at a time (a cluster client cannot scan: scan each master). */
export async function* scanKeys(server: RedisServer, prefix: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await server.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    yield keys;
    cursor = next;
  } while (cursor !== '0');
}

/** Deletes every key under `<prefix>:` (tests and benchmarks clean up with it), on every master of a cluster. */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  for (const server of servers(redis)) {
    // One DEL per key: keys of several slots in one command are refused by a cluster.
    for await (const keys of scanKeys(server, prefix)) await Promise.all(keys.map((key) => redis.del(key)));
  }
}
