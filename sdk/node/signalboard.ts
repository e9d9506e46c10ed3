import { randomUUID } from 'node:crypto';
import { createBatchQueue, type BatchQueue } from '../shared/batch-queue.js';
import { DeliveryError } from '../shared/delivery-error.js';
import { buildEvent, callerFieldsProblem, eventProblem, propertiesProblem, type EventInput, type EventSource, type Properties } from '../shared/event.js';
import { eventsUrl, postBatch } from '../shared/http.js';
import { endpointOption, functionOption, type DeliveryOptions, optionsRecord, wholeOption, writeKeyOption } from '../shared/options.js';

/** The options of docs/sdk.md#node; defaults: flushAt 20, flushInterval 10000, maxRetries 6, maxQueueSize 10000, onError console.error. */
export interface SignalboardOptions extends DeliveryOptions {
  /** How long shutdown() waits for the queue to drain, in milliseconds (default 10000). */
  timeout?: number;
  /** One request's time limit in milliseconds; past it the request counts as a network error (default 10000). */
  requestTimeout?: number;
  /** The fetch to send with (default: the global fetch). */
  fetch?: typeof fetch;
}

/** Who did it: userId, anonymousId or both (the server needs one of them). */
export type Identity = { userId: string; anonymousId?: string } | { userId?: undefined; anonymousId: string };

/** What a server-side event may carry besides its name and properties. */
export interface MessageFields {
  /** When it happened (default: the call's time). */
  timestamp?: Date | string | number;
  /** The idempotency key (default: a new UUID); reuse it when sending the same event again. */
  eventId?: string;
  context?: Properties;
}

export type TrackMessage = Identity & MessageFields & { event: string; properties?: Properties };
export type PageMessage = Identity & MessageFields & { url?: string; path?: string; title?: string; referrer?: string; properties?: Properties };
export type IdentifyMessage = { userId: string; anonymousId?: string; traits?: Properties } & MessageFields;

const OPTIONS = ['writeKey', 'endpoint', 'flushAt', 'flushInterval', 'maxRetries', 'maxQueueSize', 'timeout', 'requestTimeout', 'onError', 'fetch'];

type OnError = NonNullable<SignalboardOptions['onError']>;
const logError: OnError = (error) => console.error(`signalboard: ${error.message}`);
/** Read at each call, so a fetch installed later (a test's, a proxy agent's) is used. */
const globalFetch: typeof fetch = (input, init) => fetch(input, init);

function readOptions(given: SignalboardOptions) {
  const o = optionsRecord(given, OPTIONS);
  return Object.freeze({
    writeKey: writeKeyOption(o.writeKey),
    endpoint: endpointOption(o.endpoint),
    flushAt: wholeOption(o.flushAt, 'flushAt', 20, 1, 500),
    flushInterval: wholeOption(o.flushInterval, 'flushInterval', 10_000, 0, 3_600_000),
    maxRetries: wholeOption(o.maxRetries, 'maxRetries', 6, 0, 100),
    maxQueueSize: wholeOption(o.maxQueueSize, 'maxQueueSize', 10_000, 1, 10_000_000),
    timeout: wholeOption(o.timeout, 'timeout', 10_000, 0, 3_600_000),
    requestTimeout: wholeOption(o.requestTimeout, 'requestTimeout', 10_000, 1, 3_600_000),
    onError: functionOption<OnError>(o.onError, 'onError') ?? logError,
    fetch: functionOption<typeof fetch>(o.fetch, 'fetch') ?? globalFetch,
  });
}

const SOURCE: EventSource = { library: 'signalboard-node', now: () => Date.now(), uuid: () => randomUUID() };

const definedOnly = (record: Record<string, unknown>): Properties => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));

/**
 * The Node SDK: queues events and sends them in batches (flushAt, flushInterval), one
 * request at a time, retrying 429, 5xx and network errors with backoff that honours
 * Retry-After, halving a batch on 413. Nothing throws after construction: problems go to
 * `onError`. Call `shutdown()` before the process exits.
 */
export class Signalboard {
  private readonly options: ReturnType<typeof readOptions>;
  private readonly queue: BatchQueue;
  /** Aborts the requests in flight when shutdown() runs out of time. */
  private readonly abort = new AbortController();
  private closing: Promise<void> | undefined;

  constructor(options: SignalboardOptions) {
    this.options = readOptions(options);
    const { fetch: send, requestTimeout, writeKey } = this.options;
    const url = eventsUrl(this.options.endpoint);
    this.queue = createBatchQueue(this.options, {
      send: async (body) => {
        const timer = new AbortController();
        const timeout = setTimeout(() => timer.abort(new Error(`no answer within ${requestTimeout} ms (requestTimeout)`)), requestTimeout);
        try {
          return await postBatch((to, init) => send(to, { ...init, signal: AbortSignal.any([timer.signal, this.abort.signal]) }), url, writeKey, body);
        } finally {
          clearTimeout(timeout);
        }
      },
      timers: { setTimeout: (run, ms) => setTimeout(run, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
      now: () => Date.now(),
      random: () => Math.random(),
      onDrop: (error) => this.options.onError(error),
    });
  }

  track(message: TrackMessage): void {
    this.enqueue(message, { event: message.event, properties: message.properties });
  }

  /** Sends "$page" with the url, path, title and referrer given, and the other properties. */
  page(message: PageMessage): void {
    const problem = propertiesProblem(message?.properties);
    if (problem !== undefined) return this.report(new TypeError(`$page: ${problem}`));
    const { url, path, title, referrer } = message;
    this.enqueue(message, { event: '$page', properties: { ...definedOnly({ url, path, title, referrer }), ...message.properties } });
  }

  /** Sends "$identify" with the traits as properties. */
  identify(message: IdentifyMessage): void {
    if (typeof message?.userId !== 'string') return this.report(new TypeError('identify() needs a userId'));
    this.enqueue(message, { event: '$identify', properties: message.traits });
  }

  /** Sends what is queued; resolves once every event is delivered or given up on (reported to onError). */
  flush(): Promise<void> {
    return this.queue.flush();
  }

  /**
   * Stops the timer, sends what is queued and waits for it, for at most `timeout` ms;
   * then aborts what is still in flight and reports the events left to onError
   * (reason "shutdown"). Later calls to track() are reported, not queued.
   */
  shutdown(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  private async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const drained = this.queue.flush();
    const outOfTime = await Promise.race([drained.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(resolve, this.options.timeout, true)))]);
    clearTimeout(timer);
    this.queue.stop();
    if (!outOfTime) return;
    this.abort.abort(new Error('shutdown() ran out of time'));
    await drained;
    const left = this.queue.clear();
    if (left.length > 0) this.report(new DeliveryError('shutdown', `${left.length} events not delivered within shutdown()'s ${this.options.timeout} ms (timeout)`, left));
  }

  private enqueue(message: Identity & MessageFields, fields: Pick<EventInput, 'event' | 'properties'>): void {
    const input: EventInput = { ...fields, userId: message?.userId, anonymousId: message?.anonymousId, timestamp: message?.timestamp, eventId: message?.eventId, context: message?.context };
    const problem = eventProblem(input) ?? callerFieldsProblem(input);
    if (problem !== undefined) return this.report(new TypeError(problem));
    const event = buildEvent(input, SOURCE);
    if (this.closing !== undefined) return this.report(new DeliveryError('shutdown', `${event.event}: sent after shutdown(); not queued`, [event]));
    this.queue.add(event);
  }

  private report(error: DeliveryError | TypeError): void {
    try {
      this.options.onError(error);
    } catch {
      // A throwing onError must not turn track() into a throwing call.
    }
  }
}
