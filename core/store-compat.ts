import { BSON, MongoBulkWriteError, MongoInvalidArgumentError, MongoServerError, type Collection, type Db, type Document, type IndexDescription, type OptionalUnlessRequiredId } from 'mongodb';

/**
 * What MongoDB-compatible servers do differently, handled in one place
 * (docs/aggregation.md#ferretdb): FerretDB 1.24 stands in for MongoDB in development
 * and CI, and everything here works on both.
 */

const DUPLICATE_KEY = 11000;

/**
 * Updates per bulk command. FerretDB 1.24 keeps each update's SQLite cursor, and so one
 * pooled connection, open until the whole command ends; its pool holds 100, and a
 * command of 100 updates or more deadlocks (measured: 80 pass, 100 hang).
 */
export const UPDATES_PER_COMMAND = 50;

/**
 * Whether the server applies each update to a document atomically, as MongoDB does.
 * FerretDB 1.x reads a document and writes it back without isolation: two processes
 * incrementing one document lose an increment (aggregator/workers.integration.test.ts caught it).
 */
export async function updatesAreAtomic(db: Db): Promise<boolean> {
  const info = await db.admin().command({ buildInfo: 1 });
  return info.ferretdbVersion === undefined;
}

/**
 * Creates indexes one command each. FerretDB 1.24 closes the connection when one
 * createIndexes command names several indexes that already exist (every start after
 * the first, on the same data), while a command per index is answered normally.
 */
export async function createIndexesOneByOne<T extends Document>(collection: Collection<T>, indexes: readonly IndexDescription[]): Promise<void> {
  for (const { key, ...options } of indexes) await collection.createIndex(key, options);
}

/**
 * Server codes for a document the server will never take, however often it is sent:
 * BadValue, TypeMismatch, FailedToParse, DollarPrefixedFieldName, EmptyFieldName,
 * DottedFieldName, DocumentValidationFailure, BSONObjectTooLarge, KeyTooLong, and an
 * update whose result would pass 16 MiB (17419).
 */
const UNWRITABLE_DOCUMENT_CODES: ReadonlySet<number> = new Set([2, 14, 9, 52, 56, 57, 121, 10334, 17280, 17419]);

/**
 * Whether a write failed because of what it holds (the same write fails the same way
 * every time) rather than because the server or the network failed (worth retrying): a
 * document the driver cannot encode (a NUL in a field name) or that is too large, or one
 * the server refuses for its content. Only for errors of store calls.
 */
export function isUnwritableDocumentError(err: unknown): boolean {
  // A command past the driver's 17 MiB serialization buffer throws a RangeError (ERR_OUT_OF_RANGE) while it is encoded.
  if (err instanceof BSON.BSONError || err instanceof MongoInvalidArgumentError || err instanceof RangeError) return true;
  if (err instanceof MongoBulkWriteError) {
    const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    return errors.length > 0 && errors.every((e) => e !== undefined && UNWRITABLE_DOCUMENT_CODES.has(e.code));
  }
  return err instanceof MongoServerError && typeof err.code === 'number' && UNWRITABLE_DOCUMENT_CODES.has(err.code);
}

/** A refused duplicate `_id` or unique key (FerretDB 1.24 sets the code but no codeName). */
function isDuplicateKeyError(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === DUPLICATE_KEY;
}

/** Inserts `doc` unless its `_id` is taken; true when this call inserted it. */
export async function insertUnlessPresent<T extends Document>(collection: Collection<T>, doc: OptionalUnlessRequiredId<T>): Promise<boolean> {
  try {
    await collection.insertOne(doc);
    return true;
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    return false;
  }
}

/**
 * Inserts unordered and returns the indexes of the documents refused as duplicates.
 * Anything else throws, including a bulk error that does not account for every
 * document: FerretDB shutting down mid-insert answered with a bulk error holding no
 * write errors, and taking that for "no duplicates" counted events never stored
 * (found by aggregator/restart.integration.test.ts).
 */
export async function insertSkippingDuplicates<T extends Document>(collection: Collection<T>, docs: readonly T[]): Promise<Set<number>> {
  try {
    await collection.insertMany(docs as OptionalUnlessRequiredId<T>[], { ordered: false });
    return new Set();
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError) || err.result.getWriteConcernError() !== undefined) throw err;
    const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    if (errors.some((e) => e?.code !== DUPLICATE_KEY) || err.insertedCount + errors.length !== docs.length) throw err;
    return new Set(errors.map((e) => e.index));
  }
}

/** How expired documents go: MongoDB's TTL indexes, or a periodic sweep where the server has none. */
export type ExpiryMode = 'ttl' | 'sweep';

/**
 * An index on `expireAt` in each collection: TTL indexes where the server has them, else
 * plain ones for the sweep's range deletes (FerretDB 1.x answers code 238,
 * "expireAfterSeconds is not implemented yet"). Returns how the server expires them.
 */
export async function createExpiryIndexes(collections: readonly Pick<Collection, 'createIndex'>[]): Promise<ExpiryMode> {
  let mode: ExpiryMode = 'ttl';
  for (const collection of collections) {
    try {
      await collection.createIndex({ expireAt: 1 }, { name: 'expire_ttl', expireAfterSeconds: 0 });
    } catch (err) {
      if (!isNotImplemented(err)) throw err;
      mode = 'sweep';
      await collection.createIndex({ expireAt: 1 }, { name: 'expire_at' });
    }
  }
  return mode;
}

function isNotImplemented(err: unknown): boolean {
  const e = err as { code?: number; codeName?: string; message?: string };
  return e.code === 238 || e.codeName === 'NotImplemented' || /not implemented/i.test(e.message ?? '');
}
