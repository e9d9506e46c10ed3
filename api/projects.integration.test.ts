import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../core/project-store.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test/helpers.js';

describe('POST /v1/projects', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, ['api']);
  });
  afterAll(() => server.stop());

  const create = (body: string, token: string | null) =>
    fetch(`${server.url}/v1/projects`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body,
    });

  it('creates a project with a write and a read key, storing only their hashes', async () => {
    const res = await create(JSON.stringify({ name: '  Shop  ' }), ADMIN_TOKEN);
    expect(res.status).toBe(201);
    const project = (await res.json()) as { id: string; name: string; writeKey: string; readKey: string; adminKey: string; allowedOrigins: string[] };
    expect(project).toEqual({ id: expect.any(String), name: 'Shop', writeKey: expect.stringMatching(/^sbw_[\w-]{43}$/), readKey: expect.stringMatching(/^sbr_[\w-]{43}$/), adminKey: expect.stringMatching(/^sba_[\w-]{43}$/), allowedOrigins: ['*'] });

    const doc = await server.running.runtime.mongo.db.collection('projects').findOne({ _id: project.id as never });
    expect(doc).toMatchObject({ name: 'Shop', writeKeyHash: hashKey(project.writeKey), readKeyHash: hashKey(project.readKey), adminKeyHash: hashKey(project.adminKey) });
    const stored = JSON.stringify(doc);
    expect(stored).not.toContain(project.writeKey);
    expect(stored).not.toContain(project.readKey);
  });

  it.each([
    ['no token', JSON.stringify({ name: 'x' }), null, 401, 'SB_ADMIN_REQUIRED', /ADMIN_TOKEN/],
    ['a wrong token', JSON.stringify({ name: 'x' }), 'wrong-token-wrong-token', 401, 'SB_AUTH_INVALID', /admin token/],
    ['an empty name', JSON.stringify({ name: '   ' }), ADMIN_TOKEN, 400, 'SB_PARAM_INVALID', /^name: must not be empty/],
    ['a missing name', JSON.stringify({}), ADMIN_TOKEN, 400, 'SB_PARAM_INVALID', /^name:/],
    ['an unknown field', JSON.stringify({ name: 'x', owner: 'me' }), ADMIN_TOKEN, 400, 'SB_PARAM_INVALID', /owner/],
    ['an origin with a path', JSON.stringify({ name: 'x', allowedOrigins: ['https://a.example/app'] }), ADMIN_TOKEN, 400, 'SB_PARAM_INVALID', /^allowedOrigins.0: each origin/],
    ['malformed JSON', '{"name":', ADMIN_TOKEN, 400, 'SB_BODY_UNREADABLE', /not valid JSON/],
  ])('refuses %s', async (_case, body, token, status, code, message) => {
    const res = await create(body, token);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message: expect.stringMatching(message) } });
  });

  it('answers every route its OpenAPI document lists, without credentials, with a status the document lists', async () => {
    type Operation = { security?: unknown[]; responses: Record<string, unknown> };
    // The document describes the deployment's API: ingest's routes too.
    const both = await startTestServer({}, ['ingest', 'api']);
    try {
      const docs = (await (await fetch(`${both.url}/docs`)).json()) as { paths: Record<string, Record<string, Operation>> };
      const checked: string[] = [];
      for (const [path, operations] of Object.entries(docs.paths)) {
        for (const [method, op] of Object.entries(operations)) {
          const res = await fetch(both.url + path.replace(/\{[^}]+\}/g, 'x'), { method: method.toUpperCase(), body: method === 'post' || method === 'put' ? '{}' : undefined });
          const what = `${method.toUpperCase()} ${path} answered ${res.status}`;
          expect(Object.keys(op.responses), what).toContain(String(res.status));
          if (op.security !== undefined) expect(res.status, what).toBe(401);
          if (res.status >= 400) expect(((await res.json()) as { error: { code: string } }).error.code, what).toMatch(/^SB_/);
          else await res.arrayBuffer();
          checked.push(`${method} ${path}`);
        }
      }
      expect(checked.length).toBeGreaterThan(12);
    } finally {
      await both.stop();
    }
  });

  it('serves the OpenAPI description at /docs, health, readiness and a JSON 404', async () => {
    const docs = (await (await fetch(`${server.url}/docs`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(docs.openapi).toBe('3.1.0');
    expect(Object.keys(docs.paths)).toEqual(expect.arrayContaining(['/v1/events', '/v1/projects', '/healthz', '/readyz', '/v1/metrics/active-users', '/v1/metrics/retention', '/v1/metrics/timeseries', '/v1/alerts', '/v1/alerts/{id}']));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { redis: 'ok', mongodb: 'ok' } });
    // HEAD wherever GET answers (load balancers health-check with HEAD): the GET's status and length, no body.
    for (const path of ['/healthz', '/readyz', '/docs']) {
      const [get, head] = [await fetch(`${server.url}${path}`), await fetch(`${server.url}${path}`, { method: 'HEAD' })];
      const body = await get.text();
      expect(head.status, path).toBe(200);
      expect(head.headers.get('content-length'), path).toBe(String(Buffer.byteLength(body)));
      expect(head.headers.get('content-type'), path).toBe(get.headers.get('content-type'));
      expect(await head.text(), path).toBe('');
    }
    const missing = await fetch(`${server.url}/v2/nothing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'SB_NOT_FOUND', message: 'no route for GET /v2/nothing' } });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^signalboard_process_cpu_seconds_total/m);
  });
});

describe('when MongoDB is unreachable', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ MONGODB_URL: 'mongodb://127.0.0.1:1/none' });
  });
  afterAll(() => server.stop());

  it('answers 503 for key checks and project creation, and readyz names MongoDB', async () => {
    const ingest = await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { authorization: 'Bearer sbw_unknown' }, body: '{"event":"e","userId":"u"}' });
    expect(ingest.status).toBe(503);
    expect(await ingest.json()).toMatchObject({ error: { code: 'SB_STORAGE_UNAVAILABLE' } });
    const create = await fetch(`${server.url}/v1/projects`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: '{"name":"x"}' });
    expect(create.status).toBe(503);
    expect(create.headers.get('retry-after')).toBe('5');
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ down: ['mongodb'] });
  }, 30_000);
});
