import { parseJsonBody, route } from '../core/http.js';
import { parseParams } from '../core/params.js';
import type { Runtime } from '../core/runtime.js';
import type { TemplatedApp } from '../core/uws.js';
import { reportDefinition } from '../model/report-definition.js';
import { reportLimits, reportRunner } from '../reports/run-report.js';
import { SegmentStore } from '../reports/segment-store.js';

/** Reports (docs/reports.md): `POST /v1/reports/query` runs a definition over the project's raw events. */
export function registerReportRoutes(app: TemplatedApp, rt: Runtime): void {
  const limits = reportLimits(rt.config);
  const definition = reportDefinition(limits);
  const store = new SegmentStore(rt.mongo.db, rt.redis, rt.config.REDIS_KEY_PREFIX, rt.config.REPORTS_SEGMENT_CACHE_MB * 1024 * 1024);
  const runner = reportRunner(store, rt.redis, rt.config.REDIS_KEY_PREFIX, limits, rt.config.REPORTS_RESULT_TTL_SECONDS, rt.config.EXPIRY_RAW_DAYS);

  route(app, rt.logger, 'post', '/v1/reports/query', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'read', req.remoteAddress);
    const parsed = parseParams(definition, parseJsonBody(await req.body!));
    reply.json(200, await runner.run(project.id, parsed, rt.clock.now()));
  }, { bodyLimit: 64 * 1024 });
}
