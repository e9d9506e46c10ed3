import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { alertRuleInput, type AlertRule, type AlertRuleInput } from '../model/alert-rules.js';
import { AlertStore, type AlertStateDoc } from '../model/alert-store.js';
import { SignalboardError } from '../core/errors.js';
import { breakdownDimensions } from '../core/config.js';
import { DestinationPolicy } from '../core/webhook-destination.js';
import { parseJsonBody, route, type RequestInfo } from '../core/http.js';
import { parseParams, parseQuery } from '../core/params.js';
import type { Runtime } from '../core/runtime.js';
import type { TemplatedApp } from '../core/uws.js';

const MAX_HISTORY = 1000;

const historyQuery = z.object({
  rule: z.string().min(1).optional(),
  from: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
  to: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
  limit: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(MAX_HISTORY)).default(100),
});

const deliveriesQuery = z.object({
  status: z.enum(['pending', 'delivered', 'dead', 'cancelled']).optional(),
  limit: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(MAX_HISTORY)).default(100),
});

/** A webhook URL's origin only: paths of chat webhooks carry their credentials, and read keys sit in dashboards. */
function maskUrl(url: string): string {
  const { origin, pathname, search } = new URL(url);
  return pathname === '/' && search === '' ? origin : `${origin}/…`;
}

/**
 * A rule as the API shows it: never its webhook secret (shown once, when created); the
 * webhook URL masked except in the answer to the write that set it.
 */
function ruleView(rule: AlertRule, state: AlertStateDoc | undefined, fullUrl = false) {
  const { _id, ...rest } = rule;
  delete rest.webhookSecret;
  if (rest.webhook !== undefined && !fullUrl) rest.webhook = { url: maskUrl(rest.webhook.url) };
  return { id: _id, ...rest, state: state === undefined ? { status: 'ok' } : { status: state.status, since: new Date(state.since).toISOString(), value: state.value, firings: state.firings } };
}

function ruleIdOf(req: RequestInfo): string {
  const segment = req.path.split('/')[3] ?? '';
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new SignalboardError('SB_NOT_FOUND', `no alert rule ${JSON.stringify(segment)} (bad %-escape)`);
  }
}

/**
 * Alert rules (docs/api.md#alerts): read key to list and read, the project's admin key
 * (or the admin token with ?project=) to create, replace and delete. Evaluation is the
 * alerts role's; it re-reads the rules every ALERTS_RULES_REFRESH_MS.
 */
export function registerAlertRoutes(app: TemplatedApp, rt: Runtime): void {
  const store = new AlertStore(rt.mongo.db);
  const { rules, states } = store;
  const schema = alertRuleInput(breakdownDimensions(rt.config));
  const bodyLimit = { bodyLimit: 64 * 1024 };
  rules.createIndex({ projectId: 1 }, { name: 'projectId' }).catch((err: unknown) => rt.logger.warn({ err }, 'could not create the alert rules index yet'));

  const findRule = async (projectId: string, id: string) => {
    const rule = await rules.findOne({ _id: id, projectId });
    if (rule === null) throw new SignalboardError('SB_NOT_FOUND', `no alert rule ${JSON.stringify(id)} in this project`);
    return rule;
  };
  const stateOf = (id: string) => states.findOne({ _id: id }).then((s) => s ?? undefined);
  const destinations = DestinationPolicy.parse(rt.config.WEBHOOK_ALLOWED_DESTINATIONS);
  const readBody = async (req: RequestInfo): Promise<AlertRuleInput> => {
    const input = parseParams(schema, parseJsonBody(await req.body!));
    // Deliveries check every resolved address; an address in the URL itself is refused now.
    const refused = input.webhook === undefined ? undefined : destinations.urlRefusal(input.webhook.url);
    if (refused !== undefined) throw new SignalboardError('SB_PARAM_INVALID', `webhook.url: ${refused}`);
    return input;
  };

  route(app, rt.logger, 'get', '/v1/alerts', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'read', req.remoteAddress);
    const [found, known] = await Promise.all([rules.find({ projectId: project.id }).toArray(), states.find({ projectId: project.id }).toArray()]);
    const byId = new Map(known.map((s) => [s._id, s]));
    reply.json(200, { alerts: found.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).map((r) => ruleView(r, byId.get(r._id))) });
  });

  route(app, rt.logger, 'post', '/v1/alerts', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'admin', req.remoteAddress);
    const input = await readBody(req);
    const count = await rules.countDocuments({ projectId: project.id });
    if (count >= rt.config.ALERTS_MAX_RULES_PER_PROJECT) {
      throw new SignalboardError('SB_PARAM_INVALID', `the project already has ${count} alert rules, the most allowed (ALERTS_MAX_RULES_PER_PROJECT)`);
    }
    const now = new Date();
    const rule: AlertRule = { _id: `al_${randomBytes(9).toString('base64url')}`, projectId: project.id, ...input, createdAt: now, updatedAt: now };
    if (input.webhook !== undefined) rule.webhookSecret = `whsec_${randomBytes(24).toString('base64url')}`;
    await rules.insertOne(rule);
    rt.logger.info({ projectId: project.id, rule: rule._id }, 'alert rule created');
    reply.json(201, { ...ruleView(rule, undefined, true), ...(rule.webhookSecret === undefined ? {} : { webhookSecret: rule.webhookSecret }) });
  }, bodyLimit);

  route(app, rt.logger, 'get', '/v1/alerts/history', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'read', req.remoteAddress);
    const q = parseQuery(historyQuery, req.query);
    const firings = await store.history(project.id, {
      ruleId: q.rule,
      from: q.from === undefined ? undefined : new Date(q.from),
      to: q.to === undefined ? undefined : new Date(q.to),
      limit: q.limit,
    });
    reply.json(200, { firings: firings.map((f) => f.alert) });
  });

  route(app, rt.logger, 'get', '/v1/alerts/:id', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'read', req.remoteAddress);
    const rule = await findRule(project.id, ruleIdOf(req));
    reply.json(200, ruleView(rule, await stateOf(rule._id)));
  });

  route(app, rt.logger, 'get', '/v1/alerts/:id/deliveries', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'read', req.remoteAddress);
    const rule = await findRule(project.id, ruleIdOf(req));
    const q = parseQuery(deliveriesQuery, req.query);
    const deliveries = await store.deliveriesOf(project.id, { ruleId: rule._id, status: q.status, limit: q.limit });
    reply.json(200, { deliveries: deliveries.map(({ _id, url, ...d }) => ({ id: _id, url: maskUrl(url), ...d })) });
  });

  route(app, rt.logger, 'put', '/v1/alerts/:id', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'admin', req.remoteAddress);
    const existing = await findRule(project.id, ruleIdOf(req));
    const input = await readBody(req);
    const webhookSecret = input.webhook === undefined ? undefined : existing.webhookSecret ?? `whsec_${randomBytes(24).toString('base64url')}`;
    const rule: AlertRule = { _id: existing._id, projectId: project.id, ...input, ...(webhookSecret === undefined ? {} : { webhookSecret }), createdAt: existing.createdAt, updatedAt: new Date() };
    await rules.replaceOne({ _id: existing._id, projectId: project.id }, rule);
    // A disabled rule is not evaluated: it must not stay "firing" on dashboards.
    if (!rule.enabled) await states.deleteOne({ _id: rule._id });
    // Nor keep sending what it queued, and never to a URL it no longer names.
    if (!rule.enabled || rule.webhook?.url !== existing.webhook?.url) await store.cancelPending(project.id, rule._id);
    const secretIsNew = webhookSecret !== undefined && existing.webhookSecret === undefined;
    reply.json(200, { ...ruleView(rule, await stateOf(rule._id), true), ...(secretIsNew ? { webhookSecret } : {}) });
  }, bodyLimit);

  route(app, rt.logger, 'del', '/v1/alerts/:id', async (req, reply) => {
    const project = await rt.access.resolve(req.headers, req.query, 'admin', req.remoteAddress);
    const rule = await findRule(project.id, ruleIdOf(req));
    await rules.deleteOne({ _id: rule._id, projectId: project.id });
    await states.deleteOne({ _id: rule._id });
    await store.cancelPending(project.id, rule._id);
    rt.logger.info({ projectId: project.id, rule: rule._id }, 'alert rule deleted');
    reply.send(204, '');
  });
}
