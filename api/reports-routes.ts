import { parseJsonBody, route } from '../core/http.js';
import { parseParams } from '../core/params.js';
import type { Runtime } from '../core/runtime.js';
import type { TemplatedApp } from '../core/uws.js';
import { reportDefinition } from '../model/report-definition.js';
import { startReportThread, type ReportThread } from '../reports/report-thread.js';
import { reportSettings } from '../reports/run-report.js';

/**
 * Reports (docs/reports.md): `POST /v1/reports/query` validates a definition here and runs
 * it in the report thread over the project's raw events. Returns the thread to stop.
 */
export function registerReportRoutes(app: TemplatedApp, rt: Runtime): ReportThread {
  const definition = reportDefinition(reportSettings(rt.config).limits);
  const runner = startReportThread(rt.config, rt.urls, rt.redis, rt.logger);

  route(app, rt.logger, 'post', '/v1/reports/query', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'read', req.remoteAddress);
    const parsed = parseParams(definition, parseJsonBody(await req.body!));
    reply.json(200, await runner.run(project.id, parsed, rt.clock.now()));
  }, { bodyLimit: 64 * 1024 });
  return runner;
}
