import { z } from 'zod';
import { breakdownDimensions } from '../core/config.js';
import { parseJsonBody, route } from '../core/http.js';
import { parseParams } from '../core/params.js';
import type { Runtime } from '../core/runtime.js';
import type { TemplatedApp } from '../core/uws.js';

const origin = z.string().refine((value) => value === '*' || /^https?:\/\/[^/\s]+$/.test(value), {
  message: 'each origin must be "*" or scheme://host[:port] without a path',
});

const createProjectBody = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200),
  allowedOrigins: z.array(origin).min(1).max(100).default(['*']),
}).strict();

/**
 * POST /v1/projects (admin token): creates a project and returns its keys, the only time
 * they are shown. GET /v1/project (read key, or the admin token with ?project=): the
 * key's project, its id and name (what the dashboard shows).
 */
export function registerProjectRoutes(app: TemplatedApp, rt: Runtime): void {
  const dimensions = breakdownDimensions(rt.config);
  route(app, rt.logger, 'get', '/v1/project', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'read', req.remoteAddress);
    // The dimensions the figures can be broken down by (GET /v1/metrics/timeseries?breakdown=).
    reply.json(200, { id: project.id, name: project.name, dimensions });
  });

  route(
    app,
    rt.logger,
    'post',
    '/v1/projects',
    async (req, reply) => {
      rt.access.requireAdmin(req.headers, req.remoteAddress);
      const body = parseParams(createProjectBody, parseJsonBody(await req.body!));
      const project = await rt.projects.create(body.name, body.allowedOrigins);
      rt.logger.info({ projectId: project.id, name: project.name }, 'project created');
      reply.json(201, project);
    },
    { bodyLimit: 64 * 1024 },
  );
}
