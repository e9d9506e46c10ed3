import type { Redis } from '../core/redis.js';

/**
 * The live feed: what the aggregator (deltas) and the alerts evaluator (alerts) tell
 * the realtime gateways, per project, through Redis. One project's keys share the hash
 * tag `{<projectId>}`, so the append script stays legal on Redis Cluster:
 *   <prefix>:feedseq:{P}    the last seq given out (INCR)
 *   <prefix>:feed:{P}       stream of entries, entry ID "<seq>-0", field `d` = the JSON
 *                            entry with its seq; the last LIVE_FEED_KEPT are kept, at
 *                            most LIVE_FEED_MAX_BYTES of them, so clients resume from a
 *                            seq and gateways read by seq
 *   <prefix>:feedbytes:{P}  the bytes of the entries kept
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
/** ...and their bytes at most: an entry of many names is large (a 99-entry feed held 983 KB). */
export const LIVE_FEED_MAX_BYTES = 16 * 1024 * 1024;
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
    bytes: `${prefix}:feedbytes:${tag}`,
  };
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
  maxBytes = LIVE_FEED_MAX_BYTES,
): Promise<number> {
  const keys = feedKeys(prefix, entry.projectId);
  const batch = entry.type === 'delta' ? [String(entry.partition), String(entry.batch)] : ['', '0'];
  const pairs: (string | number)[] = [];
  for (const [distinctId, at] of activity) pairs.push(distinctId, at);
  return redis.sbFeedAppend(
    keys.seq, keys.stream, keys.batches, keys.activeNow, keys.epoch, keys.bytes,
    feedChannel(prefix), entry.projectId, JSON.stringify(entry), LIVE_FEED_KEPT, ...batch, now, ACTIVE_NOW_MS, maxBytes, ...pairs,
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
  await redis.sbFeedRaiseBatches(feedKeys(prefix, projectId).batches, ...pairs);
}

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

/** Where a state load starts: the last seq, the batches appended and the epoch, read atomically. */
export async function feedPosition(redis: Redis, prefix: string, projectId: string): Promise<FeedPosition> {
  const keys = feedKeys(prefix, projectId);
  const [seq, flat, epoch] = await redis.sbFeedPosition(keys.seq, keys.stream, keys.batches, keys.epoch);
  const batches = new Map<number, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) batches.set(Number(flat[i]), Number(flat[i + 1]));
  return { seq: Number(seq), batches, epoch: epoch === '' ? null : epoch };
}

/** The feed's epoch and last seq: a changed epoch or a seq gone back means the feed was lost. */
export async function feedHead(redis: Redis, prefix: string, projectId: string): Promise<{ seq: number; epoch: string | null }> {
  const keys = feedKeys(prefix, projectId);
  const [seq, epoch] = await redis.sbFeedHead(keys.seq, keys.stream, keys.epoch);
  return { seq: Number(seq), epoch: epoch === '' ? null : epoch };
}

/** Distinct users active in the last five minutes. */
export function countActiveNow(redis: Redis, prefix: string, projectId: string, now = Date.now()): Promise<number> {
  return redis.zcount(feedKeys(prefix, projectId).activeNow, now - ACTIVE_NOW_MS, '+inf');
}
