import type { Redis } from './redis.js';

/**
 * The live feed: what the aggregator (deltas) and the alerts evaluator (alerts) tell
 * the realtime gateways, per project, through Redis. One project's keys share the hash
 * tag `{<projectId>}`, so the append script stays legal on Redis Cluster:
 *   <prefix>:feedseq:{P}    the last seq given out (INCR)
 *   <prefix>:feed:{P}       stream of entries, entry ID "<seq>-0", field `d` = the JSON
 *                            entry with its seq; the last LIVE_FEED_KEPT are kept, so
 *                            clients resume from a seq and gateways read by seq
 *   <prefix>:feedbatch:{P}  hash partition → last aggregator batch appended (a replayed
 *                            batch is not appended twice; gateways loading state use it)
 *   <prefix>:activenow:{P}  sorted set distinctId → last activity (ms): "active now"
 * and one pub/sub channel `<prefix>:feed` whose messages are project ids: a wake-up
 * call only (a gateway that misses one still reads the stream on its next poll).
 */
export interface FeedCount {
  event: string;
  /** Minute bucket, ISO. */
  bucket: string;
  increment: number;
  /** "dimension.value" → increment, for alert filters; absent when the batch had none. */
  by?: Record<string, number>;
}

export interface FeedActivity {
  /** YYYY-MM-DD */
  date: string;
  dau: number;
  wau: number;
  mau: number;
}

export interface FeedRetention {
  /** YYYY-MM-DD, a daily cohort. */
  cohort: string;
  offset: number;
  increment: number;
}

/** One aggregator batch's changes to one project; every figure is an increment. */
export interface DeltaEntry {
  type: 'delta';
  seq: number;
  projectId: string;
  partition: number;
  batch: number;
  /** The oldest receivedAt (epoch ms) of the batch's events: for the delay metric. */
  receivedAt: number;
  counts: FeedCount[];
  activeUsers: FeedActivity[];
  retention: FeedRetention[];
}

/** An alert changed state (see alerts/). */
export interface AlertEntry {
  type: 'alert';
  seq: number;
  projectId: string;
  alert: Record<string, unknown>;
}

/** The project's figures changed without deltas (a recompute): reload them. */
export interface ResetEntry {
  type: 'reset';
  seq: number;
  projectId: string;
  reason: string;
}

export type FeedEntry = DeltaEntry | AlertEntry | ResetEntry;
type Unnumbered<T> = T extends FeedEntry ? Omit<T, 'seq'> : never;

/** Entries kept per project for resuming clients. */
export const LIVE_FEED_KEPT = 10_000;
/** "Active users now": distinct users with an event in the last five minutes. */
export const ACTIVE_NOW_MS = 5 * 60_000;

export function feedChannel(prefix: string): string {
  return `${prefix}:feed`;
}

export function feedKeys(prefix: string, projectId: string) {
  const tag = `{${projectId}}`;
  return {
    seq: `${prefix}:feedseq:${tag}`,
    stream: `${prefix}:feed:${tag}`,
    batches: `${prefix}:feedbatch:${tag}`,
    activeNow: `${prefix}:activenow:${tag}`,
  };
}

/**
 * KEYS: seq, stream, batches, activeNow.
 * ARGV: channel, projectId, entry JSON without seq, kept, partition ('' when not a batch),
 * batch, now (ms), then distinctId/time pairs for "active now".
 * Returns the seq given, or 0 when the batch was appended before (a replay).
 */
const APPEND_LUA = `
if #ARGV > 7 then
  for i = 8, #ARGV, 1000 do
    local args = {}
    for j = i, math.min(i + 999, #ARGV), 2 do
      args[#args + 1] = ARGV[j + 1]
      args[#args + 1] = ARGV[j]
    end
    redis.call('ZADD', KEYS[4], 'GT', unpack(args))
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. (tonumber(ARGV[7]) - ${ACTIVE_NOW_MS}))
  redis.call('PEXPIRE', KEYS[4], ${2 * ACTIVE_NOW_MS})
end
if ARGV[5] ~= '' then
  local last = tonumber(redis.call('HGET', KEYS[3], ARGV[5]) or '0')
  if tonumber(ARGV[6]) <= last then return 0 end
  redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
end
local seq = redis.call('INCR', KEYS[1])
local entry = '{"seq":' .. seq .. ',' .. string.sub(ARGV[3], 2)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], seq .. '-0', 'd', entry)
redis.call('PUBLISH', ARGV[1], ARGV[2])
return seq`;

type FeedRedis = Redis & {
  sbFeedAppend(seqKey: string, stream: string, batches: string, activeNow: string, ...args: (string | number)[]): Promise<number>;
};

function withAppend(redis: Redis): FeedRedis {
  if (!('sbFeedAppend' in redis)) redis.defineCommand('sbFeedAppend', { numberOfKeys: 4, lua: APPEND_LUA });
  return redis as FeedRedis;
}

/**
 * Appends one entry to a project's feed: numbers it, keeps it for resuming, wakes the
 * gateways. `activity` (distinctId → last event ms) feeds "active users now".
 * Returns the seq, or 0 for a delta whose (partition, batch) was appended already.
 */
export async function appendToFeed(
  redis: Redis,
  prefix: string,
  entry: Unnumbered<FeedEntry>,
  activity: ReadonlyMap<string, number> = new Map(),
  now = Date.now(),
): Promise<number> {
  const keys = feedKeys(prefix, entry.projectId);
  const batch = entry.type === 'delta' ? [String(entry.partition), String(entry.batch)] : ['', '0'];
  const pairs: (string | number)[] = [];
  for (const [distinctId, at] of activity) pairs.push(distinctId, at);
  return withAppend(redis).sbFeedAppend(
    keys.seq, keys.stream, keys.batches, keys.activeNow,
    feedChannel(prefix), entry.projectId, JSON.stringify(entry), LIVE_FEED_KEPT, ...batch, now, ...pairs,
  );
}

/** Up to `count` entries after `afterSeq`, oldest first. */
export async function readFeed(redis: Redis, prefix: string, projectId: string, afterSeq: number, count = 1000): Promise<FeedEntry[]> {
  const rows = (await redis.xrange(feedKeys(prefix, projectId).stream, `(${afterSeq}-0`, '+', 'COUNT', count)) as [string, string[]][];
  return rows.map(([, fields]) => JSON.parse(fields[1]!) as FeedEntry);
}

/** The project's last seq and, per partition, the last batch appended: where a state load starts. */
export async function feedPosition(redis: Redis, prefix: string, projectId: string): Promise<{ seq: number; batches: Map<number, number> }> {
  const keys = feedKeys(prefix, projectId);
  const [seq, batches] = await Promise.all([redis.get(keys.seq), redis.hgetall(keys.batches)]);
  return { seq: Number(seq ?? 0), batches: new Map(Object.entries(batches).map(([p, b]) => [Number(p), Number(b)])) };
}

/** Distinct users active in the last five minutes. */
export function countActiveNow(redis: Redis, prefix: string, projectId: string, now = Date.now()): Promise<number> {
  return redis.zcount(feedKeys(prefix, projectId).activeNow, now - ACTIVE_NOW_MS, '+inf');
}
