import { ERROR_CATALOG } from '../core/errors.js';
import { route } from '../core/http.js';
import type { Config } from '../core/config.js';
import type { Runtime } from '../core/runtime.js';
import type { TemplatedApp } from '../core/uws.js';

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const retryAfter = { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before retrying' } };

type Operation = { security?: unknown[]; responses: Record<string, unknown> };

const authThrottled = { ...errorResponse('SB_AUTH_THROTTLED: too many invalid keys from this address in a minute (AUTH_FAILURES_PER_MINUTE)'), headers: retryAfter };

/**
 * Segment's HTTP tracking API (docs/api.md#segment-compatible-ingest): /v1/batch and
 * one route per call type; analytics.js's one-letter paths (/v1/b, /v1/t, ...) are the same routes.
 */
function segmentPaths() {
  const calls = { batch: 'A batch of Segment calls ({"batch": [...]}, 500 KB at most)', track: 'One track call', identify: 'One identify call', page: 'One page call', screen: 'One screen call', group: 'One group call', alias: 'One alias call' };
  return Object.fromEntries(
    Object.entries(calls).map(([call, summary]) => [
      `/v1/${call}`,
      {
        post: {
          summary: `Segment-compatible ingest: ${summary}; messageId is the eventId`,
          security: [{ segmentWriteKey: [] }, { writeKey: [] }],
          requestBody: { content: { 'application/json': { schema: { type: 'object', description: "Segment's message format; writeKey may be in the body" } } } },
          responses: {
            200: { description: '{"success": true, "accepted", "rejected": [{"index", "errors"}]}' },
            400: errorResponse('Body unreadable, or not a Segment call'),
            403: errorResponse('Origin not allowed for this project'),
            413: errorResponse('An event over 32 KB or a batch over 500 KB'),
            415: errorResponse('Not JSON'),
            429: { ...errorResponse('Rate limited'), headers: retryAfter },
            503: { ...errorResponse('Aggregators behind or storage down'), headers: retryAfter },
          },
        },
      },
    ]),
  );
}

/** The OpenAPI 3.1 description of the routes this build serves with these settings, at GET /docs. */
export function openApiDocument(config: Pick<Config, 'INGEST_MAX_EVENT_NAME_LENGTH'>) {
  const doc = documentOf(config);
  // Every route that takes a key answers 401 without one, and 429 after too many wrong ones from an address.
  for (const operations of Object.values(doc.paths as Record<string, Record<string, Operation>>)) {
    for (const op of Object.values(operations)) {
      if (op.security === undefined) continue;
      op.responses[401] ??= errorResponse('Missing, unknown or wrong-kind key');
      op.responses[429] ??= authThrottled;
    }
  }
  return doc;
}

const documentOf = (config: Pick<Config, 'INGEST_MAX_EVENT_NAME_LENGTH'>) => ({
  openapi: '3.1.0',
  info: {
    title: 'Signalboard',
    version: '0.1.0',
    description: 'Self-hosted real-time product analytics. Error codes: see components.schemas.Error and docs/api.md. Besides these routes the api role serves the dashboard at / (docs/dashboard.md) and the browser SDK at /sdk/signalboard.min.js and /sdk/signalboard.esm.js (docs/sdk.md).',
  },
  components: {
    securitySchemes: {
      writeKey: { type: 'http', scheme: 'bearer', description: "A project's write key (sbw_...); also accepted as ?key=" },
      readKey: { type: 'http', scheme: 'bearer', description: "A project's read key (sbr_...); also accepted as ?key=" },
      adminKey: { type: 'http', scheme: 'bearer', description: "A project's admin key (sba_...): its settings, such as alert rules" },
      segmentWriteKey: { type: 'http', scheme: 'basic', description: 'The write key as the Basic user, no password: what Segment\'s SDKs send' },
      adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN; with ?project=<id> it stands in for any project key' },
    },
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: {
              code: { type: 'string', enum: Object.keys(ERROR_CATALOG) },
              message: { type: 'string' },
              retryAfter: { type: 'integer' },
            },
          },
        },
      },
      Event: {
        type: 'object',
        required: ['event'],
        additionalProperties: false,
        description: 'One of userId and anonymousId is required.',
        properties: {
          event: { type: 'string', minLength: 1, maxLength: config.INGEST_MAX_EVENT_NAME_LENGTH, description: 'At most INGEST_MAX_EVENT_NAME_LENGTH bytes of UTF-8 (maxLength bounds the characters), valid Unicode, no control characters' },
          userId: { type: 'string' },
          anonymousId: { type: 'string' },
          timestamp: { oneOf: [{ type: 'string', format: 'date-time' }, { type: 'integer', description: 'epoch ms' }] },
          eventId: { type: 'string', maxLength: 128, description: 'Idempotency key; send one so retries are not counted twice' },
          properties: { type: 'object' },
          context: { type: 'object' },
        },
      },
      IngestResult: {
        type: 'object',
        additionalProperties: false,
        required: ['accepted', 'rejected'],
        properties: {
          accepted: { type: 'integer' },
          rejected: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['index', 'errors'],
              properties: {
                index: { type: 'integer' },
                errors: { type: 'array', items: { type: 'string' } },
                retriable: { type: 'boolean', const: true, description: 'Present when the event was valid but could not be stored: resend it with the same eventId' },
              },
            },
          },
          duplicates: { type: 'integer', description: 'Accepted events repeating an eventId given earlier in the same request (counted once); absent when none' },
        },
      },
    },
  },
  paths: {
    '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'The process runs' } } } },
    '/readyz': {
      get: {
        summary: 'Readiness: Redis and MongoDB answer',
        responses: { 200: { description: 'Ready' }, 503: { description: 'Names what is down' } },
      },
    },
    '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Prometheus text format' } } } },
    '/docs': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1 JSON' } } } },
    '/v1/projects': {
      post: {
        summary: 'Create a project and its keys',
        security: [{ adminToken: [] }],
        requestBody: {
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['name'],
                properties: { name: { type: 'string' }, allowedOrigins: { type: 'array', items: { type: 'string' }, default: ['*'] } },
              },
            },
          },
        },
        responses: {
          201: { description: 'Created; the keys are shown only now' },
          400: errorResponse('Bad body'),
          401: errorResponse('Not the admin token'),
        },
      },
    },
    '/v1/project': {
      get: {
        summary: "The key's project: its id, name and breakdown dimensions",
        security: [{ readKey: [] }, { adminToken: [] }],
        parameters: [{ name: 'project', in: 'query', schema: { type: 'string' }, description: 'Project id, with the admin token' }],
        responses: {
          200: {
            description: 'The project',
            content: { 'application/json': { schema: { type: 'object', additionalProperties: false, required: ['id', 'name', 'dimensions'], properties: { id: { type: 'string' }, name: { type: 'string' }, dimensions: { type: 'array', items: { type: 'string' }, description: 'What GET /v1/metrics/timeseries can break counts down by' } } } } },
          },
          400: errorResponse('?project= missing with the admin token'),
          401: errorResponse('Missing, unknown or wrong-kind key'),
          403: errorResponse('?project= names another project than the key'),
          404: errorResponse('?project= names no project'),
        },
      },
    },
    '/v1/events': {
      post: {
        summary: 'Send events',
        security: [{ writeKey: [] }, { adminToken: [] }],
        parameters: [
          { name: 'key', in: 'query', schema: { type: 'string' }, description: 'Write key, for navigator.sendBeacon' },
          { name: 'project', in: 'query', schema: { type: 'string' }, description: 'Project id, with the admin token' },
        ],
        requestBody: {
          content: {
            'application/json': {
              schema: {
                oneOf: [
                  { $ref: '#/components/schemas/Event' },
                  { type: 'array', items: { $ref: '#/components/schemas/Event' } },
                  { type: 'object', properties: { batch: { type: 'array', items: { $ref: '#/components/schemas/Event' } } } },
                ],
              },
            },
            'application/x-ndjson': { schema: { type: 'string', description: 'One event per line' } },
            'text/plain': { schema: { type: 'string', description: 'Read as JSON (sendBeacon)' } },
          },
        },
        responses: {
          202: { description: 'Accepted: Redis holds every accepted event', content: { 'application/json': { schema: { $ref: '#/components/schemas/IngestResult' } } } },
          400: errorResponse('Body unreadable or empty'),
          401: errorResponse('Missing, unknown or wrong-kind key'),
          403: errorResponse('Origin not allowed for this project'),
          413: errorResponse('Body or event count too large'),
          415: errorResponse('Unsupported Content-Type'),
          429: { ...errorResponse('Rate limited'), headers: retryAfter },
          503: { ...errorResponse('Aggregators behind or storage down'), headers: retryAfter },
        },
      },
    },
    ...segmentPaths(),
    '/v1/projects/{writeKey}/settings': {
      get: {
        summary: "What Segment's SDKs fetch from their CDN host at start: pointed here (cdnHost), they send to this server",
        parameters: [{ name: 'writeKey', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: '{"integrations": {"Segment.io": {"apiKey", "apiHost"}}, ...}' }, 401: errorResponse('Unknown write key'), 429: authThrottled },
      },
    },
    '/v1/metrics/active-users': {
      get: {
        summary: 'Distinct active users per UTC day, or in the trailing 7 / 30 days',
        security: [{ readKey: [] }, { adminToken: [] }],
        parameters: [
          { name: 'window', in: 'query', schema: { type: 'string', enum: ['day', 'week', 'month'], default: 'day' } },
          { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date' } },
          { name: 'to', in: 'query', required: true, schema: { type: 'string', format: 'date' } },
        ],
        responses: { 200: { description: '{"series": [{"date", "users"}]}' }, 400: errorResponse('Bad parameter'), 401: errorResponse('Bad key') },
      },
    },
    '/v1/metrics/retention': {
      get: {
        summary: 'Retention cohorts by first-event day or week',
        security: [{ readKey: [] }, { adminToken: [] }],
        parameters: [
          { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date' } },
          { name: 'to', in: 'query', required: true, schema: { type: 'string', format: 'date' } },
          { name: 'period', in: 'query', schema: { type: 'string', enum: ['day', 'week'], default: 'day' } },
          { name: 'horizon', in: 'query', schema: { type: 'integer', minimum: 0 } },
        ],
        responses: { 200: { description: '{"period", "cohorts": [{"cohort", "size", "retained": [r0, ...]}]}' }, 400: errorResponse('Bad parameter'), 401: errorResponse('Bad key') },
      },
    },
    '/v1/metrics/timeseries': {
      get: {
        summary: 'Event counts per minute, hour or day',
        security: [{ readKey: [] }, { adminToken: [] }],
        parameters: [
          { name: 'event', in: 'query', required: true, schema: { type: 'string' } },
          { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
          { name: 'to', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
          { name: 'granularity', in: 'query', schema: { type: 'string', enum: ['minute', 'hour', 'day'], default: 'hour' } },
          { name: 'breakdown', in: 'query', schema: { type: 'string' }, description: 'A dimension the aggregator counts (AGGREGATOR_DIMENSIONS): the counts per value too' },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 50, default: 10 }, description: 'With breakdown: the values kept; the rest are summed as "(other)"' },
        ],
        responses: { 200: { description: '{"points": [{"t", "count"}], "breakdown"?: {"dimension", "values": [{"value", "total", "points"}]}}' }, 400: errorResponse('Bad parameter'), 401: errorResponse('Bad key') },
      },
    },
    '/v1/events/names': {
      get: {
        summary: "The project's event names with their counts over a range of UTC days, most sent first (for report pickers)",
        security: [{ readKey: [] }, { adminToken: [] }],
        parameters: [
          { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date' } },
          { name: 'to', in: 'query', required: true, schema: { type: 'string', format: 'date' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        ],
        responses: { 200: { description: '{"from", "to", "names": n, "events": [{"name", "count"}]}' }, 400: errorResponse('Bad parameter'), 401: errorResponse('Bad key') },
      },
    },
    '/v1/properties': {
      get: {
        summary: 'The property keys of the newest events (at most 10,000 over 30 days), of one event when named, with the JSON types seen and how many of them had each (for report pickers)',
        security: [{ readKey: [] }, { adminToken: [] }],
        parameters: [{ name: 'event', in: 'query', schema: { type: 'string' } }],
        responses: { 200: { description: '{"event"?, "sampled": n, "properties": [{"key", "types": [...], "events": n}]}' }, 400: errorResponse('Bad parameter'), 401: errorResponse('Bad key') },
      },
    },
    '/v1/reports/query': {
      post: {
        summary: 'Run a report definition over the raw events (docs/reports.md): trends, funnel, retention, lifecycle or stickiness',
        security: [{ readKey: [] }, { adminToken: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['kind'], properties: { kind: { type: 'string', enum: ['trends', 'funnel', 'retention', 'lifecycle', 'stickiness'] } } } } } },
        responses: {
          200: { description: '{"result": trends {"intervals": [ISO, ...], "results": [{"series", "label", "breakdown"?, "period", "values", "total"}]}, funnel {"steps", "breakdowns"?}, retention {"cohorts"}, lifecycle {"intervals", "new", "returning", "resurrecting", "dormant"} or stickiness {"intervals", "counts"}, "range": {"from", "to", "timezone"}, "computedAt", "cached"}' },
          400: errorResponse('SB_PARAM_INVALID naming the field (an unknown kind, field or operator, a range too long, too many intervals, a zone that does not exist, ...)'),
          401: errorResponse('Missing or wrong key'),
        },
      },
    },
    '/v1/alerts': {
      get: { summary: 'List alert rules with their state', security: [{ readKey: [] }, { adminToken: [] }], responses: { 200: { description: '{"alerts": [...]}' } } },
      post: {
        summary: 'Create an alert rule (threshold or anomaly; see docs/api.md#alerts)',
        security: [{ adminKey: [] }, { adminToken: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name', 'metric', 'condition'] } } } },
        responses: { 201: { description: 'The rule; with a webhook, its webhookSecret (shown once)' }, 400: errorResponse('SB_PARAM_INVALID naming the field'), 401: errorResponse('Missing or wrong key') },
      },
    },
    '/v1/alerts/history': {
      get: { summary: 'Alert firings and resolutions, newest first (?rule=&from=&to=&limit=)', security: [{ readKey: [] }, { adminToken: [] }], responses: { 200: { description: '{"firings": [...]}' } } },
    },
    '/v1/alerts/{id}': {
      get: { summary: 'One alert rule and its state', security: [{ readKey: [] }, { adminToken: [] }], responses: { 200: { description: 'The rule' }, 404: errorResponse('SB_NOT_FOUND') } },
      put: { summary: 'Replace an alert rule', security: [{ adminKey: [] }, { adminToken: [] }], responses: { 200: { description: 'The rule' }, 400: errorResponse('SB_PARAM_INVALID'), 404: errorResponse('SB_NOT_FOUND') } },
      delete: { summary: 'Delete an alert rule', security: [{ adminKey: [] }, { adminToken: [] }], responses: { 204: { description: 'Deleted' }, 404: errorResponse('SB_NOT_FOUND') } },
    },
    '/v1/alerts/{id}/deliveries': {
      get: { summary: "A rule's webhook deliveries with their attempts (?status=pending|delivered|dead&limit=)", security: [{ readKey: [] }, { adminToken: [] }], responses: { 200: { description: '{"deliveries": [...]}' } } },
    },
  },
  'x-websockets': {
    '/v1/ingest': 'Ingest over a WebSocket: see docs/api.md#websocket-ingest',
    '/v1/live': 'Live figures and alerts over a WebSocket (read key): see docs/realtime.md',
  },
});

export function registerOpenApi(app: TemplatedApp, rt: Runtime): void {
  const body = JSON.stringify(openApiDocument(rt.config));
  route(app, rt.logger, 'get', '/docs', (_req, reply) => reply.send(200, body, { 'content-type': 'application/json' }));
}
