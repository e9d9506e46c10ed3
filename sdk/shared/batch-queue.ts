import { classifyAnswer, classifyFailure, type Outcome } from './answer.js';
import { backoffDelay } from './backoff.js';
import { DeliveryError, type DeliveryFailure } from './delivery-error.js';
import type { WireEvent } from './event.js';
import type { Answer } from './http.js';

/** A request holds at most this many events: half the server's default INGEST_MAX_EVENTS_PER_REQUEST (1000). */
export const MAX_BATCH_EVENTS = 500;
/** ... and at most this many bytes: half the server's default INGEST_MAX_BODY_BYTES (1 MiB). A 413 halves it further. */
export const MAX_BATCH_BYTES = 512 * 1024;

export interface Timers {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface QueuePolicy {
  /** Send as soon as this many events wait. */
  flushAt: number;
  /** Send at most this many milliseconds after an event was queued. */
  flushInterval: number;
  /** Past this many queued events the oldest is dropped. */
  maxQueueSize: number;
  /** Retries of one batch before its events are dropped (Infinity: never). */
  maxRetries: number;
}

export interface QueueDeps {
  /** Sends one batch body; rejects on a network failure. */
  send(body: string): Promise<Answer>;
  timers: Timers;
  now(): number;
  random(): number;
  /** Events given up on; never throws into the queue. */
  onDrop(error: DeliveryError): void;
  /** The queue changed (to persist it). */
  onChange?(events: readonly WireEvent[]): void;
}

/** UTF-8 length without TextEncoder or Buffer (this folder uses neither DOM nor Node APIs). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4; // a surrogate pair: two UTF-16 units, one 4-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * The body `{"batch":[...]}` of the events from `start`, as many as fit `maxEvents` and
 * `maxBytes` (always at least one), and how many it holds.
 */
export function batchBody(events: readonly WireEvent[], start: number, maxEvents: number, maxBytes: number): { body: string; count: number } {
  const parts: string[] = [];
  let bytes = '{"batch":[]}'.length;
  for (let i = start; i < events.length && parts.length < maxEvents; i++) {
    const part = JSON.stringify(events[i]);
    const size = utf8Length(part) + (parts.length > 0 ? 1 : 0);
    if (parts.length > 0 && bytes + size > maxBytes) break;
    parts.push(part);
    bytes += size;
  }
  return { body: `{"batch":[${parts.join(',')}]}`, count: parts.length };
}

/** The queue both SDKs send from (see createBatchQueue). */
export interface BatchQueue {
  readonly size: number;
  add(event: WireEvent): void;
  /** Puts back events kept from an earlier run (the browser's persisted queue), before anything queued since. */
  restore(events: readonly WireEvent[]): void;
  /** Sends everything queued; resolves once each event is delivered or given up on (or stop()). Never rejects. */
  flush(): Promise<void>;
  /**
   * Hands the queued events not in flight to `post` (sendBeacon), in bodies of at most
   * `maxBytes`, removing each body `post` takes; stops at the first it refuses.
   */
  sendNow(maxBytes: number, post: (body: string) => boolean): void;
  /** Empties the queue (opt-out, or what shutdown() could not deliver); returns what it held. */
  clear(): WireEvent[];
  /** Stops the timers and any retry wait; a request in flight finishes (its caller may abort it). */
  stop(): void;
}

/**
 * Batches by size (`flushAt`) and time (`flushInterval`) and sends one request at a time,
 * oldest first. Each answer is classified (answer.ts): delivered events leave the queue, a
 * 413 halves the batch, a retriable failure waits (Retry-After, else full-jitter backoff)
 * and sends the same events again, with the same eventIds. The events of the request in
 * flight stay at the head of the queue until answered.
 *
 * A closure rather than a class: the minifier renames its variables, not properties,
 * which keeps the browser build about 400 bytes smaller gzipped (scripts/build-sdk.ts).
 */
export function createBatchQueue(policy: Readonly<QueuePolicy>, deps: QueueDeps): BatchQueue {
  const { timers } = deps;
  const events: WireEvent[] = [];
  let inFlight = 0;
  let flushTimer: unknown;
  let retryTimer: unknown;
  let wake: (() => void) | undefined;
  let draining: Promise<void> | undefined;
  let stopped = false;

  const changed = () => deps.onChange && deps.onChange(events);
  const report = (error: DeliveryError) => {
    try {
      deps.onDrop(error);
    } catch {
      // An onError callback that throws must not stop delivery of the other events.
    }
  };
  /** Removes `count` events from `at` and reports them, when given a reason. */
  const remove = (at: number, count: number, reason?: DeliveryFailure, message?: string, status?: number) => {
    const removed = events.splice(at, count);
    if (reason !== undefined) report(new DeliveryError(reason, message!, removed, status));
    changed();
    return removed;
  };
  const trim = () => {
    // The oldest not in flight; if all are, the newest.
    while (events.length > policy.maxQueueSize) {
      remove(Math.min(inFlight, events.length - 1), 1, 'queue-full', `the queue holds ${policy.maxQueueSize} events (maxQueueSize); the oldest was dropped`);
    }
  };
  const schedule = () => {
    if (flushTimer !== undefined || draining !== undefined || stopped) return;
    flushTimer = timers.setTimeout(() => {
      flushTimer = undefined;
      void queue.flush();
    }, policy.flushInterval);
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      retryTimer = timers.setTimeout(resolve, ms);
    });

  const drain = async () => {
    let maxEvents = MAX_BATCH_EVENTS;
    let retries = 0;
    while (events.length > 0 && !stopped) {
      const { body, count } = batchBody(events, 0, maxEvents, MAX_BATCH_BYTES);
      const first = events[0];
      inFlight = count;
      let outcome: Outcome;
      try {
        outcome = classifyAnswer(await deps.send(body), deps.now());
      } catch (err) {
        outcome = classifyFailure(err);
      }
      inFlight = 0;
      // clear() emptied the queue while the request was out: its answer concerns nothing queued.
      if (events[0] !== first) continue;

      if (outcome.kind === 'halve') {
        if (count > 1) maxEvents = Math.floor(count / 2);
        else remove(0, 1, 'too-large', 'the event alone is larger than the server takes (HTTP 413)', 413);
        continue;
      }
      if (outcome.kind === 'drop') {
        remove(0, count, 'refused', `the server refused ${count} events: ${outcome.why}`, outcome.status);
        retries = 0;
        continue;
      }
      // What is retried: the whole batch, or the events of a 202 marked retriable.
      let pending = count;
      if (outcome.kind === 'delivered') {
        const batch = remove(0, count);
        const rejected = outcome.rejected.filter((r) => r.index >= 0 && r.index < count);
        const bad = rejected.filter((r) => !r.retriable);
        if (bad.length > 0) {
          const details = bad.map((r) => `#${r.index} ${batch[r.index]!.event}: ${r.errors.join('; ')}`).join(', ');
          report(new DeliveryError('rejected', `the server rejected ${bad.length} of ${count} events: ${details}`, bad.map((r) => batch[r.index]!), 202));
        }
        const again = rejected.filter((r) => r.retriable).map((r) => batch[r.index]!);
        if (again.length === 0) {
          retries = 0;
          continue;
        }
        events.unshift(...again);
        changed();
        pending = again.length;
        outcome = { kind: 'retry', delayMs: undefined, why: `${pending} events not stored (marked retriable)`, status: 202 };
      }
      if (retries >= policy.maxRetries) {
        remove(0, pending, 'retries-exhausted', `${pending} events not delivered after ${retries} retries: ${outcome.why}`, outcome.status);
        retries = 0;
        continue;
      }
      if (!stopped) await sleep(outcome.delayMs ?? backoffDelay(retries, deps.random()));
      retries++;
    }
  };

  const queue: BatchQueue = {
    get size() {
      return events.length;
    },
    add(event) {
      events.push(event);
      trim();
      changed();
      if (events.length - inFlight >= policy.flushAt) void queue.flush();
      else schedule();
    },
    restore(saved) {
      events.splice(inFlight, 0, ...saved);
      trim();
      changed();
    },
    async flush() {
      timers.clearTimeout(flushTimer);
      flushTimer = undefined;
      // Loops: an event queued while a drain was finishing is sent by the next one.
      while (events.length > 0 && !stopped) {
        if (draining === undefined) draining = drain().finally(() => (draining = undefined));
        await draining;
      }
    },
    sendNow(maxBytes, post) {
      while (events.length > inFlight) {
        const { body, count } = batchBody(events, inFlight, MAX_BATCH_EVENTS, maxBytes);
        if (!post(body)) break;
        remove(inFlight, count);
      }
    },
    clear() {
      inFlight = 0;
      return remove(0, events.length);
    },
    stop() {
      stopped = true;
      timers.clearTimeout(flushTimer);
      timers.clearTimeout(retryTimer);
      if (wake !== undefined) wake();
    },
  };
  return queue;
}
