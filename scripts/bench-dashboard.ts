/**
 * `npm run bench:dashboard`: what the dashboard's live model costs the browser's main
 * thread at 10,000 events/s, without the network and the DOM: the messages a gateway
 * sends for it (a flush every 50 ms with a delta per event name and minute, then a sync)
 * parsed and folded as the page does (dashboard/live-model.ts), and the changes taken
 * once per animation frame (60 per second). SECONDS (default 60) of traffic, NAMES
 * (default 200) event names per flush, 50 events per name and flush.
 */
import { parseServerMessage } from '../dashboard/live-messages.js';
import { LiveModel } from '../dashboard/live-model.js';
import { percentiles } from './bench-stats.js';

const SECONDS = Number(process.env.SECONDS ?? 60);
const NAMES = Number(process.env.NAMES ?? 200);
const FLUSHES_PER_SECOND = 20;
const EVENTS_PER_SECOND = 10_000;

const M = 60_000;
const t0 = Math.floor(Date.now() / M) * M;
const iso = (ms: number) => new Date(ms).toISOString();
const names = Array.from({ length: NAMES }, (_, i) => `event-${i}`);
const perDelta = EVENTS_PER_SECOND / FLUSHES_PER_SECOND / NAMES;

const model = new LiveModel();
let seq = 1;
const fold = (m: Record<string, unknown>) => model.receive(parseServerMessage(JSON.stringify(m))!);
fold({ type: 'subscribed', seq, epoch: '1', channels: ['events'], resumed: false });
fold({ type: 'snapshot', seq, channel: 'events', granularity: 'minute', from: iso(t0 - 59 * M), counts: [] });
fold({ type: 'sync', seq, epoch: '1' });

// The frames as text, as they come off the socket; built before the clock starts.
const flushes: string[][] = [];
const minuteOf = (flush: number) => t0 + Math.floor(flush / FLUSHES_PER_SECOND / 60) * M;
for (let f = 0; f < SECONDS * FLUSHES_PER_SECOND; f++) {
  seq++;
  const bucket = iso(minuteOf(f));
  flushes.push([...names.map((event) => JSON.stringify({ type: 'delta', seq, channel: 'events', event, bucket, increment: perDelta })), JSON.stringify({ type: 'sync', seq, epoch: '1' })]);
}

const perFlush: number[] = [];
let frames = 0;
const started = performance.now();
for (const [f, frameTexts] of flushes.entries()) {
  const t = performance.now();
  for (const text of frameTexts) model.receive(parseServerMessage(text)!);
  // Three frames per 50 ms flush at 60 frames/s: the first finds the changes, the others none.
  for (let i = 0; i < 3; i++, frames++) model.takeChanges();
  if (f % FLUSHES_PER_SECOND === 0) model.prune(minuteOf(f));
  perFlush.push(performance.now() - t);
}
const total = performance.now() - started;
const flush = percentiles(perFlush);
const expected = SECONDS * EVENTS_PER_SECOND;
const folded = [...model.totals.values()].reduce((a, b) => a + b, 0);
if (folded !== expected) throw new Error(`the model holds ${folded} events, ${expected} were sent`);
console.log(
  `${SECONDS} s of ${EVENTS_PER_SECOND.toLocaleString('en')} events/s (${NAMES} names, ${flushes.length} flushes, ${frames} frames): ` +
    `${(total / SECONDS).toFixed(2)} ms of main thread per second of traffic (${((total / SECONDS / 1000) * 100).toFixed(2)} %); ` +
    `per flush p50 ${flush.p50!.toFixed(3)} / p99 ${flush.p99!.toFixed(3)} / max ${flush.max!.toFixed(3)} ms; all ${expected.toLocaleString('en')} events in the totals`,
);
