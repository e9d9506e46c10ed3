import { SignalboardError } from './errors.js';
import { route } from './http.js';
import { metricsText } from './metrics.js';
import { pingEvery } from './redis.js';
import type { Runtime } from './runtime.js';
import { uWS, type TemplatedApp, type us_listen_socket } from './uws.js';

const PROBE_TIMEOUT_MS = 1000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Which storage answers right now: the /readyz check. */
export async function probeStorage(rt: Runtime): Promise<{ redis: string; mongodb: string }> {
  const probe = (p: Promise<unknown>) => withTimeout(p, PROBE_TIMEOUT_MS).then(() => 'ok', (err: Error) => `down: ${err.message}`);
  const [redis, mongodb] = await Promise.all([probe(pingEvery(rt.redis)), probe(rt.mongo.db.command({ ping: 1 }))]);
  return { redis, mongodb };
}

/** The uWS app every role registers on, with /healthz, /readyz, /metrics and a JSON 404. */
export function createApp(rt: Runtime): TemplatedApp {
  const app = uWS.App();
  const { logger } = rt;
  route(app, logger, 'get', '/healthz', (_req, reply) => reply.json(200, { status: 'ok' }));
  route(app, logger, 'get', '/readyz', async (_req, reply) => {
    const checks = await probeStorage(rt);
    const down = Object.entries(checks).filter(([, state]) => state !== 'ok').map(([name]) => name);
    reply.json(down.length === 0 ? 200 : 503, down.length === 0 ? { status: 'ready', checks } : { status: 'unavailable', down, checks });
  });
  route(app, logger, 'get', '/metrics', async (_req, reply) => {
    reply.send(200, await metricsText(rt.metrics, rt.threadMetrics), { 'content-type': rt.metrics.contentType });
  });
  route(app, logger, 'any', '/*', (req) => {
    throw new SignalboardError('SB_NOT_FOUND', `no route for ${req.method} ${req.path}`);
  });
  return app;
}

export interface Listening {
  port: number;
  /** Stops accepting connections; open ones keep being served. */
  stopListening(): void;
  /** Closes every open connection. */
  closeConnections(): void;
}

export function listen(app: TemplatedApp, host: string, port: number): Promise<Listening> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket: us_listen_socket | false) => {
      if (socket === false) {
        reject(new Error(`could not listen on ${host}:${port} (in use?)`));
        return;
      }
      resolve({
        port: uWS.us_socket_local_port(socket),
        stopListening: () => uWS.us_listen_socket_close(socket),
        // The native App can close open connections (not in the published typings).
        closeConnections: () => (app as TemplatedApp & { close?: () => void }).close?.(),
      });
    });
  });
}
