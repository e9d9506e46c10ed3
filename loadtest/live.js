// k6 load test for WebSocket /v1/live: DASHBOARDS dashboards subscribed to CHANNELS
// ("events") while POST /v1/events carries EVENTS_PER_SECOND in batches of BATCH;
// measures how long an event takes from being sent to reaching the dashboards as a
// delta. Run through `npm run bench:live`, which starts the stack and passes BASE_URL,
// WRITE_KEY, READ_KEY, DASHBOARDS, EVENTS_PER_SECOND, DURATION and any of the optional
// settings below it is given.
//
// Deltas are coalesced (one per event and minute per flush) and carry no per-event time,
// so the delay is measured with probes: every PROBE_INTERVAL_MS (200) one event whose
// name holds its send time (`probe_<epoch ms>_<n>`). Every dashboard that gets the
// probe's delta records, from the send time, when k6's socket reader got the frame
// (live_delay_ms) and when this script handled it (live_delay_handled_ms, later when
// k6's event loop is behind). Senders and dashboards run in one k6 process: one clock.
// With DASHBOARD_CLIENT=node (bench:live's default when events go through ingest) the
// dashboards run in scripts/live-dashboards.ts instead and this script only sends.
//
// Timeline from the start: dashboards connect evenly over RAMP s (DASHBOARDS/500, at
// least 5); SETTLE (3s) later the events flow for DURATION; dashboards stay TAIL (5s)
// more for the last probes, then close. The bulk events use EVENT_NAMES (ten, over 5,000
// users): each name changed in a flush is one message to every dashboard.
//
// k6 turns every frame into a JavaScript event: on a 2-core machine shared with the
// server it handles roughly 20-30,000 messages/s, then queues the rest in memory
// (10,000 dashboards at ~8 messages/s each: 13 GB). Past that the figures describe k6.
import exec from 'k6/execution';
import http from 'k6/http';
import { SharedArray } from 'k6/data';
import { Counter, Trend } from 'k6/metrics';
import { setTimeout, clearTimeout } from 'k6/timers';
import { WebSocket } from 'k6/websockets';
import { eventBodies, newlyAcknowledged, requestId, withEventIds } from './event-bodies.js';

/** Seconds in a k6-style duration ("60s", "2m", "1m30s", "500ms") or a bare number of seconds. */
function seconds(value) {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) throw new Error(`DURATION/RAMP/TAIL: cannot read ${JSON.stringify(value)}; use e.g. 60s, 2m or 1m30s`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 };
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u], 0);
}

const DASHBOARDS = Number(__ENV.DASHBOARDS || 1000);
const EVENTS_PER_SECOND = Number(__ENV.EVENTS_PER_SECOND || 10000);
const BATCH = Number(__ENV.BATCH || 50);
const DURATION_S = seconds(__ENV.DURATION || '60s');
const RAMP_S = seconds(__ENV.RAMP || String(Math.max(5, Math.ceil(DASHBOARDS / 500))));
const SETTLE_S = seconds(__ENV.SETTLE || '3s');
const TAIL_S = seconds(__ENV.TAIL || '5s');
const PROBE_INTERVAL_MS = Number(__ENV.PROBE_INTERVAL_MS || 200);
const CHANNELS = (__ENV.CHANNELS || 'events').split(',');
const EVENT_NAMES = (__ENV.EVENT_NAMES || 'page_view,click,signup,purchase,search,login,share,add_to_cart,checkout,logout').split(',');
// As the SDKs send them: a client eventId on every event, and RETRY_PERCENT (2) of the
// bulk requests sent again whole (CLIENT_EVENT_IDS=0: none, ingest makes them).
const CLIENT_IDS = __ENV.CLIENT_EVENT_IDS !== '0';
const RETRY = Number(__ENV.RETRY_PERCENT || 2) / 100;
// SOURCE=feed: bench-live.ts appends the deltas to the live feed itself; k6 only watches.
const FROM_FEED = __ENV.SOURCE === 'feed';
// DASHBOARD_CLIENT=node: the dashboards run in scripts/live-dashboards.ts; k6 only sends.
const DASHBOARDS_IN_K6 = __ENV.DASHBOARD_CLIENT !== 'node';

const EVENTS_URL = `${__ENV.BASE_URL}/v1/events`;
// LIVE_BASE_URL: the realtime gateway's address when it is not BASE_URL (one process per role).
const LIVE_URL = `${(__ENV.LIVE_BASE_URL || __ENV.BASE_URL).replace(/^http/, 'ws')}/v1/live?key=${encodeURIComponent(__ENV.READ_KEY)}`;
const PARAMS = { headers: { authorization: `Bearer ${__ENV.WRITE_KEY}`, 'content-type': 'application/json' } };
const SUBSCRIBE = JSON.stringify({ type: 'subscribe', channels: CHANNELS });
const PROBE_MARK = '"event":"probe_';
const DELTA_HEAD = '{"type":"delta"';

const LOAD_START_S = RAMP_S + SETTLE_S;
const CLOSE_AT_MS = (LOAD_START_S + DURATION_S + TAIL_S) * 1000;
// Close codes the gateway sends (4000 + the error's HTTP status, docs/api.md) and the
// usual protocol ones; anything else is counted as "other".
const CLOSE_CODES = ['1000', '1001', '1006', '1011', '4400', '4401', '4403', '4408', '4429', '4500', '4503'];

const delay = new Trend('live_delay_ms');
const delayHandled = new Trend('live_delay_handled_ms');
const subscribeTime = new Trend('live_subscribe_ms');
const connected = new Counter('live_connected');
const subscribed = new Counter('live_subscribed');
const held = new Counter('live_held');
const connectFailed = new Counter('live_connect_failed');
const socketErrors = new Counter('live_socket_errors');
const serverErrors = new Counter('live_server_errors');
const unexpectedClose = new Counter('live_unexpected_close');
const probeDeltas = new Counter('live_probe_deltas');
const probesSent = new Counter('probes_sent');
const accepted = new Counter('events_accepted');
// Each event once, retries aside, probes included: the zero-loss accounting's count.
const acknowledged = new Counter('events_acknowledged');
const refused = new Counter('requests_refused');

export const options = {
  discardResponseBodies: false,
  summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max', 'count'],
  // Always-true thresholds: they only make k6 keep the count of each close code.
  thresholds: Object.fromEntries([...CLOSE_CODES, 'none', 'other'].map((code) => [`live_unexpected_close{code:${code}}`, ['count>=0']])),
  scenarios: {
    ...(DASHBOARDS_IN_K6 ? {
      dashboards: {
        executor: 'per-vu-iterations',
        exec: 'dashboard',
        vus: DASHBOARDS,
        iterations: 1,
        // Room for a k6 that fell behind its dashboards' messages: each closes (and counts as
        // held) only once its event loop reaches the close timer.
        maxDuration: `${Math.ceil(CLOSE_AT_MS / 1000) + 120}s`,
      },
    } : {}),
    ...(FROM_FEED ? {} : senders()),
  },
};

/** The bulk events and the probes, through POST /v1/events (none with SOURCE=feed). */
function senders() {
  return {
    bulk: {
      executor: 'constant-arrival-rate',
      exec: 'bulk',
      startTime: `${LOAD_START_S}s`,
      rate: Math.max(1, Math.round(EVENTS_PER_SECOND / BATCH)),
      timeUnit: '1s',
      duration: `${DURATION_S}s`,
      preAllocatedVUs: 32,
      maxVUs: 256,
    },
    probes: {
      executor: 'constant-arrival-rate',
      exec: 'probe',
      startTime: `${LOAD_START_S}s`,
      rate: 1,
      timeUnit: `${PROBE_INTERVAL_MS}ms`,
      duration: `${DURATION_S}s`,
      preAllocatedVUs: 2,
      maxVUs: 16,
    },
  };
}

// Built once and shared: every dashboard VU runs this file's init code too, and 10,000
// copies of the bodies would cost gigabytes.
const bodies = new SharedArray('bodies', () => eventBodies(BATCH, EVENT_NAMES, CLIENT_IDS));
let previous;
let previousAcknowledged = 0;

export function bulk() {
  let body = bodies[exec.scenario.iterationInTest % bodies.length];
  let retried = false;
  if (CLIENT_IDS) {
    body = withEventIds(body, previous, RETRY, requestId());
    retried = body === previous;
    previous = body;
  }
  const res = http.post(EVENTS_URL, body, PARAMS);
  const n = res.status === 202 ? res.json('accepted') : 0;
  if (res.status === 202) accepted.add(n);
  else refused.add(1, { status: String(res.status) });
  acknowledged.add(CLIENT_IDS ? newlyAcknowledged(n, retried, previousAcknowledged) : n);
  previousAcknowledged = retried ? Math.max(n, previousAcknowledged) : n;
}

export function probe() {
  const n = exec.scenario.iterationInTest;
  const sent = Date.now();
  const res = http.post(EVENTS_URL, JSON.stringify([{ event: `probe_${sent}_${n}`, userId: `probe-${n % 64}` }]), PARAMS);
  if (res.status === 202) {
    probesSent.add(1);
    acknowledged.add(res.json('accepted'));
  } else refused.add(1, { status: String(res.status) });
}

/** One dashboard: connects at its turn in the ramp, stays subscribed, closes at the end. */
export function dashboard() {
  const index = exec.scenario.iterationInTest;
  const start = exec.scenario.startTime;
  const connectAt = start + Math.floor((index * RAMP_S * 1000) / DASHBOARDS);
  // A sample of the dashboards logs what went wrong, so 10,000 failures are not 10,000 lines.
  const logs = index % 500 === 0;
  setTimeout(() => watch(start + CLOSE_AT_MS, logs), Math.max(0, connectAt - Date.now()));
}

function watch(closeAt, logs) {
  const began = Date.now();
  const ws = new WebSocket(LIVE_URL);
  let open = false;
  let live = false;
  let closing = false;
  const closer = setTimeout(() => {
    if (ws.readyState === 1 && live) held.add(1);
    closing = true;
    ws.close();
  }, Math.max(0, closeAt - began));

  ws.onopen = () => {
    open = true;
    connected.add(1);
    ws.send(SUBSCRIBE);
  };
  ws.onmessage = (e) => {
    const data = e.data;
    // Deltas are most of the traffic: read without JSON.parse (k6 shares the CPU with
    // the server), relying on the gateway's field order: type, seq, channel, event.
    if (data.startsWith(DELTA_HEAD)) {
      const at = data.indexOf(PROBE_MARK);
      if (at < 0) return;
      const from = at + PROBE_MARK.length;
      const sent = Number(data.slice(from, data.indexOf('_', from)));
      // e.timestamp: when k6's socket reader got the frame; Date.now(): when this script
      // ran, later by however long k6's event loop was behind.
      delay.add(e.timestamp - sent);
      delayHandled.add(Date.now() - sent);
      probeDeltas.add(1);
      return;
    }
    const message = JSON.parse(data);
    if (message.type === 'snapshot' && !live) {
      live = true;
      subscribed.add(1);
      subscribeTime.add(Date.now() - began);
    } else if (message.type === 'error') {
      serverErrors.add(1);
      if (logs) console.warn(`dashboard: server error ${JSON.stringify(message.error)}`);
    }
  };
  ws.onerror = (e) => {
    // Once this side has sent its close, errors are the close handshake racing the
    // server's pings ("close sent"), not failures.
    if (closing) return;
    if (open) socketErrors.add(1);
    else connectFailed.add(1);
    if (logs) console.warn(`dashboard: ${open ? 'socket' : 'connect'} error: ${e.error}`);
  };
  ws.onclose = (e) => {
    clearTimeout(closer);
    if (closing || !open) return;
    const code = e.code === undefined ? 'none' : String(e.code);
    unexpectedClose.add(1, { code: CLOSE_CODES.includes(code) || code === 'none' ? code : 'other' });
    if (logs) console.warn(`dashboard: closed by the server: ${code} ${e.reason}`);
  };
}

export function handleSummary(data) {
  const m = data.metrics;
  const count = (name) => (m[name] ? m[name].values.count : 0);
  const trend = (name) => {
    const v = m[name] ? m[name].values : {};
    return { p50: v['p(50)'] ?? null, p95: v['p(95)'] ?? null, p99: v['p(99)'] ?? null, max: v.max ?? null, avg: v.avg ?? null, count: v.count ?? 0 };
  };
  const closes = {};
  for (const code of [...CLOSE_CODES, 'none', 'other']) {
    const n = count(`live_unexpected_close{code:${code}}`);
    if (n > 0) closes[code] = n;
  }
  const probes = count('probes_sent');
  const result = {
    dashboards: DASHBOARDS,
    rampSeconds: RAMP_S,
    loadSeconds: DURATION_S,
    seconds: Number((data.state.testRunDurationMs / 1000).toFixed(1)),
    connected: count('live_connected'),
    subscribed: count('live_subscribed'),
    held: count('live_held'),
    connectFailed: count('live_connect_failed'),
    socketErrors: count('live_socket_errors'),
    serverErrors: count('live_server_errors'),
    unexpectedCloses: closes,
    messagesReceived: count('ws_msgs_received'),
    offeredEventsPerSecond: EVENTS_PER_SECOND,
    eventsAccepted: count('events_accepted'),
    eventsAcknowledged: count('events_acknowledged'),
    eventsPerSecond: Math.round(count('events_accepted') / DURATION_S),
    requestsRefused: count('requests_refused'),
    droppedIterations: count('dropped_iterations'),
    ingestLatencyMs: trend('http_req_duration'),
    probesSent: probes,
    probeDeliveries: count('live_probe_deltas'),
    probeDeliveriesExpected: probes * count('live_subscribed'),
    delayMs: trend('live_delay_ms'),
    delayHandledMs: trend('live_delay_handled_ms'),
    subscribeMs: trend('live_subscribe_ms'),
  };
  return { stdout: `${JSON.stringify(result)}\n` };
}
