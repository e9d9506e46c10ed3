// k6 load test for POST /v1/events. Run through `npm run bench:ingest` (as many requests
// as VUS virtual users can send) or `npm run bench:pipeline` (a fixed RATE of requests
// per second), which start the stack and pass: BASE_URL, WRITE_KEY, BATCH (events per
// request), VUS, RATE, DURATION; EVENT_NAMES (how many names, 5); CLIENT_EVENT_IDS=1 for
// an eventId on every event, as the SDKs send them, and RETRY_PERCENT of requests sent
// again with the same eventIds, as a client retrying a lost answer does. ID_ORDER=time
// (default) makes the eventIds time-ordered, like the UUIDv7 the SDKs send; ID_ORDER=random
// makes them random, like UUIDv4 (a store indexes those far more slowly: docs/benchmarks.md).
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import { eventBodies, withEventIds } from './event-bodies.js';

const BATCH = Number(__ENV.BATCH || 50);
const URL = `${__ENV.BASE_URL}/v1/events`;
const PARAMS = { headers: { authorization: `Bearer ${__ENV.WRITE_KEY}`, 'content-type': 'application/json' } };
const EVENT_NAMES = ['page_view', 'click', 'signup', 'purchase', 'search', 'add_to_cart', 'checkout', 'share', 'login', 'logout'].slice(0, Number(__ENV.EVENT_NAMES || 5));
const CLIENT_IDS = __ENV.CLIENT_EVENT_IDS === '1';
const RETRY = Number(__ENV.RETRY_PERCENT || 0) / 100;
const RANDOM_IDS = __ENV.ID_ORDER === 'random';
if (!['time', 'random', undefined].includes(__ENV.ID_ORDER)) throw new Error(`ID_ORDER=${__ENV.ID_ORDER}: expected time or random`);

const accepted = new Counter('events_accepted');
const refused = new Counter('requests_refused');

export const options = {
  discardResponseBodies: false,
  summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max'],
  scenarios: {
    ingest: __ENV.RATE
      ? { executor: 'constant-arrival-rate', rate: Number(__ENV.RATE), timeUnit: '1s', duration: __ENV.DURATION || '60s', preAllocatedVUs: 32, maxVUs: 256 }
      : { executor: 'constant-vus', vus: Number(__ENV.VUS || 32), duration: __ENV.DURATION || '30s' },
  },
};

// Built once per VU (see event-bodies.js).
const bodies = eventBodies(BATCH, EVENT_NAMES, CLIENT_IDS);
let next = 0;
let previous;

export default function () {
  let body = bodies[next++ % bodies.length];
  if (CLIENT_IDS) {
    // A retry resends the previous request whole.
    body = withEventIds(body, previous, RETRY, RANDOM_IDS);
    previous = body;
  }
  const res = http.post(URL, body, PARAMS);
  if (res.status === 202) accepted.add(res.json('accepted'));
  else refused.add(1, { status: String(res.status) });
}

export function handleSummary(data) {
  const m = data.metrics;
  const seconds = data.state.testRunDurationMs / 1000;
  const duration = m.http_req_duration.values;
  const result = {
    batch: BATCH,
    vus: Number(__ENV.VUS || 32),
    seconds: Number(seconds.toFixed(1)),
    requests: m.http_reqs.values.count,
    eventsAccepted: m.events_accepted ? m.events_accepted.values.count : 0,
    eventsPerSecond: Math.round((m.events_accepted ? m.events_accepted.values.count : 0) / seconds),
    requestsRefused: m.requests_refused ? m.requests_refused.values.count : 0,
    latencyMs: { p50: duration['p(50)'], p95: duration['p(95)'], p99: duration['p(99)'], max: duration.max },
  };
  return { stdout: `${JSON.stringify(result)}\n` };
}
