import { readFileSync } from 'node:fs';
import type { Cluster, Redis, Result } from 'ioredis';

/**
 * Every Lua script Signalboard runs on Redis, one file each in core/redis-scripts/
 * (its header says its KEYS, ARGV and answer; `-- @include name` inserts
 * core/redis-scripts/includes/name.lua). createRedis defines them all on every client
 * it makes, so callers use them as typed commands (a script of `keys: 'variable'` takes the
 * number of keys as its first argument): ioredis runs them by EVALSHA, and
 * defining a script on a shared client after an auto-pipeline started can crash the
 * process ("results[i] is not iterable").
 */
export const REDIS_SCRIPTS = {
  sbAppendEvents: { file: 'append-events', keys: 2 },
  sbTakeRate: { file: 'take-rate', keys: 1 },
  sbAdmitDistinct: { file: 'admit-distinct', keys: 'variable' },
  sbLeaseAcquire: { file: 'lease-acquire', keys: 2 },
  sbLeaseRaiseFence: { file: 'lease-raise-fence', keys: 1 },
  sbStreamCommit: { file: 'stream-commit', keys: 2 },
  sbStreamEnsureGroup: { file: 'stream-ensure-group', keys: 1 },
  sbFeedAppend: { file: 'feed-append', keys: 6 },
  sbFeedRaiseBatches: { file: 'feed-raise-batches', keys: 1 },
  sbFeedPosition: { file: 'feed-position', keys: 4 },
  sbFeedHead: { file: 'feed-head', keys: 3 },
  sbHeldKeyExtend: { file: 'held-key-extend', keys: 1 },
  sbHeldKeyDelete: { file: 'held-key-delete', keys: 1 },
} as const satisfies Record<string, { file: string; keys: number | 'variable' }>;

type Arg = string | number;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    sbAppendEvents(stream: string, counts: string, version: string, count: number, payload: string): Result<string, Context>;
    sbTakeRate(key: string, events: number, limit: number, windowMs: number): Result<number, Context>;
    sbAdmitDistinct(numberOfKeys: number, ...keysThenArgs: Arg[]): Result<number[], Context>;
    sbLeaseAcquire(lease: string, fence: string, worker: string, ms: number): Result<number, Context>;
    sbLeaseRaiseFence(fence: string, atLeast: number): Result<number, Context>;
    sbStreamCommit(stream: string, counts: string, group: string, id: string, consumed: number): Result<number, Context>;
    sbStreamEnsureGroup(stream: string, group: string): Result<number, Context>;
    sbFeedAppend(seq: string, stream: string, batches: string, activeNow: string, epoch: string, bytes: string, ...args: Arg[]): Result<number, Context>;
    sbFeedRaiseBatches(batches: string, ...partitionBatchPairs: string[]): Result<number, Context>;
    sbFeedPosition(seq: string, stream: string, batches: string, epoch: string): Result<[string, string[], string], Context>;
    sbFeedHead(seq: string, stream: string, epoch: string): Result<[string, string], Context>;
    sbHeldKeyExtend(key: string, value: string, ms: number): Result<number, Context>;
    sbHeldKeyDelete(key: string, value: string): Result<number, Context>;
  }
}

/** A script's Lua with its includes inserted. */
export function scriptSource(file: string): string {
  const text = readFileSync(new URL(`./redis-scripts/${file}.lua`, import.meta.url), 'utf8');
  return text.replace(/^-- @include (\S+)$/gm, (_, name: string) => scriptSource(`includes/${name}`));
}

const SOURCES = Object.entries(REDIS_SCRIPTS).map(([name, { file, keys }]) => ({ name, keys, lua: scriptSource(file) }));

/** Defines every script on a new client (createRedis does it). */
export function defineScripts(redis: Redis | Cluster): void {
  for (const { name, keys, lua } of SOURCES) redis.defineCommand(name, keys === 'variable' ? { lua } : { numberOfKeys: keys, lua });
}
