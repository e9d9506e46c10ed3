import { BSON, type Db, type Document, type Filter } from 'mongodb';
import { COLLECTIONS, type RollupDeltaDoc, type Watermarks } from './collections.js';

/**
 * Rollup changes not yet folded into their documents (docs/aggregation.md#rollup-deltas).
 *
 * A write cycle stores each batch's rollup changes as one insert-only document per
 * project (`rollup_deltas`, `_id` = project|partition|batch, so a replay is a duplicate
 * key, not a second count) instead of updating every touched document: on FerretDB an
 * update is one SQLite transaction with its own fsync, an insert of a thousand changes
 * is one too. The aggregator folds them into the rollup documents every
 * AGGREGATOR_FOLD_MS, guarded by the documents' watermarks, then deletes them.
 *
 * Everything that reads rollups reads them through `findRollups`: the documents plus
 * the changes not folded into them yet, as extra documents of the same shape (readers
 * already add up documents of one identity), so a figure is the same before and after
 * a fold.
 */

/** A rollup document as a delta carries it: `_id` of the document it changes, its fields, every number a counter. */
export type RollupChange = Document & { _id: string };

export function rollupDeltaId(projectId: string, part: number, seq: number): string {
  return `${projectId}|${part}|${seq}`;
}

export function encodeRollupChanges(byCollection: Readonly<Record<string, readonly RollupChange[]>>): string {
  return BSON.EJSON.stringify(byCollection, { relaxed: true });
}

/** A delta document's changes as EJSON text, in UTF-16 units: at most 12 MiB of UTF-8, under MongoDB's 16 MiB per document. */
export const DELTA_MAX_CHARS = 4 * 1024 * 1024;

/**
 * One project's rollup changes of one partition batch as delta documents: one, or
 * several of at most DELTA_MAX_CHARS each when many distinct names and values make it
 * large (the first keeps the plain id, the next ones `…|1`, `…|2`). Each changed document
 * sits in one of them whole, and the same changes give the same documents, so a replay
 * is still a duplicate.
 */
export function rollupDeltaDocs(projectId: string, part: number, seq: number, byCollection: Readonly<Record<string, readonly RollupChange[]>>): RollupDeltaDoc[] {
  const texts: string[] = [];
  const split = (changes: ReadonlyArray<readonly [string, RollupChange]>) => {
    const grouped: Record<string, RollupChange[]> = {};
    for (const [name, change] of changes) (grouped[name] ??= []).push(change);
    const text = encodeRollupChanges(grouped);
    if (text.length <= DELTA_MAX_CHARS || changes.length === 1) {
      texts.push(text);
      return;
    }
    const half = Math.ceil(changes.length / 2);
    split(changes.slice(0, half));
    split(changes.slice(half));
  };
  split(Object.entries(byCollection).flatMap(([name, changes]) => changes.map((c) => [name, c] as const)));
  const id = rollupDeltaId(projectId, part, seq);
  return texts.map((changes, i) => ({ _id: i === 0 ? id : `${id}|${i}`, projectId, part, seq, changes }));
}

/** A delta as readers use it: its batch, and its changes by collection. */
export interface DecodedDelta {
  part: number;
  /** The partition's batch number (not a feed position: docs/architecture.md, "Two numbers called seq"). */
  seq: number;
  changes: Record<string, RollupChange[]>;
}

/** A NUL as JSON.stringify writes it (`\u0000`), not preceded by an escaped backslash. */
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g;

/**
 * Throws on a delta that is not EJSON. A NUL becomes U+FFFD: deltas written before
 * breakdown values were made storable (model/store-text.ts) hold it in field names,
 * which EJSON refuses (and the fold, reading them, stopped for everyone); mapped as
 * breakdownFieldName maps it now, they fold into the names today's deltas use.
 */
export function decodeDelta(delta: RollupDeltaDoc): DecodedDelta {
  const text = delta.changes.includes('\\u0000') ? delta.changes.replace(NUL_ESCAPE, '$1\\ufffd') : delta.changes;
  return { part: delta.part, seq: delta.seq, changes: BSON.EJSON.parse(text, { relaxed: true }) as Record<string, RollupChange[]> };
}

/**
 * Decodes deltas, leaving out any that cannot be read (handed to `undecodable`): one
 * damaged document must not stop every reader, nor every fold.
 */
export function decodeDeltas<D extends RollupDeltaDoc>(deltas: readonly D[], undecodable: (delta: D, err: Error) => void = () => undefined): Array<DecodedDelta & { doc: D }> {
  return deltas.flatMap((doc) => {
    try {
      return [{ ...decodeDelta(doc), doc }];
    } catch (err) {
      undecodable(doc, err as Error);
      return [];
    }
  });
}

/** A project's deltas not folded yet, decoded: read before the documents they are added to. */
export async function readDeltas(db: Db, projectId: string): Promise<DecodedDelta[]> {
  return decodeDeltas(await db.collection<RollupDeltaDoc>(COLLECTIONS.rollupDeltas).find({ projectId }).toArray());
}

/**
 * `docs` (as read with `filter` from collection `name`) with the deltas' changes to that
 * collection that match `filter` and that the documents do not hold yet, each as one
 * more document with the watermark of its batch. Pure.
 *
 * Sound when the deltas were read before the documents: a delta folded in between is
 * held by its document's watermark and skipped; one inserted in between is newer than
 * both reads and left out of both.
 */
export function withDeltas<T extends Document>(name: string, docs: readonly T[], deltas: readonly DecodedDelta[], filter: Readonly<Record<string, unknown>>): T[] {
  const held = new Map(docs.map((d) => [String(d._id), (d.wm ?? {}) as Watermarks]));
  const out = [...docs];
  for (const delta of deltas) {
    const changes = delta.changes[name];
    if (changes === undefined) continue;
    const mark = `p${delta.part}`;
    for (const change of changes) {
      if ((held.get(change._id)?.[mark] ?? 0) >= delta.seq || !matchesFilter(change, filter)) continue;
      out.push({ ...change, wm: { [mark]: delta.seq } } as unknown as T);
    }
  }
  return out;
}

/**
 * The rollup documents of collection `name` that `filter` selects (it must name
 * `projectId`), folded or not. `deltas`: the project's, already read (by a caller
 * reading several collections) before this call.
 */
export async function findRollups<T extends Document>(db: Db, name: string, filter: Readonly<Record<string, unknown>> & { projectId: string }, deltas?: readonly DecodedDelta[]): Promise<T[]> {
  const unfolded = deltas ?? (await readDeltas(db, filter.projectId));
  const docs = await db.collection<T>(name).find(filter as Filter<T>).toArray();
  return withDeltas(name, docs as T[], unfolded, filter);
}

const COMPARE: Record<string, (a: number | string, b: number | string) => boolean> = {
  $gte: (a, b) => a >= b,
  $gt: (a, b) => a > b,
  $lte: (a, b) => a <= b,
  $lt: (a, b) => a < b,
};

function comparable(value: unknown): number | string {
  return value instanceof Date ? value.getTime() : (value as number | string);
}

/**
 * Whether a change matches a rollup query's filter, as MongoDB would decide: field
 * equality, `$in`, and range operators on strings, numbers and dates (what the readers
 * use; anything else throws rather than guess).
 */
export function matchesFilter(doc: Readonly<Document>, filter: Readonly<Record<string, unknown>>): boolean {
  for (const [field, condition] of Object.entries(filter)) {
    const value = comparable(doc[field]);
    if (condition === null || typeof condition !== 'object' || condition instanceof Date) {
      if (value !== comparable(condition)) return false;
      continue;
    }
    for (const [op, operand] of Object.entries(condition)) {
      if (op === '$in') {
        if (!(operand as unknown[]).some((o) => comparable(o) === value)) return false;
      } else if (COMPARE[op] !== undefined) {
        if (value === undefined || !COMPARE[op](value, comparable(operand))) return false;
      } else throw new Error(`rollup filter: ${field}: operator ${op} is not supported`);
    }
  }
  return true;
}
