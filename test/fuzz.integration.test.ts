import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seeded } from './dataset.js';
import { startTestServer, type TestServer } from './helpers.js';

/**
 * Bad input at volume: a seeded run of malformed bodies, headers and query strings
 * against every route the OpenAPI document lists (ingest's and the api's), bounded in
 * count. No answer may be a crash or an undocumented status; every error is a JSON
 * error with an SB_ code; memory stays bounded, and a good request still works after.
 * FUZZ_SEED=<n> replays a run; FUZZ_REQUESTS sets its length.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 1500);

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
  return { pick, int, bodies, headerSets, queries };
}

describe('bad input at volume', () => {
  let server: TestServer;
  let writeKey: string;

  beforeAll(async () => {
    // No throttling of wrong keys (its own tests cover it): past it every request would be a 429, and validation would go untested.
    server = await startTestServer({ AUTH_FAILURES_PER_MINUTE: '1000000' }, ['ingest', 'api']);
    ({ writeKey } = await server.createProject('fuzz'));
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
});
