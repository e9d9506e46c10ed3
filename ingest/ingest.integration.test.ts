import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AGGREGATOR_GROUP, countsKey, decodeEntry, partitionFor, streamKey, type StampedEvent } from '../model/event-stream.js';
import type { Redis } from '../core/redis.js';
import { ADMIN_TOKEN, startTestServer, testRedis, waitFor, type TestServer } from '../test/helpers.js';

type Json = Record<string, unknown>;

async function readStreams(redis: Redis, server: TestServer): Promise<StampedEvent[][]> {
  const { REDIS_KEY_PREFIX: prefix, STREAM_PARTITIONS: partitions } = server.config;
  const result: StampedEvent[][] = [];
  for (let p = 0; p < partitions; p++) {
    const entries = await redis.xrange(streamKey(prefix, p), '-', '+');
    result.push(entries.flatMap(([, fields]) => decodeEntry(fields)));
  }
  return result;
}

async function post(server: TestServer, key: string | undefined, body: string | Uint8Array, headers: Record<string, string> = {}, query = '') {
  const res = await fetch(`${server.url}/v1/events${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text === '' ? {} : JSON.parse(text)) as Json };
}

describe('ingest over HTTP, against the real Redis', () => {
  let server: TestServer;
  let project: { id: string; writeKey: string; readKey: string };
  let redis: Redis;

  beforeAll(async () => {
    server = await startTestServer();
    project = await server.createProject('ingest-test');
    redis = testRedis();
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('takes gzip bodies, bounded after decompression as before, refuses other encodings, and never echoes body bytes', async () => {
    const events = Array.from({ length: 20 }, (_, i) => ({ event: 'zipped', userId: `z${i}`, eventId: `gz-${i}` }));
    const zipped = await post(server, project.writeKey, gzipSync(JSON.stringify(events)), { 'content-encoding': 'gzip' });
    expect(zipped).toMatchObject({ status: 202, body: { accepted: 20, rejected: [] } });
    // 10 MiB of zeros gzip to about 10 KB: small on the wire, a 413 once inflated past INGEST_MAX_BODY_BYTES.
    const bomb = await post(server, project.writeKey, gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20)), { 'content-encoding': 'gzip' });
    expect(bomb.status).toBe(413);
    expect(bomb.body).toEqual({ error: { code: 'SB_BODY_TOO_LARGE', message: 'the body is larger than 1048576 bytes once decompressed (INGEST_MAX_BODY_BYTES)' } });
    const brotli = await post(server, project.writeKey, JSON.stringify(events[0]), { 'content-encoding': 'br' });
    expect(brotli.status).toBe(415);
    expect(brotli.body).toEqual({ error: { code: 'SB_BODY_UNSUPPORTED_TYPE', message: 'Content-Encoding "br" is not accepted; send the body as is or gzip' } });
    // Compressed bytes sent without saying so: a 400 naming the position, not quoting the bytes.
    const undeclared = await post(server, project.writeKey, gzipSync(JSON.stringify(events)));
    expect(undeclared.status).toBe(400);
    expect(undeclared.body).toEqual({ error: { code: 'SB_BODY_UNREADABLE', message: expect.stringMatching(/^the body is not valid JSON( \(at position \d+\))?$/) } });
    const notGzip = await post(server, project.writeKey, 'plain text', { 'content-encoding': 'gzip' });
    expect(notGzip.body).toEqual({ error: { code: 'SB_BODY_UNREADABLE', message: expect.stringMatching(/^the body is not valid gzip/) } });
  });

  it('reports events that repeat an eventId of the same request as duplicates, accepted all the same', async () => {
    const events = [
      { event: 'a', userId: 'u', eventId: 'twice-1' },
      { event: 'b', userId: 'u', eventId: 'twice-1' },
      { event: 'c', userId: 'u', eventId: 'twice-2' },
      { event: 'd', userId: 'u' },
      { event: 'e', userId: 'u', eventId: 'twice-2' },
    ];
    const res = await post(server, project.writeKey, JSON.stringify(events));
    expect(res.status).toBe(202);
    // The answer keeps the contract's two fields; the repeats are reported in a header.
    expect(res.body).toEqual({ accepted: 5, rejected: [] });
    expect(res.headers.get('x-signalboard-duplicates')).toBe('2');
    expect((await post(server, project.writeKey, JSON.stringify([{ event: 'f', userId: 'u', eventId: 'single-1' }]))).headers.get('x-signalboard-duplicates')).toBeNull();
  });

  it('stores each accepted event exactly once, stamped, with one user in one partition in order', async () => {
    const before = Date.now();
    const events = Array.from({ length: 60 }, (_, i) => ({ event: i % 2 ? 'view' : 'click', userId: `user-${i % 6}`, eventId: `once-${i}`, properties: { seq: i } }));
    const res = await post(server, project.writeKey, JSON.stringify(events), { 'user-agent': 'ingest-test/1.0' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 60, rejected: [] });

    const partitions = await readStreams(redis, server);
    const stored = partitions.flat().filter((e) => e.eventId.startsWith('once-'));
    expect(stored.map((e) => e.eventId).sort()).toEqual(events.map((e) => e.eventId).sort());
    for (const e of stored) {
      expect(e.projectId).toBe(project.id);
      expect(e.receivedAt).toBeGreaterThanOrEqual(before);
      expect(e.receivedAt).toBeLessThanOrEqual(Date.now());
      expect(e.timestamp).toBe(e.receivedAt);
      expect(e.context).toEqual({ userAgent: 'ingest-test/1.0', ip: '127.0.0.0' });
    }
    for (let u = 0; u < 6; u++) {
      const holders = partitions.map((list) => list.filter((e) => e.userId === `user-${u}`)).filter((list) => list.length > 0);
      expect(holders).toHaveLength(1);
      const seqs = holders[0]!.map((e) => (e.properties as { seq: number }).seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    // The backpressure counters saw every event, and the aggregator's group exists on every stream.
    let added = 0;
    for (let p = 0; p < server.config.STREAM_PARTITIONS; p++) {
      added += Number(await redis.hget(countsKey(server.config.REDIS_KEY_PREFIX, p), 'added'));
      const groups = (await redis.xinfo('GROUPS', streamKey(server.config.REDIS_KEY_PREFIX, p))) as unknown[][];
      expect(groups.map((g) => g[1])).toContain(AGGREGATOR_GROUP);
    }
    expect(added).toBe(partitions.flat().length);
  });

  it('accepts 97 of 100 events and names each bad index and why', async () => {
    const events: unknown[] = Array.from({ length: 100 }, (_, i) => ({ event: 'batch97', userId: `u${i}`, eventId: `b97-${i}` }));
    events[13] = { event: 'batch97', eventId: 'b97-13' };
    events[50] = { event: 50, userId: 'u50', eventId: 'b97-50' };
    events[99] = { event: 'batch97', userId: 'u99', eventId: 'b97-99', timestamp: Date.now() + 3_600_000 };
    const res = await post(server, project.writeKey, JSON.stringify({ batch: events }));
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(97);
    expect(res.body.rejected).toEqual([
      { index: 13, errors: ['one of userId and anonymousId is required'] },
      { index: 50, errors: ['event: must be string'] },
      { index: 99, errors: [expect.stringMatching(/^timestamp: .* is more than 600 seconds in the future \(INGEST_MAX_FUTURE_SECONDS\)$/)] },
    ]);
    const stored = (await readStreams(redis, server)).flat().filter((e) => e.event === 'batch97');
    expect(stored).toHaveLength(97);
    expect(stored.map((e) => e.eventId)).not.toContain('b97-13');
  });

  it('reads a single object, NDJSON, and text/plain with ?key= as sendBeacon sends it', async () => {
    const single = await post(server, project.writeKey, JSON.stringify({ event: 'form-single', anonymousId: 'a1' }));
    expect(single).toMatchObject({ status: 202, body: { accepted: 1 } });
    const ndjson = await post(server, project.writeKey, '{"event":"form-nd","userId":"n1"}\n{"event":\n{"event":"form-nd","userId":"n2"}\n', { 'content-type': 'application/x-ndjson' });
    expect(ndjson).toMatchObject({ status: 202, body: { accepted: 2, rejected: [{ index: 1, errors: [expect.stringMatching(/^line 2 is not valid JSON/)] }] } });
    const beacon = await post(server, undefined, JSON.stringify([{ event: 'form-beacon', userId: 'b1' }]), { 'content-type': 'text/plain;charset=UTF-8' }, `?key=${project.writeKey}`);
    expect(beacon).toMatchObject({ status: 202, body: { accepted: 1 } });
    const stored = (await readStreams(redis, server)).flat().map((e) => e.event);
    expect(stored.filter((name) => name.startsWith('form-')).sort()).toEqual(['form-beacon', 'form-nd', 'form-nd', 'form-single']);
  });

  it('lets the admin token stand in for the write key with ?project=', async () => {
    const ok = await post(server, ADMIN_TOKEN, JSON.stringify({ event: 'by-admin', userId: 'x' }), {}, `?project=${project.id}`);
    expect(ok).toMatchObject({ status: 202, body: { accepted: 1 } });
    const missing = await post(server, ADMIN_TOKEN, JSON.stringify({ event: 'by-admin', userId: 'x' }));
    expect(missing).toMatchObject({ status: 400, body: { error: { code: 'SB_PARAM_INVALID', message: expect.stringMatching(/^project:/) } } });
    const unknown = await post(server, ADMIN_TOKEN, JSON.stringify({ event: 'by-admin', userId: 'x' }), {}, '?project=nope');
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'SB_PROJECT_NOT_FOUND' } } });
    // Never in the URL, where proxies would log it.
    const inUrl = await post(server, undefined, JSON.stringify({ event: 'by-admin', userId: 'x' }), {}, `?key=${ADMIN_TOKEN}&project=${project.id}`);
    expect(inUrl).toMatchObject({ status: 401, body: { error: { code: 'SB_AUTH_INVALID' } } });
  });

  it.each([
    ['no key', undefined, 'SB_AUTH_MISSING'],
    ['an unknown key', 'sbw_not-a-real-key', 'SB_AUTH_INVALID'],
    ['a garbage token', 'hello', 'SB_AUTH_INVALID'],
  ])('answers 401 for %s', async (_case, key, code) => {
    const res = await post(server, key, JSON.stringify({ event: 'e', userId: 'u' }));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
  });

  it('answers 401 for the read key: read keys may not ingest', async () => {
    const res = await post(server, project.readKey, JSON.stringify({ event: 'e', userId: 'u' }));
    expect(res).toMatchObject({ status: 401, body: { error: { code: 'SB_AUTH_WRONG_KEY', message: expect.stringMatching(/read key.*write key/) } } });
  });

  it.each([
    ['malformed JSON', '{"event": "a", ', 'application/json', 400, 'SB_BODY_UNREADABLE', /not valid JSON/],
    ['invalid UTF-8 bytes', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'application/json', 400, 'SB_BODY_UNREADABLE', /not valid JSON/],
    ['an empty batch', '{"batch": []}', 'application/json', 400, 'SB_INGEST_EMPTY', /no events/],
    ['an empty body', '', 'application/json', 400, 'SB_BODY_UNREADABLE', /not valid JSON/],
    ['a number', '42', 'application/json', 400, 'SB_BODY_UNREADABLE', /must be an event object/],
    ['1001 events', JSON.stringify(Array.from({ length: 1001 }, () => ({ event: 'e', userId: 'u' }))), 'application/json', 413, 'SB_INGEST_TOO_MANY_EVENTS', /limit is 1000/],
    ['XML', '<event/>', 'application/xml', 415, 'SB_BODY_UNSUPPORTED_TYPE', /application\/xml/],
  ])('refuses %s as a whole with its specific error', async (_case, body, type, status, code, message) => {
    const res = await post(server, project.writeKey, body, { 'content-type': type });
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: { code, message: expect.stringMatching(message) } });
  });

  it('refuses duplicated or conflicting framing headers with 400 and closes, so no request hides in a body', async () => {
    const port = Number(new URL(server.url).port);
    const raw = (head: string, body: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.end(`${head}\r\n\r\n${body}`));
        let got = '';
        socket.on('data', (d: Buffer) => (got += d.toString()));
        socket.on('close', () => resolve(got));
        socket.on('error', reject);
        socket.setTimeout(5000, () => socket.destroy(new Error(`no answer; got ${JSON.stringify(got)}`)));
      });
    const smuggled = `GET /v1/projects HTTP/1.1\r\nHost: x\r\n\r\n`;
    const twice = await raw(`POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${project.writeKey}\r\nContent-Type: application/json\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}`, smuggled);
    expect(twice).toMatch(/^HTTP\/1\.1 400 /);
    expect(twice).toContain('"code":"SB_REQUEST_MALFORMED","message":"content-length given more than once"');
    // The request is refused first and the connection closed after it. (uWS has already parsed
    // what followed in the same packet, so that still gets its own answer: see the closing note.)
    expect(twice.indexOf('HTTP/1.1 400 ')).toBe(0);
    expect(twice).toContain('Connection: close');
    const both = await raw(`POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${project.writeKey}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked`, '0\r\n\r\n');
    // Both at once uWS's parser refuses itself: the connection is closed, nothing is processed.
    expect(both).toBe('');
  });

  it('lets a client still uploading an oversized body read the 413, plain or chunked, and closes past the drain bound', async () => {
    // 1-8 MiB over a 1 MiB limit: drained and dropped, then answered (before, Node's fetch got EPIPE 28 times in 30).
    for (let i = 0; i < 30; i++) {
      const size = (1 + (i % 8)) * 1024 * 1024 + 1;
      const res = await post(server, project.writeKey, JSON.stringify({ event: 'big', userId: 'u', properties: { blob: 'x'.repeat(size) } }));
      expect(res.status).toBe(413);
      expect(res.body).toEqual({ error: { code: 'SB_BODY_TOO_LARGE', message: 'the body is larger than 1048576 bytes (INGEST_MAX_BODY_BYTES)' } });
    }
    const chunk = new TextEncoder().encode('x'.repeat(256 * 1024));
    const chunked = (chunks: number) => {
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < chunks) controller.enqueue(chunk);
          else controller.close();
        },
      });
      return fetch(`${server.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${project.writeKey}`, 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    };
    // 4 MiB without Content-Length: read to its end, then the 413.
    const res = await chunked(16);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'SB_BODY_TOO_LARGE' } });
    // 40 MiB: past the drain bound the connection is closed while the client still sends.
    const flood = await chunked(160).catch((err: Error) => err);
    if (!(flood instanceof Error)) expect(flood.status).toBe(413);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('survives hostile events: deep nesting, operator keys, prototype keys, wrong types, unicode', async () => {
    // 50,000 levels: built as text, since JSON.stringify itself would overflow the stack.
    const deep = `${'['.repeat(50_000)}"leaf"${']'.repeat(50_000)}`;
    const events = [
      { event: 'hostile', userId: 'h', eventId: 'h-deep', properties: { deep: 'DEEP' } },
      { event: 'hostile', userId: 'h', eventId: 'h-ops', properties: { $where: 'sleep(1000)', 'a.b': 1, $set: { admin: true } } },
      JSON.parse('{"event":"hostile","userId":"h","eventId":"h-proto","properties":{"__proto__":{"admin":true}}}') as unknown,
      { event: ['not', 'a', 'string'], userId: 'h', eventId: 'h-type' },
      { event: 'ünïcödé 事件 🚀', userId: 'h', eventId: 'h-unicode' },
      'DEEP',
    ];
    const res = await post(server, project.writeKey, JSON.stringify(events).replaceAll('"DEEP"', deep));
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(2);
    const rejected = res.body.rejected as Array<{ index: number; errors: string[] }>;
    expect(rejected.map((r) => r.index)).toEqual([0, 2, 3, 5]);
    expect(rejected[0]!.errors.join()).toMatch(/nested deeper than 8 levels/);
    expect(rejected[1]!.errors.join()).toMatch(/__proto__/);
    expect(rejected[2]!.errors.join()).toMatch(/event: must be string/);
    expect(rejected[3]!.errors.join()).toMatch(/must be a JSON object/);

    const stored = (await readStreams(redis, server)).flat().filter((e) => e.event === 'hostile' || e.eventId === 'h-unicode');
    const ops = stored.find((e) => e.eventId === 'h-ops')!;
    expect(Object.keys(ops.properties!).sort()).toEqual(['a\uFF0Eb', '\uFF04set', '\uFF04where']);
    expect(stored.find((e) => e.eventId === 'h-unicode')!.event).toBe('ünïcödé 事件 🚀');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('answers CORS preflights and enforces the project allowed origins', async () => {
    const preflight = await fetch(`${server.url}/v1/events`, { method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);

    const open = await post(server, project.writeKey, JSON.stringify({ event: 'cors', userId: 'c' }), { origin: 'https://shop.example' });
    expect(open.status).toBe(202);
    expect(open.headers.get('access-control-allow-origin')).toBe('https://shop.example');

    const locked = await server.createProject('locked', ['https://app.example']);
    const allowed = await post(server, locked.writeKey, JSON.stringify({ event: 'cors', userId: 'c' }), { origin: 'https://app.example' });
    expect(allowed.status).toBe(202);
    const denied = await post(server, locked.writeKey, JSON.stringify({ event: 'cors', userId: 'c' }), { origin: 'https://evil.example' });
    expect(denied).toMatchObject({ status: 403, body: { error: { code: 'SB_CORS_ORIGIN_DENIED' } } });
  });
});

describe('ingest over WebSocket /v1/ingest', () => {
  let server: TestServer;
  let project: { writeKey: string; readKey: string };

  beforeAll(async () => {
    server = await startTestServer();
    project = await server.createProject('ws-ingest');
  });
  afterAll(() => server.stop());

  function connect(query: string): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ingest${query}`);
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  function nextMessage(ws: WebSocket): Promise<Json> {
    return new Promise((resolve) => ws.once('message', (data: Buffer) => resolve(JSON.parse(data.toString()) as Json)));
  }

  it('acks each batch with its id, accepted count and rejected indexes', async () => {
    const ws = await connect(`?key=${project.writeKey}`);
    const reply = nextMessage(ws);
    ws.send(JSON.stringify({ id: 'b-1', batch: [{ event: 'ws', userId: 'w1' }, { event: 'ws', userId: 'w2' }, { event: 'ws', userId: 'w3' }, { event: 'ws' }] }));
    expect(await reply).toEqual({ type: 'ack', id: 'b-1', accepted: 3, rejected: [{ index: 3, errors: ['one of userId and anonymousId is required'] }] });

    const bad = nextMessage(ws);
    ws.send('{"id": 2, "batch": [');
    expect(await bad).toMatchObject({ type: 'error', id: null, error: { code: 'SB_BODY_UNREADABLE' } });
    const wrongShape = nextMessage(ws);
    ws.send(JSON.stringify({ id: 3, events: [] }));
    expect(await wrongShape).toMatchObject({ type: 'error', id: 3, error: { code: 'SB_BODY_UNREADABLE', message: expect.stringMatching(/"batch"/) } });
    ws.close();

    const redis = testRedis();
    const stored = (await readStreams(redis, server)).flat().filter((e) => e.event === 'ws');
    redis.disconnect();
    expect(stored).toHaveLength(3);
  });

  it('refuses the upgrade for a read key, no key, or an origin the project does not allow', async () => {
    await expect(connect(`?key=${project.readKey}`)).rejects.toThrow(/401/);
    await expect(connect('')).rejects.toThrow(/401/);
    const locked = await server.createProject('ws-locked', ['https://app.example']);
    const viaOrigin = (origin: string) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ingest?key=${locked.writeKey}`, { origin });
        ws.once('open', () => resolve(ws.close()));
        ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
      });
    await expect(viaOrigin('https://evil.example')).rejects.toThrow(/403/);
    await expect(viaOrigin('https://app.example')).resolves.toBeUndefined();
  });

  it('closes with 1009, naming the limit, a message over INGEST_MAX_BODY_BYTES', async () => {
    const ws = await connect(`?key=${project.writeKey}`);
    const closed = new Promise<[number, string]>((resolve) => ws.once('close', (code, reason) => resolve([code, reason.toString()])));
    ws.send(JSON.stringify({ id: 'big', batch: [{ event: 'big', userId: 'b', properties: { pad: 'x'.repeat(1024 * 1024) } }] }));
    const [code, reason] = await closed;
    expect(code).toBe(1009);
    expect(reason).toMatch(/at most 1048576 \(INGEST_MAX_BODY_BYTES\)/);
  });

  it('refuses batches past the unacked limit of one connection instead of piling them up', async () => {
    const ws = await connect(`?key=${project.writeKey}`);
    const replies: Json[] = [];
    ws.on('message', (data: Buffer) => replies.push(JSON.parse(data.toString()) as Json));
    for (let i = 0; i < 100; i++) ws.send(JSON.stringify({ id: i, batch: [{ event: 'ws-flood', userId: `f${i}` }] }));
    await waitFor(() => replies.length === 100, 'an answer to every batch');
    ws.close();
    const refused = replies.filter((r) => r.type === 'error');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]).toMatchObject({ error: { code: 'SB_OVERLOADED', retryAfter: 1 } });
    expect(replies.filter((r) => r.type === 'ack').length + refused.length).toBe(100);
  });
});

describe('rate limiting per key', () => {
  let server: TestServer;
  beforeAll(async () => {
    // An hour-long window, so the fixed window can't roll over between the test's requests.
    server = await startTestServer({ RATE_LIMIT_EVENTS: '10', RATE_LIMIT_WINDOW_SECONDS: '3600' });
  });
  afterAll(() => server.stop());

  it('answers 429 with Retry-After past the budget, without spending the budget on the refused request', async () => {
    const project = await server.createProject('limited');
    const batch = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ event: 'rl', userId: `u${i}` })));
    expect((await post(server, project.writeKey, batch(8))).status).toBe(202);
    const limited = await post(server, project.writeKey, batch(5));
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: { code: 'SB_RATE_LIMITED', message: expect.stringMatching(/10 events per 3600s/), retryAfter: expect.any(Number) } });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect((await post(server, project.writeKey, batch(2))).status).toBe(202);
    // Another project has its own budget.
    const other = await server.createProject('other');
    expect((await post(server, other.writeKey, batch(10))).status).toBe(202);
  });
});

describe('backpressure: 503 when aggregators fall behind', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ INGEST_MAX_LAG_EVENTS: '5', INGEST_LAG_CHECK_MS: '50', INGEST_RETRY_AFTER_SECONDS: '7' });
  });
  afterAll(() => server.stop());

  it('refuses with 503 and Retry-After while a partition holds too many unconsumed events, and accepts again once consumed', async () => {
    const project = await server.createProject('lagging');
    const six = JSON.stringify(Array.from({ length: 6 }, (_, i) => ({ event: 'lag', userId: 'same-user', eventId: `lag-${i}` })));
    expect((await post(server, project.writeKey, six)).status).toBe(202);

    // Wait for the lag monitor's poll (seen in its gauge) rather than probing with events, which would add lag.
    await waitFor(async () => /^signalboard_stream_unconsumed_events\{partition="\d+"\} 6$/m.test(await (await fetch(`${server.url}/metrics`)).text()), 'the lag monitor to see 6 events');
    const refused = await post(server, project.writeKey, JSON.stringify({ event: 'lag', userId: 'other' }));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('7');
    expect(refused.body).toEqual({ error: { code: 'SB_OVERLOADED', message: expect.stringMatching(/6 unconsumed events/), retryAfter: 7 } });

    // The aggregator commits what it consumed (as its commit script does): ingest recovers.
    const redis = testRedis();
    for (let p = 0; p < server.config.STREAM_PARTITIONS; p++) {
      const key = countsKey(server.config.REDIS_KEY_PREFIX, p);
      const added = await redis.hget(key, 'added');
      if (added !== null) await redis.hset(key, 'consumed', added);
    }
    redis.disconnect();
    await waitFor(async () => (await post(server, project.writeKey, JSON.stringify({ event: 'lag', userId: 'other' }))).status === 202, 'ingest to accept again');
  });
});

describe('when one partition cannot be written', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ STREAM_PARTITIONS: '4' });
  });
  afterAll(() => server.stop());

  it('accepts what was stored and marks the rest retriable; 503 when nothing was stored', async () => {
    const project = await server.createProject('half-broken');
    const redis = testRedis();
    // A real Redis failure on one partition only: its stream key now holds a string (WRONGTYPE).
    const broken = streamKey(server.config.REDIS_KEY_PREFIX, 1);
    await redis.del(broken);
    await redis.set(broken, 'not a stream');
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const partition = (user: string) => partitionFor(project.id, user, 4);
    const res = await post(server, project.writeKey, JSON.stringify(users.map((userId, i) => ({ event: 'half', userId, eventId: `half-${i}` }))));
    expect(res.status).toBe(202);
    const lost = users.map((u, index) => ({ u, index })).filter(({ u }) => partition(u) === 1).map(({ index }) => index);
    expect(lost.length).toBeGreaterThan(0);
    expect(res.body.accepted).toBe(40 - lost.length);
    expect(res.body.rejected).toEqual(lost.map((index) => ({ index, errors: [expect.stringMatching(/^not stored: .*resend it with the same eventId$/)], retriable: true })));

    const onlyBroken = users.filter((u) => partition(u) === 1).map((userId) => ({ event: 'half', userId }));
    const refused = await post(server, project.writeKey, JSON.stringify(onlyBroken));
    expect(refused).toMatchObject({ status: 503, body: { error: { code: 'SB_STORAGE_UNAVAILABLE' } } });
    await redis.del(broken);
    redis.disconnect();
  });
});

describe('when Redis is unreachable', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Nothing listens on port 1.
    server = await startTestServer({ REDIS_URL: 'redis://127.0.0.1:1' });
  });
  afterAll(() => server.stop());

  it('answers 503 with Retry-After and readyz names Redis', async () => {
    const project = await server.createProject('no-redis');
    const res = await post(server, project.writeKey, JSON.stringify({ event: 'e', userId: 'u' }));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body).toMatchObject({ error: { code: 'SB_STORAGE_UNAVAILABLE', message: expect.stringMatching(/Redis/) } });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'unavailable', down: ['redis'] });
  });
});
