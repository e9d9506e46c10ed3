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
 *   <prefix>:feedepoch:{P}  set with the first entry: a new value means the feed was
 *                            lost (Redis lost its data) and its seqs start again
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
    epoch: `${prefix}:feedepoch:${tag}`,
  };
}

/**
 * KEYS: seq, stream, batches, activeNow, epoch.
 * ARGV: channel, projectId, entry JSON without seq, kept, partition ('' when not a batch),
 * batch, now (ms), then distinctId/time pairs for "active now".
 * Returns the seq given, or 0 when the batch was appended before (a replay).
 * Scripts are not rolled back when a command fails, so it only reads until XADD has
 * succeeded: a failed append marks nothing as done.
 */
/** Lua: the feed's last seq, KEYS[1] the counter and KEYS[2] the stream: the counter, or the stream's top if the counter was lost. */
const LAST_SEQ_LUA = `
local function lastSeq(seqKey, stream)
  local seq = tonumber(redis.call('GET', seqKey) or '0')
  local top = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)[1]
  if top then
    local topSeq = tonumber(string.match(top[1], '^(%d+)'))
    if topSeq > seq then seq = topSeq end
  end
  return seq
end
`;

const APPEND_LUA = `${LAST_SEQ_LUA}
if ARGV[5] ~= '' then
  local last = tonumber(redis.call('HGET', KEYS[3], ARGV[5]) or '0')
  if tonumber(ARGV[6]) <= last then return 0 end
end
local seq = lastSeq(KEYS[1], KEYS[2]) + 1
local entry = '{"seq":' .. seq .. ',' .. string.sub(ARGV[3], 2)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], seq .. '-0', 'd', entry)
redis.call('SET', KEYS[1], seq)
if redis.call('EXISTS', KEYS[5]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[5], t[1] .. string.format('%06d', t[2]))
end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[3], ARGV[5], ARGV[6]) end
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
redis.call('PUBLISH', ARGV[1], ARGV[2])
return seq`;

type FeedRedis = Redis & {
  sbFeedAppend(seqKey: string, stream: string, batches: string, activeNow: string, epoch: string, ...args: (string | number)[]): Promise<number>;
};

/**
 * Defines the append script on a client. Call it when the client is created: ioredis
 * copies scripts into a pipeline when the pipeline starts, so defining one while an
 * auto-pipeline is pending crashes the process ("results[i] is not iterable").
 */
export function defineFeedScripts(redis: Redis): void {
  if (!('sbFeedAppend' in redis)) redis.defineCommand('sbFeedAppend', { numberOfKeys: 5, lua: APPEND_LUA });
}

function withAppend(redis: Redis): FeedRedis {
  if (!('sbFeedAppend' in redis)) throw new Error('defineFeedScripts(redis) was not called when the client was created');
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
    keys.seq, keys.stream, keys.batches, keys.activeNow, keys.epoch,
    feedChannel(prefix), entry.projectId, JSON.stringify(entry), LIVE_FEED_KEPT, ...batch, now, ...pairs,
  );
}

/**
 * Records batches as appended without a delta: a recompute's documents carry their
 * partition's last batch, and loads wait for the feed to have carried that batch.
 * Only for a caller that holds the partitions (nothing else appends meanwhile).
 */
export async function raiseAppendedBatches(redis: Redis, prefix: string, projectId: string, batches: ReadonlyMap<number, number>): Promise<void> {
  if (batches.size === 0) return;
  const pairs = [...batches].flatMap(([partition, batch]) => [String(partition), String(batch)]);
  await redis.eval(RAISE_LUA, 1, feedKeys(prefix, projectId).batches, ...pairs);
}

/** KEYS[1] the batches hash; ARGV partition/batch pairs. Only ever raises a mark. */
const RAISE_LUA = `
for i = 1, #ARGV, 2 do
  if tonumber(ARGV[i + 1]) > tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1`;

/** Up to `count` entries after `afterSeq` (and up to `toSeq`, when given), oldest first. */
export async function readFeed(redis: Redis, prefix: string, projectId: string, afterSeq: number, count = 1000, toSeq?: number): Promise<FeedEntry[]> {
  const rows = (await redis.xrange(feedKeys(prefix, projectId).stream, `(${afterSeq}-0`, toSeq === undefined ? '+' : `${toSeq}-0`, 'COUNT', count)) as [string, string[]][];
  return rows.map(([, fields]) => JSON.parse(fields[1]!) as FeedEntry);
}

export interface FeedPosition {
  seq: number;
  /** Partition → the last batch appended. */
  batches: Map<number, number>;
  /** Null before the first entry. */
  epoch: string | null;
}

/** KEYS: seq, stream, batches, epoch. One script, so an append can't land between the reads. */
const POSITION_LUA = `${LAST_SEQ_LUA}
return {tostring(lastSeq(KEYS[1], KEYS[2])), redis.call('HGETALL', KEYS[3]), redis.call('GET', KEYS[4]) or ''}`;

/** Where a state load starts: the last seq, the batches appended and the epoch, read atomically. */
export async function feedPosition(redis: Redis, prefix: string, projectId: string): Promise<FeedPosition> {
  const keys = feedKeys(prefix, projectId);
  const [seq, flat, epoch] = (await redis.eval(POSITION_LUA, 4, keys.seq, keys.stream, keys.batches, keys.epoch)) as [string, string[], string];
  const batches = new Map<number, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) batches.set(Number(flat[i]), Number(flat[i + 1]));
  return { seq: Number(seq), batches, epoch: epoch === '' ? null : epoch };
}

/** The feed's epoch and last seq: a changed epoch or a seq gone back means the feed was lost. */
export async function feedHead(redis: Redis, prefix: string, projectId: string): Promise<{ seq: number; epoch: string | null }> {
  const keys = feedKeys(prefix, projectId);
  const [seq, epoch] = (await redis.eval(HEAD_LUA, 3, keys.seq, keys.stream, keys.epoch)) as [string, string];
  return { seq: Number(seq), epoch: epoch === '' ? null : epoch };
}

/** KEYS: seq, stream, epoch. */
const HEAD_LUA = `${LAST_SEQ_LUA}
return {tostring(lastSeq(KEYS[1], KEYS[2])), redis.call('GET', KEYS[3]) or ''}`;

/** Distinct users active in the last five minutes. */
export function countActiveNow(redis: Redis, prefix: string, projectId: string, now = Date.now()): Promise<number> {
  return redis.zcount(feedKeys(prefix, projectId).activeNow, now - ACTIVE_NOW_MS, '+inf');
}
