import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { batchBody, createBatchQueue, MAX_BATCH_EVENTS, utf8Length, type QueuePolicy } from './batch-queue.js';
import type { DeliveryError } from './delivery-error.js';
import type { WireEvent } from './event.js';
import type { Answer } from './http.js';

const event = (n: number, extra: Partial<WireEvent> = {}): WireEvent => ({
  event: `e${n}`,
  eventId: `id-${n}`,
  timestamp: '2026-03-01T12:00:00.000Z',
  anonymousId: 'a1',
  context: { library: { name: 'signalboard-node', version: '0.1.0' } },
  ...extra,
});
const ids = (body: string) => (JSON.parse(body) as { batch: WireEvent[] }).batch.map((e) => e.eventId);
const accepted = (n = 1): Answer => ({ status: 202, retryAfter: null, body: { accepted: n, rejected: [] } });
const status = (code: number, retryAfter: string | null = null): Answer => ({ status: code, retryAfter, body: { error: { code: 'SB_X', message: 'no' } } });

/** A queue over a scripted server: each send takes the next answer (an Error is a network failure; a promise, an answer that waits), then 202s. */
function harness(policy: Partial<QueuePolicy> = {}, answers: Array<Answer | Error | Promise<Answer>> = []) {
  const sent: Array<{ at: number; ids: string[] }> = [];
  const dropped: DeliveryError[] = [];
  const changes: string[][] = [];
  const start = Date.now();
  const queue = createBatchQueue(
    { flushAt: 20, flushInterval: 10_000, maxQueueSize: 1000, maxRetries: 5, ...policy },
    {
      send: async (body) => {
        sent.push({ at: Date.now() - start, ids: ids(body) });
        const next = answers.shift() ?? accepted(ids(body).length);
        if (next instanceof Error) throw next;
        return await next;
      },
      timers: { setTimeout: (run, ms) => setTimeout(run, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
      now: () => Date.now(),
      random: () => 0.5,
      onDrop: (error) => dropped.push(error),
      onChange: (events) => changes.push(events.map((e) => e.eventId)),
    },
  );
  return { queue, sent, dropped, changes };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-03-01T12:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('batching', () => {
  it('sends as soon as flushAt events wait, all of them in one request', async () => {
    const { queue, sent } = harness({ flushAt: 3 });
    queue.add(event(1));
    queue.add(event(2));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([]);
    queue.add(event(3));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([{ at: 0, ids: ['id-1', 'id-2', 'id-3'] }]);
    expect(queue.size).toBe(0);
  });

  it('sends flushInterval after the first event when fewer than flushAt wait', async () => {
    const { queue, sent } = harness({ flushAt: 10, flushInterval: 5000 });
    queue.add(event(1));
    await vi.advanceTimersByTimeAsync(3000);
    queue.add(event(2));
    await vi.advanceTimersByTimeAsync(1999);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([{ at: 5000, ids: ['id-1', 'id-2'] }]);
    // The timer is not running with nothing queued; the next event starts it again.
    await vi.advanceTimersByTimeAsync(20_000);
    expect(sent).toHaveLength(1);
    queue.add(event(3));
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toEqual([{ at: 5000, ids: ['id-1', 'id-2'] }, { at: 30_000, ids: ['id-3'] }]);
  });

  it('sends one request at a time; what was queued meanwhile goes in the next, and flush() waits for both', async () => {
    // The first answer waits for the test: that request stays in flight while events arrive.
    let answerFirst!: (answer: Answer) => void;
    const { queue, sent } = harness({ flushAt: 2 }, [new Promise<Answer>((resolve) => (answerFirst = resolve))]);
    for (let i = 1; i <= 5; i++) queue.add(event(i));
    const flushed = queue.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([{ at: 0, ids: ['id-1', 'id-2'] }]);
    answerFirst(accepted(2));
    await flushed;
    expect(sent).toEqual([{ at: 0, ids: ['id-1', 'id-2'] }, { at: 0, ids: ['id-3', 'id-4', 'id-5'] }]);
    expect(queue.size).toBe(0);
  });

  it('splits what is queued into requests of at most MAX_BATCH_EVENTS', async () => {
    const { queue, sent } = harness({ flushAt: 1000 });
    for (let i = 0; i < MAX_BATCH_EVENTS + 7; i++) queue.add(event(i));
    await queue.flush();
    expect(sent.map((s) => s.ids.length)).toEqual([MAX_BATCH_EVENTS, 7]);
    expect(sent.flatMap((s) => s.ids)).toEqual(Array.from({ length: MAX_BATCH_EVENTS + 7 }, (_, i) => `id-${i}`));
  });
});

describe('retries', () => {
  it('waits what Retry-After says (seconds), then sends the same events again', async () => {
    const { queue, sent, dropped } = harness({}, [status(503, '2')]);
    queue.add(event(1));
    const done = queue.flush();
    await vi.advanceTimersByTimeAsync(1999);
    expect(sent).toEqual([{ at: 0, ids: ['id-1'] }]);
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(sent).toEqual([{ at: 0, ids: ['id-1'] }, { at: 2000, ids: ['id-1'] }]);
    expect(dropped).toEqual([]);
  });

  it('waits until the date a 429 Retry-After names', async () => {
    const { queue, sent } = harness({}, [status(429, 'Sun, 01 Mar 2026 12:00:07 GMT')]);
    queue.add(event(1));
    const done = queue.flush();
    await vi.runAllTimersAsync();
    await done;
    expect(sent.map((s) => s.at)).toEqual([0, 7000]);
  });

  it('backs off with full jitter on network errors and 5xx without Retry-After: random 0.5 of 1, 2, 4, 8 s', async () => {
    const { queue, sent } = harness({}, [new TypeError('fetch failed'), status(500), status(502), new TypeError('fetch failed')]);
    queue.add(event(1));
    const done = queue.flush();
    await vi.runAllTimersAsync();
    await done;
    expect(sent.map((s) => s.at)).toEqual([0, 500, 1500, 3500, 7500]);
  });

  it('gives up after maxRetries retries and reports the events; the next batch starts afresh', async () => {
    const { queue, sent, dropped } = harness({ maxRetries: 2 }, [status(503, '1'), status(503, '1'), status(503, '1')]);
    queue.add(event(1));
    const done = queue.flush();
    await vi.runAllTimersAsync();
    await done;
    expect(sent.map((s) => s.at)).toEqual([0, 1000, 2000]);
    expect(dropped.map((d) => [d.reason, d.status, d.message, d.events.map((e) => e.eventId)])).toEqual([
      ['retries-exhausted', 503, '1 events not delivered after 2 retries: HTTP 503 SB_X: no', ['id-1']],
    ]);
    queue.add(event(2));
    await queue.flush();
    expect(sent.at(-1)).toEqual({ at: 2000, ids: ['id-2'] });
  });

  it.each([
    [400, 'a bad batch'],
    [401, 'a bad key'],
    [403, 'an origin not allowed'],
  ])('does not retry %i (%s): drops and reports the batch, then sends the next', async (code) => {
    const { queue, sent, dropped } = harness({ flushAt: 2 }, [status(code, '1')]);
    queue.add(event(1));
    queue.add(event(2));
    await queue.flush();
    await vi.runAllTimersAsync();
    expect(sent).toEqual([{ at: 0, ids: ['id-1', 'id-2'] }]);
    expect(dropped.map((d) => [d.reason, d.status, d.message, d.events.length])).toEqual([['refused', code, `the server refused 2 events: HTTP ${code} SB_X: no`, 2]]);
    queue.add(event(3));
    await queue.flush();
    expect(sent.at(-1)!.ids).toEqual(['id-3']);
  });

  it('resends only the events a 202 marks retriable, and reports the ones it rejected', async () => {
    const partial: Answer = {
      status: 202,
      retryAfter: null,
      body: { accepted: 1, rejected: [{ index: 1, errors: ['event: must not contain control characters'] }, { index: 2, errors: ['not stored'], retriable: true }] },
    };
    const { queue, sent, dropped } = harness({ flushAt: 3 }, [partial]);
    queue.add(event(1));
    queue.add(event(2));
    queue.add(event(3));
    await vi.runAllTimersAsync();
    await queue.flush();
    expect(sent).toEqual([{ at: 0, ids: ['id-1', 'id-2', 'id-3'] }, { at: 500, ids: ['id-3'] }]);
    expect(dropped.map((d) => [d.reason, d.status, d.message, d.events.map((e) => e.eventId)])).toEqual([
      ['rejected', 202, 'the server rejected 1 of 3 events: #1 e2: event: must not contain control characters', ['id-2']],
    ]);
  });
});

describe('413', () => {
  it('halves the batch until the server takes it, keeping every event in order', async () => {
    const { queue, sent, dropped } = harness({ flushAt: 8 }, [status(413), status(413)]);
    for (let i = 1; i <= 8; i++) queue.add(event(i));
    await queue.flush();
    expect(sent.map((s) => s.ids.length)).toEqual([8, 4, 2, 2, 2, 2]);
    expect(sent.slice(2).flatMap((s) => s.ids)).toEqual(['id-1', 'id-2', 'id-3', 'id-4', 'id-5', 'id-6', 'id-7', 'id-8']);
    expect(sent.map((s) => s.at)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(dropped).toEqual([]);
  });

  it('drops one event too large on its own and goes on with the rest', async () => {
    const { queue, sent, dropped } = harness({ flushAt: 2 }, [status(413), status(413)]);
    queue.add(event(1));
    queue.add(event(2));
    await queue.flush();
    expect(sent.map((s) => s.ids)).toEqual([['id-1', 'id-2'], ['id-1'], ['id-2']]);
    expect(dropped.map((d) => [d.reason, d.status, d.events.map((e) => e.eventId)])).toEqual([['too-large', 413, ['id-1']]]);
  });
});

describe('the queue', () => {
  it('drops the oldest past maxQueueSize and reports each', async () => {
    const { queue, dropped, changes } = harness({ maxQueueSize: 3 });
    for (let i = 1; i <= 5; i++) queue.add(event(i));
    expect(queue.size).toBe(3);
    expect(changes.at(-1)).toEqual(['id-3', 'id-4', 'id-5']);
    expect(dropped.map((d) => [d.reason, d.message, d.events.map((e) => e.eventId)])).toEqual([
      ['queue-full', 'the queue holds 3 events (maxQueueSize); the oldest was dropped', ['id-1']],
      ['queue-full', 'the queue holds 3 events (maxQueueSize); the oldest was dropped', ['id-2']],
    ]);
  });

  it('never drops an event in flight to make room', async () => {
    let answerFirst!: (answer: Answer) => void;
    const { queue, sent, dropped } = harness({ flushAt: 2, maxQueueSize: 3 }, [new Promise<Answer>((resolve) => (answerFirst = resolve))]);
    queue.add(event(1));
    queue.add(event(2)); // in flight: 1, 2
    await vi.advanceTimersByTimeAsync(0);
    queue.add(event(3));
    queue.add(event(4)); // over 3: the oldest not in flight (3) goes
    expect(dropped.flatMap((d) => d.events.map((e) => e.eventId))).toEqual(['id-3']);
    answerFirst(accepted(2));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((s) => s.ids)).toEqual([['id-1', 'id-2'], ['id-4']]);
  });

  it('restores saved events before those queued since, within the cap', () => {
    const { queue, changes, dropped } = harness({ maxQueueSize: 3 });
    queue.add(event(9));
    queue.restore([event(1), event(2), event(3)]);
    expect(changes.at(-1)).toEqual(['id-2', 'id-3', 'id-9']);
    expect(dropped.map((d) => d.events[0]!.eventId)).toEqual(['id-1']);
  });

  it('hands what is queued to sendNow in bodies within the byte limit, and keeps what it refuses', () => {
    const { queue } = harness({ flushAt: 100 });
    const big = 'x'.repeat(300);
    for (let i = 1; i <= 5; i++) queue.add(event(i, { properties: { big } }));
    const bodies: string[] = [];
    queue.sendNow(1000, (body) => {
      bodies.push(body);
      return bodies.length < 3;
    });
    expect(bodies.map((b) => [ids(b), utf8Length(b) <= 1000])).toEqual([
      [['id-1', 'id-2'], true],
      [['id-3', 'id-4'], true],
      [['id-5'], true],
    ]);
    // The third body was refused: its event stays queued.
    expect(queue.size).toBe(1);
  });

  it('ignores the answer to a request sent before clear()', async () => {
    let answerFirst!: (answer: Answer) => void;
    const { queue, sent } = harness({ flushAt: 1 }, [new Promise<Answer>((resolve) => (answerFirst = resolve))]);
    queue.add(event(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(queue.clear().map((e) => e.eventId)).toEqual(['id-1']);
    answerFirst(status(503, '1'));
    await vi.runAllTimersAsync();
    expect(sent.map((s) => s.ids)).toEqual([['id-1']]);
    expect(queue.size).toBe(0);
  });

  it('stop() ends a retry wait at once; flush() then resolves with the events still queued', async () => {
    const { queue, sent } = harness({}, [status(503, '60')]);
    queue.add(event(1));
    const done = queue.flush();
    await vi.advanceTimersByTimeAsync(10);
    queue.stop();
    await done;
    expect(sent).toHaveLength(1);
    expect(queue.size).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps delivering when onDrop throws', async () => {
    const sent: string[][] = [];
    const queue = createBatchQueue(
      { flushAt: 1, flushInterval: 10_000, maxQueueSize: 10, maxRetries: 5 },
      {
        send: async (body) => {
          sent.push(ids(body));
          return sent.length === 1 ? status(400) : accepted();
        },
        timers: { setTimeout: (run, ms) => setTimeout(run, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
        now: () => Date.now(),
        random: () => 0.5,
        onDrop: () => {
          throw new Error('callback bug');
        },
      },
    );
    queue.add(event(1));
    queue.add(event(2));
    await queue.flush();
    expect(sent).toEqual([['id-1'], ['id-2']]);
  });
});

describe('bodies', () => {
  it.each([
    ['ascii', 'abc'],
    ['two-byte', 'é ü'],
    ['three-byte', '€ 漢字'],
    ['four-byte (surrogate pairs)', '😀 𝄞'],
    ['a lone surrogate', '\ud800x'],
  ])('utf8Length counts %s as UTF-8 does', (_, text) => {
    expect(utf8Length(text)).toBe(Buffer.byteLength(text));
  });

  it('batchBody builds {"batch": [...]} within both limits, with at least one event', () => {
    const events = [event(1), event(2), event(3)];
    const one = utf8Length(JSON.stringify(event(1)));
    expect(batchBody(events, 0, 2, 1_000_000)).toEqual({ body: `{"batch":[${JSON.stringify(event(1))},${JSON.stringify(event(2))}]}`, count: 2 });
    expect(batchBody(events, 1, 10, 1_000_000).count).toBe(2);
    expect(batchBody(events, 0, 10, 12 + one * 2 + 1).count).toBe(2);
    expect(batchBody(events, 0, 10, 12 + one * 2).count).toBe(1);
    expect(batchBody(events, 0, 10, 10).count).toBe(1);
    expect(JSON.parse(batchBody(events, 0, 10, 1_000_000).body)).toEqual({ batch: events });
  });
});
