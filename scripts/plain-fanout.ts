/**
 * The yardstick for the live gateway in `npm run bench`: plain uWebSockets.js, no
 * Signalboard code, publishing to one topic MESSAGES_PER_SECOND delta-shaped frames
 * (the rate each dashboard got from the gateway in the same run), a probe among them
 * every PROBE_INTERVAL_MS (an event named after its send time, as loadtest/live.js
 * sends), to every socket that sends a subscribe (answered with a snapshot frame, so
 * scripts/live-dashboards.ts counts it as live). On SIGTERM it prints one JSON line with
 * the frames it published; its CPU is read from /proc by the caller, as the gateway's.
 */
import { uWS } from '../core/uws.js';

const port = Number(process.env.PORT);
const perSecond = Number(process.env.MESSAGES_PER_SECOND);
const probeIntervalMs = Number(process.env.PROBE_INTERVAL_MS ?? 200);
// The gateway's rhythm (LIVE_FLUSH_MS, 50): uWS sends what one tick published to a socket in one write.
const flushMs = Number(process.env.FLUSH_MS ?? 50);
if (!(port > 0) || !(perSecond > 0)) throw new Error('PORT and MESSAGES_PER_SECOND are required');

const app = uWS.App().ws('/*', {
  maxBackpressure: 4 * 1024 * 1024,
  message: (ws) => {
    ws.subscribe('events');
    ws.send('{"type":"snapshot","seq":0,"channel":"events","granularity":"minute","counts":[]}');
  },
});
let published = 0;
let probes = 0;
let nextProbe = Date.now();
const started = Date.now();
// Paced against the clock, a tick every flushMs, as the gateway flushes.
const timer = setInterval(() => {
  const due = Math.floor(((Date.now() - started) / 1000) * perSecond);
  const bucket = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
  for (; published < due; published++) {
    const now = Date.now();
    const event = now >= nextProbe ? `probe_${now}_${probes++}` : 'page_view';
    if (event !== 'page_view') nextProbe += probeIntervalMs;
    app.publish('events', `{"type":"delta","seq":${published + 1},"channel":"events","event":"${event}","bucket":"${bucket}","increment":3}`);
  }
}, flushMs);
app.listen('127.0.0.1', port, (token) => {
  if (!token) throw new Error(`cannot listen on ${port}`);
});
process.once('SIGTERM', () => {
  clearInterval(timer);
  console.log(JSON.stringify({ published, probes }));
  process.exit(0);
});
