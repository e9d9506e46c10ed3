/**
 * MongoDB collections the aggregator writes and the api reads. Every document carries
 * `projectId` (every query filters on it) and `expireAt` (TTL index, or the sweep on
 * servers without TTL). Rollup documents carry `wm`: per partition, the last batch
 * applied to them (see docs/aggregation.md). Every number in a rollup document outside
 * `wm` is a counter: changes to one are added (model/rollup-deltas.ts).
 */
export const COLLECTIONS = {
  /** Raw events in bucket documents, the client eventIds seen, and which project days have buckets: see model/raw-events.ts. */
  rawEvents: 'raw_events',
  eventIds: 'event_ids',
  rawDays: 'raw_days',
  users: 'users',
  countsMinute: 'counts_minute',
  countsHour: 'counts_hour',
  countsDay: 'counts_day',
  activity: 'activity',
  retentionDaily: 'retention_daily',
  retentionWeekly: 'retention_weekly',
  /** Rollup changes not folded into the documents above yet: see model/rollup-deltas.ts. */
  rollupDeltas: 'rollup_deltas',
  /** Which person each linked anonymous id belongs to: see model/persons.ts. */
  personLinks: 'person_links',
  /** Built report day segments, columns kept beside the raw buckets: see reports/segment-archive.ts. */
  reportSegments: 'report_segments',
  partitions: 'aggregator_partitions',
  /** Which deployment this database belongs to: see core/deployment.ts. */
  deployment: 'deployment',
} as const;

export type Watermarks = Record<string, number>;

export interface UserDoc {
  _id: string;
  projectId: string;
  distinctId: string;
  userId?: string;
  anonymousId?: string;
  firstSeen?: Date;
  lastSeen?: Date;
  /** UTC day number → the batch that first recorded activity that day. */
  days: Record<string, number>;
  wm: Watermarks;
  expireAt: Date;
}

export interface CountDoc {
  _id: string;
  projectId: string;
  event: string;
  bucket: Date;
  count: number;
  /** dimension → value → count; values escaped like property keys. */
  by: Record<string, Record<string, number>>;
  wm: Watermarks;
  expireAt: Date;
}

export interface ActivityDoc {
  _id: string;
  projectId: string;
  day: Date;
  dau: number;
  wau: number;
  mau: number;
  wm: Watermarks;
  expireAt: Date;
}

export interface RetentionDoc {
  _id: string;
  projectId: string;
  cohort: Date;
  /** offset (days or weeks) → users of the cohort active then; "0" is the cohort size. */
  r: Record<string, number>;
  wm: Watermarks;
  expireAt: Date;
}

/** One partition batch's changes to one project's rollups (see model/rollup-deltas.ts). */
export interface RollupDeltaDoc {
  _id: string;
  projectId: string;
  part: number;
  seq: number;
  /** EJSON: collection → the changed documents (every number in them a counter). */
  changes: string;
}

export const COUNT_COLLECTION = { minute: COLLECTIONS.countsMinute, hour: COLLECTIONS.countsHour, day: COLLECTIONS.countsDay } as const;
