import type { RoleHandle, Runtime } from '../core/runtime.js';
import type { TemplatedApp } from '../core/uws.js';
import { registerAlertRoutes } from './alerts-routes.js';
import { registerDashboardRoutes } from './dashboard-routes.js';
import { registerOpenApi } from './openapi.js';
import { registerMetricsRoutes } from './metrics-routes.js';
import { registerProjectRoutes } from './projects-routes.js';
import { registerReportRoutes } from './reports-routes.js';

/** The api role: project administration, the metrics read routes, reports, alert rules, the OpenAPI document and the dashboard page. */
export function startApi(rt: Runtime, app: TemplatedApp): RoleHandle {
  registerProjectRoutes(app, rt);
  registerMetricsRoutes(app, rt);
  registerAlertRoutes(app, rt);
  const reports = registerReportRoutes(app, rt);
  registerOpenApi(app, rt);
  registerDashboardRoutes(app, rt, rt.config.DASHBOARD_DIR);
  return { stop: () => reports.stop() };
}
