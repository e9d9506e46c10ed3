import type { WireEvent } from './event.js';

/**
 * Why events were given up on:
 * - `refused`: the server refused the request as a whole (400, 401, 403, other 4xx); retrying cannot help;
 * - `rejected`: the server accepted the request but rejected these events (a 202's `rejected` list);
 * - `too-large`: one event alone is larger than the server takes (413);
 * - `retries-exhausted`: still failing (429, 5xx, network) after `maxRetries` retries;
 * - `queue-full`: the queue held `maxQueueSize` events; the oldest was dropped;
 * - `shutdown`: not delivered within `shutdown()`'s timeout, or sent after it.
 */
export type DeliveryFailure = 'refused' | 'rejected' | 'too-large' | 'retries-exhausted' | 'queue-full' | 'shutdown';

/** Events the SDK gave up on, with the reason; passed to the `onError` option, never thrown. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';

  constructor(
    readonly reason: DeliveryFailure,
    message: string,
    readonly events: readonly WireEvent[],
    /** The HTTP status of the answer, when there was one. */
    readonly status?: number,
  ) {
    super(message);
  }
}
