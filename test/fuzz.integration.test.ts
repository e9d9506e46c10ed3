import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { seeded } from './dataset.js';
import { startTestServer, type TestServer } from './helpers.js';

/**
 * Bad input at volume: a seeded run of malformed bodies, headers and query strings
 * against every route the OpenAPI document lists (ingest's and the api's), bounded in
 * count. No answer may be a crash or an undocumented status; every error is a JSON
 * error with an SB_ code; memory stays bounded, and a good request still works after.
 * The same for WebSocket frames on /v1/live and /v1/ingest: every close code one the
 * docs list, every answer a JSON message with a type (errors with an SB_ code).
 * FUZZ_SEED=<n> replays a run; FUZZ_REQUESTS and FUZZ_SOCKETS set its length.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 1500);
const SOCKETS = Number(process.env.FUZZ_SOCKETS ?? 300);
/** Close codes docs/realtime.md#close-codes and docs/api.md#websocket-ingest list, and 1005 (a close frame without a code). */
const CLOSE_CODES = { '/v1/live': [1000, 1001, 1005, 1006, 1009, 4400, 4401, 4404, 4429, 4500, 4503, 4408], '/v1/ingest': [1000, 1001, 1005, 1006, 1009] };

type Operation = { security?: unknown[]; responses: Record<string, unknown> };

function fuzzer(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const int = (max: number) => Math.floor(random() * max);
  const text = (length: number) => Array.from({ length }, () => String.fromCharCode(int(0x3000))).join('');
  const ascii = (length: number) => Array.from({ length }, () => String.fromCharCode(32 + int(95))).join('');
  const value = (depth: number): unknown =>
    depth > 3
      ? pick([null, 1, -1.5e308, 'x', true, '', text(int(20))])
      : pick([
          () => null,
          () => int(1e9) - 5e8,
          () => NaN,
          () => text(int(50)),
          () => ascii(int(300)),
          () => Array.from({ length: int(5) }, () => value(depth + 1)),
          () => Object.fromEntries(Array.from({ length: int(5) }, () => [pick(['event', 'userId', 'anonymousId', 'timestamp', 'eventId', 'properties', 'batch', 'name', '__proto__', 'constructor', '$where', 'a.b', ascii(int(10))]), value(depth + 1)])),
        ])();
  const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
  const bodies: Array<() => string | Buffer> = [
    () => JSON.stringify(value(0)),
    () => JSON.stringify(value(0)).slice(0, int(40)),
    () => deep(1000 + int(100_000)),
    () => Buffer.from(Array.from({ length: int(2000) }, () => int(256))),
    () => JSON.stringify({ event: 'e', userId: 'u', properties: { big: 'x'.repeat(int(3) === 0 ? 2_000_000 : 1000) } }),
    () => JSON.stringify(Array.from({ length: int(3000) }, () => ({ event: ascii(int(300)), userId: ascii(int(10)) }))),
    () => '{"event":"a","userId":"\u0000\ud800"}',
    () => gzipSync(Buffer.from(JSON.stringify({ event: 'e', userId: 'u' }))),
    () => '',
  ];
  const headerSets: Array<() => Record<string, string>> = [
    () => ({}),
    () => ({ authorization: `Bearer ${ascii(int(80))}` }),
    () => ({ authorization: pick(['Basic', 'Bearer', 'Basic !!!', `Basic ${Buffer.from(':').toString('base64')}`, 'Bearer sbw_', 'bearer   x']) }),
    () => ({ 'content-type': pick(['application/json', 'text/plain', 'application/x-ndjson', 'multipart/form-data', 'application/json; charset=latin1', ascii(20)]) }),
    () => ({ 'content-encoding': pick(['gzip', 'br', 'deflate', 'identity', 'gzip, gzip']) }),
    () => ({ origin: pick(['null', 'http://evil.example', ascii(30)]) }),
  ];
  const queries = [
    () => '',
    () => `?${ascii(int(100)).replace(/[#\s]/g, '')}`,
    () => '?key=%ZZ&project=%',
    () => `?from=${pick(['2026-02-30', 'yesterday', '9999-99-99', ''])}&to=2026-01-01&event[]=x&event=y&window=${pick(['day', 'year', ''])}&granularity=minute&horizon=-1`,
    () => `?${'a=1&'.repeat(2000)}`,
  ];
  // WebSocket messages: the protocol's types with fields of any shape, and what is not a message at all.
  const frames: Array<() => string | Buffer> = [
    () => JSON.stringify(value(0)),
    () => JSON.stringify({ type: pick(['auth', 'subscribe', 'unsubscribe', 'ping', 'ack', '', ascii(8)]), key: pick([value(2), 'sbr_x', ascii(60)]), channels: value(1), filter: value(1), resume: value(2), epoch: value(2), project: value(2) }),
    () => JSON.stringify({ id: value(2), batch: value(1) }),
    () => JSON.stringify({ id: 'b', batch: Array.from({ length: int(600) }, () => ({ event: ascii(int(300)), userId: ascii(int(10)), timestamp: value(3) })) }),
    () => JSON.stringify(value(0)).slice(0, int(40)),
    () => deep(1000 + int(20_000)),
    () => Buffer.from(Array.from({ length: int(2000) }, () => int(256))),
    () => 'x'.repeat(pick([17 * 1024, 70 * 1024, 300 * 1024])),
    () => '',
  ];
  return { pick, int, bodies, headerSets, queries, frames };
}

describe('bad input at volume', () => {
  let server: TestServer;
  let writeKey: string;
  let readKey: string;

  beforeAll(async () => {
    // No throttling of wrong keys (its own tests cover it): past it every request would be a 429, and validation would go untested.
    server = await startTestServer({ AUTH_FAILURES_PER_MINUTE: '1000000', LIVE_MAX_SUBSCRIBES_PER_MINUTE: '100000' }, ['ingest', 'api', 'realtime']);
    ({ writeKey, readKey } = await server.createProject('fuzz'));
  });
  afterAll(() => server.stop());

  it(`answers ${REQUESTS} malformed requests (seed ${SEED}) with documented statuses and JSON errors, and keeps working`, async () => {
    const docs = (await (await fetch(`${server.url}/docs`)).json()) as { paths: Record<string, Record<string, Operation>> };
    const routes = Object.entries(docs.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));
    const f = fuzzer(seeded(SEED));
    const rssBefore = process.memoryUsage().rss;
    const problems: string[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    const worker = async () => {
      while (sent < REQUESTS) {
        const n = sent++;
        const route = f.pick(routes);
        const path = route.path.replace(/\{[^}]+\}/g, () => f.pick(['x', '%00', 'a'.repeat(300), writeKey, '..%2f..']));
        const headers = { ...f.pick(f.headerSets)(), ...f.pick(f.headerSets)() };
        // Half the requests carry the real write key, so validation behind the key check is reached too.
        if (f.int(2) === 0) headers.authorization = `Bearer ${writeKey}`;
        const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : f.pick(f.bodies)();
        const what = `#${n} ${route.method} ${path}`;
        try {
          const res = await fetch(`${server.url}${path}${f.pick(f.queries)()}`, { method: route.method, headers, body });
          const answer = await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (!Object.keys(route.op.responses).includes(String(res.status))) problems.push(`${what}: undocumented ${res.status} ${answer.slice(0, 200)}`);
          if (res.status >= 400 && !/^\{"error":\{"code":"SB_[A-Z_]+"/.test(answer)) problems.push(`${what}: ${res.status} without a JSON error: ${answer.slice(0, 200)}`);
          if (res.status >= 500 && res.status !== 503) problems.push(`${what}: ${res.status} ${answer.slice(0, 200)}`);
        } catch (err) {
          // The server may cut a body it will not read (413 while still uploading); a reset is not a crash.
          if (!/ECONNRESET|other side closed|terminated/i.test(String((err as Error).cause ?? err))) problems.push(`${what}: ${String((err as Error).cause ?? err)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));

    expect(problems.slice(0, 20)).toEqual([]);
    // The run got past the key check and the body parser: some requests were accepted, and several kinds of refusal seen.
    expect(statuses.get(202)).toBeGreaterThan(0);
    expect([400, 401, 413].filter((s) => statuses.has(s))).toEqual([400, 401, 413]);
    // Memory: what is held per request is freed (this process runs the server and the fuzzer).
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 1024 * 1024);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const good = await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${writeKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ event: 'after', userId: 'u1' }) });
    expect(good.status).toBe(202);
  }, 120_000);

  it(`answers ${SOCKETS} WebSockets sending malformed frames (seed ${SEED}) with documented close codes and JSON errors, and keeps working`, async () => {
    const f = fuzzer(seeded(SEED + 1));
    const rssBefore = process.memoryUsage().rss;
    const problems: string[] = [];
    const closes = new Map<string, number>();
    let opened = 0;
    let next = 0;
    const socket = (n: number) =>
      new Promise<void>((resolve) => {
        const path = f.pick(['/v1/live', '/v1/ingest'] as const);
        // Most sockets carry the right key for the route, so the frames reach the message handlers.
        const key = f.int(4) === 0 ? f.pick(['', 'sbr_nope', writeKey, readKey]) : path === '/v1/live' ? readKey : writeKey;
        const what = `#${n} ${path}`;
        const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}${path}${key === '' ? '' : `?key=${key}`}`);
        const frames = Array.from({ length: 1 + f.int(12) }, () => f.pick(f.frames)());
        const done = setTimeout(() => ws.terminate(), 1500);
        ws.on('unexpected-response', (_req, res) => {
          // Refused at the upgrade (a wrong key for the route): an HTTP answer, not a socket.
          if (![401, 403].includes(res.statusCode!)) problems.push(`${what}: upgrade answered ${res.statusCode}`);
          clearTimeout(done);
          resolve();
        });
        ws.on('error', () => undefined);
        ws.on('open', () => {
          opened++;
          for (const frame of frames) if (ws.readyState === WebSocket.OPEN) ws.send(frame);
        });
        ws.on('message', (data) => {
          const text = String(data);
          let message: { type?: unknown; error?: { code?: unknown } };
          try {
            message = JSON.parse(text) as typeof message;
          } catch {
            problems.push(`${what}: a message that is not JSON: ${text.slice(0, 200)}`);
            return;
          }
          if (typeof message.type !== 'string') problems.push(`${what}: a message without a type: ${text.slice(0, 200)}`);
          if (message.type === 'error' && !/^SB_[A-Z_]+$/.test(String(message.error?.code))) problems.push(`${what}: an error without an SB_ code: ${text.slice(0, 200)}`);
        });
        ws.on('close', (code) => {
          clearTimeout(done);
          closes.set(`${path} ${code}`, (closes.get(`${path} ${code}`) ?? 0) + 1);
          // 1006 here also when this side gave up waiting (terminate): not the server's doing.
          if (!CLOSE_CODES[path].includes(code)) problems.push(`${what}: closed with ${code}`);
          resolve();
        });
      });
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < SOCKETS) await socket(next++);
    }));

    expect(problems.slice(0, 20)).toEqual([]);
    expect(opened).toBeGreaterThan(SOCKETS / 2);
    // Frames got past the key: some sockets were closed for a too large message or a bad first message.
    expect([...closes.keys()].some((k) => k.endsWith(' 1009'))).toBe(true);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 1024 * 1024);
    // Still working: a dashboard gets its snapshot, a WebSocket batch its ack.
    const live = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/live?key=${readKey}`);
    const snapshot = new Promise<string>((resolve) => live.on('message', (d) => String(d).includes('"snapshot"') && resolve(String(d))));
    live.on('open', () => live.send(JSON.stringify({ type: 'subscribe', channels: ['events'] })));
    expect(JSON.parse(await snapshot)).toMatchObject({ type: 'snapshot', channel: 'events' });
    live.close();
    const ingest = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/ingest?key=${writeKey}`);
    const ack = new Promise<string>((resolve) => ingest.on('message', (d) => resolve(String(d))));
    ingest.on('open', () => ingest.send(JSON.stringify({ id: 'good', batch: [{ event: 'after', userId: 'u1' }] })));
    expect(JSON.parse(await ack)).toEqual({ type: 'ack', id: 'good', accepted: 1, rejected: [] });
    ingest.close();
  }, 120_000);
});
