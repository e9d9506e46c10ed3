import { SignalboardError } from '../core/errors.js';
import { clientAddress, route, type Headers } from '../core/http.js';
import type { Logger } from '../core/logger.js';
import type { ProjectAccess } from '../core/project-access.js';
import type { Project } from '../core/project-store.js';
import type { TemplatedApp } from '../core/uws.js';
import { bodyFormat, decodeBody, parseEventsBody } from './body-parser.js';
import type { IngestMetrics } from './ingest-metrics.js';
import type { IngestService } from './ingest-service.js';

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

/** POST /v1/events (JSON, NDJSON, text/plain; key as Bearer or ?key=) and its CORS preflight. */
export function registerHttpIngest({ app, logger, access, service, metrics, maxBodyBytes, maxEventsPerRequest, trustProxy }: IngestTransportDeps): void {
  route(app, logger, 'options', '/v1/events', (req, reply) => {
    reply.send(204, '', {
      'access-control-allow-origin': req.headers.origin ?? '*',
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers': 'authorization, content-type, content-encoding',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '86400',
      vary: 'Origin',
    });
  });

  route(
    app,
    logger,
    'post',
    '/v1/events',
    async (req, reply) => {
      const stopTimer = metrics.requestDuration.startTimer({ transport: 'http' });
      const cors = corsHeaders(req.headers.origin);
      try {
        const format = bodyFormat(req.headers['content-type']);
        const project = await access.resolve(req.headers, req.query, 'write', req.remoteAddress);
        checkOrigin(project, req.headers.origin);
        const body = decodeBody(await req.body!, req.headers['content-encoding'], maxBodyBytes);
        const parsed = parseEventsBody(body.toString('utf8'), format, maxEventsPerRequest);
        const result = await service.ingest(project, parsed, {
          userAgent: req.headers['user-agent'],
          remoteAddress: clientAddress(req.headers, req.remoteAddress, trustProxy),
        });
        // The contract's answer is {accepted, rejected}; repeats within the request are reported beside it.
        const { duplicates, ...answer } = result;
        reply.json(202, answer, duplicates === undefined ? cors : { ...cors, 'x-signalboard-duplicates': String(duplicates) });
        stopTimer();
      } catch (err) {
        if (!(err instanceof SignalboardError)) throw err;
        reply.error(err, cors);
      }
    },
    { bodyLimit: maxBodyBytes },
  );
}
