/**
 * The value an event is counted under for one breakdown dimension (AGGREGATOR_DIMENSIONS):
 * one definition for ingest (which bounds how many distinct values a project may add)
 * and the aggregator (which counts them), so both name a value alike.
 */
import type { StampedEvent } from './event-stream.js';
import { breakdownFieldName } from './store-text.js';

/** Events whose value was one too many for the day (and a breakdown's rows past its limit). */
export const OTHER_VALUE = '(other)';
/** Values every event may have, never counted against a project's distinct values. */
export const NO_VALUE = '(none)';
export const OBJECT_VALUE = '(object)';

/**
 * The stored name of the event's value of `dimension` (read from `context`, else
 * `properties`): `(none)` when missing, `(object)` for objects, `(other)` when ingest
 * found the project had too many distinct values of it that day (`overflow`), else the
 * value as a storable field name.
 */
export function breakdownValue(event: Pick<StampedEvent, 'context' | 'properties' | 'overflow'>, dimension: string): string {
  if (event.overflow?.includes(dimension) === true) return OTHER_VALUE;
  const value = event.context[dimension] ?? event.properties?.[dimension];
  if (value === undefined || value === null) return NO_VALUE;
  if (typeof value === 'object') return OBJECT_VALUE;
  return breakdownFieldName(String(value));
}
