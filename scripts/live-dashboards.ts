/**
 * DASHBOARDS WebSocket clients on /v1/live in one Node process, for `npm run bench:live`
 * (DASHBOARD_CLIENT=node, the default): they connect evenly over RAMP_MS, subscribe to
 * CHANNELS, and record for every probe delta (an event named `probe_<sent ms>_<n>`, sent
 * by k6's loadtest/live.js on this machine: one clock) how long after its send the
 * frame was read. On SIGTERM they close and this prints one JSON line, its own CPU time
 * included.
 *
 * Why not k6's own dashboards: k6 turns every frame into a JavaScript event and, on the
 * two cores it shares with the server, spent 0.93 cores reading 37,000 messages/s, so
 * its lag was most of the delay it measured. Here a frame is a Buffer searched for the
 * probe mark; only the few other messages are parsed.
 */
import WebSocket from 'ws';
import { percentiles } from './bench-stats.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
};

const url = `${env('BASE_URL').replace(/^http/, 'ws')}/v1/live?key=${encodeURIComponent(env('READ_KEY'))}`;
const dashboards = Number(env('DASHBOARDS'));
const rampMs = Number(env('RAMP_MS'));
// Probes sent from then on (epoch ms) are also reported apart: the first seconds of a load
// meet every user for the first time, as bench:pipeline's warmup.
const warmupUntil = Number(process.env.WARMUP_UNTIL ?? 0);
const subscribe = JSON.stringify({ type: 'subscribe', channels: (process.env.CHANNELS ?? 'events').split(',') });
const PROBE_MARK = Buffer.from('"event":"probe_');
const DELTA_HEAD = Buffer.from('{"type":"delta"');

const delays: number[] = [];
const delaysAfterWarmup: number[] = [];
const counts = { connected: 0, subscribed: 0, held: 0, connectFailed: 0, socketErrors: 0, serverErrors: 0, messages: 0, probeDeltas: 0 };
const unexpectedCloses: Record<string, number> = {};
const subscribeMs: number[] = [];
/** Closes a socket, counting it as held when it was live to the end. */
const closers = new Set<() => void>();
let stopping = false;

function watch(index: number): Promise<void> {
  return new Promise((resolve) => {
    const began = Date.now();
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let open = false;
    let live = false;
    let closing = false;
    const close = () => {
      if (ws.readyState === WebSocket.OPEN && live) counts.held++;
      closing = true;
      ws.close();
    };
    closers.add(close);
    ws.on('open', () => {
      open = true;
      counts.connected++;
      ws.send(subscribe);
    });
    ws.on('message', (data: Buffer) => {
      const at = Date.now();
      counts.messages++;
      if (data.subarray(0, DELTA_HEAD.length).equals(DELTA_HEAD)) {
        const mark = data.indexOf(PROBE_MARK);
        if (mark < 0) return;
        const from = mark + PROBE_MARK.length;
        const sent = Number(data.toString('latin1', from, data.indexOf(0x5f, from)));
        delays.push(at - sent);
        if (sent >= warmupUntil) delaysAfterWarmup.push(at - sent);
        counts.probeDeltas++;
        return;
      }
      const message = JSON.parse(data.toString('utf8')) as { type: string; error?: unknown };
      if (message.type === 'snapshot' && !live) {
        live = true;
        counts.subscribed++;
        subscribeMs.push(at - began);
      } else if (message.type === 'error') {
        counts.serverErrors++;
        if (index % 500 === 0) console.error(`dashboard ${index}: server error ${JSON.stringify(message.error)}`);
      }
    });
    ws.on('error', (err) => {
      // Once this side closes, errors are the close handshake racing the server's pings.
      if (closing) return;
      if (open) counts.socketErrors++;
      else counts.connectFailed++;
      if (index % 500 === 0) console.error(`dashboard ${index}: ${open ? 'socket' : 'connect'} error: ${err.message}`);
    });
    ws.on('close', (code: number) => {
      closers.delete(close);
      if (!closing && open) unexpectedCloses[String(code)] = (unexpectedCloses[String(code)] ?? 0) + 1;
      resolve();
    });
  });
}

process.once('SIGTERM', () => {
  stopping = true;
  for (const close of closers) close();
});
const start = Date.now();
const sockets: Promise<void>[] = [];
for (let i = 0; i < dashboards && !stopping; i++) {
  const due = start + Math.floor((i * rampMs) / dashboards);
  if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
  sockets.push(watch(i));
}
await Promise.all(sockets);
const cpu = process.cpuUsage();
console.log(JSON.stringify({ ...counts, unexpectedCloses, delayMs: percentiles(delays), delayMsAfterWarmup: percentiles(delaysAfterWarmup), subscribeMs: percentiles(subscribeMs), cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
