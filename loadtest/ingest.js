// k6 load test for POST /v1/events. Run through `npm run bench:ingest` (as many requests
// as VUS virtual users can send) or `npm run bench:pipeline` (a fixed RATE of requests
// per second), which start the stack and pass: BASE_URL, WRITE_KEY, BATCH (events per
// request), VUS, RATE, DURATION; EVENT_NAMES (how many names, 5); CLIENT_EVENT_IDS=1 for
// an eventId on every event, as the SDKs send them, and RETRY_PERCENT of requests sent
// again with the same eventIds, as a client retrying a lost answer does. ID_ORDER=time
// (default) makes the eventIds time-ordered, like the UUIDv7 the SDKs send; ID_ORDER=random
// makes them random, like UUIDv4 (a store indexes those far more slowly: docs/benchmarks.md).
// LATE_RETRY_PERCENT of the events (scattered among new ones) resend an event acknowledged
// seconds to minutes earlier (an SDK's offline queue, a client that misread a timeout),
// mostly past what the aggregator remembers, so the store's unique eventIds drop them.
// PROBE_INTERVAL_MS (with RATE; 0: none) also sends, that often, one event named
// `probe_<send ms>_<n>`, for dashboards (scripts/live-dashboards.ts) to time from its send.
// STAGES ("5000:30s,10000:30s", events/s and how long) ramps the rate stage by stage
// instead (`npm run bench`'s step load). events_acknowledged counts each event once,
// retries aside (event-bodies.js newlyAcknowledged), for the zero-loss accounting.
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import { eventBodies, newlyAcknowledged, requestId, withEventIds, withLateEvents } from './event-bodies.js';

const BATCH = Number(__ENV.BATCH || 50);
const URL = `${__ENV.BASE_URL}/v1/events`;
const PARAMS = { headers: { authorization: `Bearer ${__ENV.WRITE_KEY}`, 'content-type': 'application/json' } };
const EVENT_NAMES = ['page_view', 'click', 'signup', 'purchase', 'search', 'add_to_cart', 'checkout', 'share', 'login', 'logout'].slice(0, Number(__ENV.EVENT_NAMES || 5));
const CLIENT_IDS = __ENV.CLIENT_EVENT_IDS === '1';
const RETRY = Number(__ENV.RETRY_PERCENT || 0) / 100;
const RANDOM_IDS = __ENV.ID_ORDER === 'random';
const LATE = Number(__ENV.LATE_RETRY_PERCENT || 0) / 100;
const PROBE_INTERVAL_MS = Number(__ENV.PROBE_INTERVAL_MS || 0);
if (!['time', 'random', undefined].includes(__ENV.ID_ORDER)) throw new Error(`ID_ORDER=${__ENV.ID_ORDER}: expected time or random`);

const accepted = new Counter('events_accepted');
const acknowledged = new Counter('events_acknowledged');
const refused = new Counter('requests_refused');
const resentLate = new Counter('events_resent_late');

/** STAGES as k6's ramping-arrival-rate stages (requests/s), each held for its time after a 2 s ramp. */
function stages(text) {
  return text.split(',').flatMap((stage) => {
    const [rate, duration] = stage.split(':');
    if (!/^\d+$/.test(rate) || !/^\d+[sm]$/.test(duration)) throw new Error(`STAGES: ${JSON.stringify(stage)} is not <events/s>:<duration, e.g. 30s>`);
    const target = Math.max(1, Math.round(Number(rate) / BATCH));
    return [{ target, duration: '2s' }, { target, duration }];
  });
}

export const options = {
  discardResponseBodies: false,
  summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max'],
  scenarios: {
    ingest: __ENV.STAGES
      ? { executor: 'ramping-arrival-rate', startRate: 1, timeUnit: '1s', stages: stages(__ENV.STAGES), preAllocatedVUs: 64, maxVUs: 512 }
      : __ENV.RATE
      ? { executor: 'constant-arrival-rate', rate: Number(__ENV.RATE), timeUnit: '1s', duration: __ENV.DURATION || '60s', preAllocatedVUs: 32, maxVUs: 256 }
      : { executor: 'constant-vus', vus: Number(__ENV.VUS || 32), duration: __ENV.DURATION || '30s' },
    ...(__ENV.RATE && PROBE_INTERVAL_MS > 0
      ? { probes: { executor: 'constant-arrival-rate', exec: 'probe', rate: 1, timeUnit: `${PROBE_INTERVAL_MS}ms`, duration: __ENV.DURATION || '60s', preAllocatedVUs: 2, maxVUs: 16 } }
      : {}),
  },
};

export function probe() {
  const n = exec.scenario.iterationInTest;
  const res = http.post(URL, JSON.stringify([{ event: `probe_${Date.now()}_${n}`, userId: `probe-${n % 64}` }]), PARAMS);
  if (res.status !== 202) refused.add(1, { status: String(res.status) });
}

// Built once per VU (see event-bodies.js).
const bodies = eventBodies(BATCH, EVENT_NAMES, CLIENT_IDS);
let next = 0;
let previous;
/** Of `previous`, the most events any of its sends got acknowledged. */
let previousAcknowledged = 0;
/** Ids of requests acknowledged whole, one in 10 kept (the last 64): a VU sends a few a second, so these reach a minute or two back. */
const earlier = [];
let acknowledgedWhole = 0;

export default function () {
  let body = bodies[next++ % bodies.length];
  let retried = false;
  let late = 0;
  const id = requestId(RANDOM_IDS);
  if (CLIENT_IDS) {
    // A retry resends the previous request whole.
    body = withEventIds(body, previous, RETRY, id);
    retried = body === previous;
    if (!retried && LATE > 0) ({ body, resent: late } = withLateEvents(body, id, earlier, LATE, BATCH));
    previous = body;
  }
  const res = http.post(URL, body, PARAMS);
  const n = res.status === 202 ? res.json('accepted') : 0;
  if (res.status === 202) {
    accepted.add(n);
    resentLate.add(late);
  } else refused.add(1, { status: String(res.status) });
  // Server-made eventIds: a retry stores its events again, as new ones. Late resends were acknowledged before.
  acknowledged.add(CLIENT_IDS ? newlyAcknowledged(n, retried, previousAcknowledged) - (res.status === 202 ? late : 0) : n);
  previousAcknowledged = retried ? Math.max(n, previousAcknowledged) : n;
  if (LATE > 0 && !retried && late === 0 && n === BATCH && acknowledgedWhole++ % 10 === 0) {
    earlier.push(id);
    if (earlier.length > 64) earlier.shift();
  }
}

export function handleSummary(data) {
  const m = data.metrics;
  const seconds = data.state.testRunDurationMs / 1000;
  const duration = m.http_req_duration.values;
  const result = {
    batch: BATCH,
    vus: Number(__ENV.VUS || 32),
    droppedIterations: m.dropped_iterations ? m.dropped_iterations.values.count : 0,
    seconds: Number(seconds.toFixed(1)),
    requests: m.http_reqs.values.count,
    eventsAccepted: m.events_accepted ? m.events_accepted.values.count : 0,
    eventsAcknowledged: m.events_acknowledged ? m.events_acknowledged.values.count : 0,
    eventsResentLate: m.events_resent_late ? m.events_resent_late.values.count : 0,
    eventsPerSecond: Math.round((m.events_accepted ? m.events_accepted.values.count : 0) / seconds),
    requestsRefused: m.requests_refused ? m.requests_refused.values.count : 0,
    latencyMs: { p50: duration['p(50)'], p95: duration['p(95)'], p99: duration['p(99)'], max: duration.max },
  };
  return { stdout: `${JSON.stringify(result)}\n` };
}
