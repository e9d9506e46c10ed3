import { SignalboardError } from '../core/errors.js';
import { clientAddress, route, type Headers, type RequestInfo } from '../core/http.js';
import type { Logger } from '../core/logger.js';
import type { ProjectAccess } from '../core/project-access.js';
import type { Project } from '../core/project-store.js';
import type { TemplatedApp } from '../core/uws.js';
import { bodyFormat, decodeBody, parseEventsBody } from './body-parser.js';
import type { IngestMetrics } from './ingest-metrics.js';
import type { IngestService, RequestOrigin } from './ingest-service.js';

/** Browsers may read our answers from any page; whether the page may *send* is the project's allowedOrigins. */
function corsHeaders(origin: string | undefined): Headers {
  // sendBeacon sends credentials, so the origin is echoed rather than "*".
  return origin === undefined
    ? {}
    : { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', 'access-control-expose-headers': 'retry-after, x-signalboard-duplicates', vary: 'Origin' };
}

export function checkOrigin(project: Project, origin: string | undefined): void {
  if (origin === undefined || project.allowedOrigins.includes('*') || project.allowedOrigins.includes(origin)) return;
  throw new SignalboardError('SB_CORS_ORIGIN_DENIED', `origin ${JSON.stringify(origin)} is not in this project's allowed origins`);
}

/** What each ingest transport (HTTP, WebSocket) is built from. */
export interface IngestTransportDeps {
  app: TemplatedApp;
  logger: Logger;
  access: ProjectAccess;
  service: IngestService;
  metrics: IngestMetrics;
  maxBodyBytes: number;
  maxEventsPerRequest: number;
  trustProxy: boolean;
}

/** The CORS preflight of an ingest route: any page may ask; the project's allowedOrigins decide on the POST. */
export function registerPreflight(app: TemplatedApp, logger: Logger, pattern: string): void {
  route(app, logger, 'options', pattern, (req, reply) => {
    reply.send(204, '', {
      'access-control-allow-origin': req.headers.origin ?? '*',
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers': 'authorization, content-type, content-encoding',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '86400',
      vary: 'Origin',
    });
  });
}

/** What an ingest POST answers when it stored what it could. */
export interface IngestAnswer {
  status: number;
  body: unknown;
  headers?: Headers;
}

/**
 * An ingest POST: times the accepted requests under `transport`, and answers every
 * refusal (bad key, origin, body, overload) as the error it is, with CORS headers so a
 * page can read it.
 */
export function registerIngestPost(deps: IngestTransportDeps, pattern: string, transport: string, bodyLimit: number, handle: (req: RequestInfo) => Promise<IngestAnswer>): void {
  registerPreflight(deps.app, deps.logger, pattern);
  route(
    deps.app,
    deps.logger,
    'post',
    pattern,
    async (req, reply) => {
      const stopTimer = deps.metrics.requestDuration.startTimer({ transport });
      const cors = corsHeaders(req.headers.origin);
      try {
        const answer = await handle(req);
        reply.json(answer.status, answer.body, { ...cors, ...answer.headers });
        stopTimer();
      } catch (err) {
        if (!(err instanceof SignalboardError)) throw err;
        reply.error(err, cors);
      }
    },
    { bodyLimit },
  );
}

/** POST /v1/events (JSON, NDJSON, text/plain; key as Bearer or ?key=) and its CORS preflight. */
export function registerHttpIngest(deps: IngestTransportDeps): void {
  const { access, service, maxBodyBytes, maxEventsPerRequest, trustProxy } = deps;
  registerIngestPost(deps, '/v1/events', 'http', maxBodyBytes, async (req) => {
    const format = bodyFormat(req.headers['content-type']);
    const project = await access.resolve(req.headers, req.query, 'write', req.remoteAddress);
    checkOrigin(project, req.headers.origin);
    const body = decodeBody(await req.body!, req.headers['content-encoding'], maxBodyBytes);
    const parsed = parseEventsBody(body.toString('utf8'), format, maxEventsPerRequest);
    const result = await service.ingest(project, parsed, requestOrigin(req, trustProxy));
    // The contract's answer is {accepted, rejected}; repeats within the request are reported beside it.
    const { duplicates, ...answer } = result;
    return { status: 202, body: answer, headers: duplicatesHeader(duplicates) };
  });
}

export function requestOrigin(req: RequestInfo, trustProxy: boolean): RequestOrigin {
  return { userAgent: req.headers['user-agent'], remoteAddress: clientAddress(req.headers, req.remoteAddress, trustProxy) };
}

export function duplicatesHeader(duplicates: number | undefined): Headers {
  return duplicates === undefined ? {} : { 'x-signalboard-duplicates': String(duplicates) };
}
