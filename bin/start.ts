import { startApi } from '../api/index.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { SignalboardError } from '../core/errors.js';
import { redisReady } from '../core/redis.js';
import { closeRuntime, createRuntime, type Clock, type RoleHandle, type Runtime, type StorageUrls } from '../core/runtime.js';
import { createApp, listen } from '../core/server.js';
import type { TemplatedApp } from '../core/uws.js';
import { startIngest } from '../ingest/index.js';
import { startAggregator } from '../aggregator/index.js';
import { startRealtime } from '../realtime/index.js';
import { startAlerts } from '../alerts/index.js';
import { startAggregatorThread } from './role-thread.js';

export const ROLES = {
  ingest: startIngest,
  aggregator: startAggregator,
  realtime: startRealtime,
  alerts: startAlerts,
  api: startApi,
} satisfies Record<string, (rt: Runtime, app: TemplatedApp) => RoleHandle>;

export type RoleName = keyof typeof ROLES;

export interface RunningSignalboard {
  port: number;
  runtime: Runtime;
  /** Stops listening, drains every role, closes the storage clients. */
  stop(): Promise<void>;
}

/** How long start-up waits for Redis and MongoDB to tell which deployment this is; after it, writers wait. */
const DEPLOYMENT_CHECK_MS = 5000;

/**
 * Refuses to start against a Redis namespace of another deployment (core/deployment.ts).
 * With a store unreachable it starts anyway: ingest answers 503 and the aggregator takes
 * no partition until the check has passed.
 */
async function checkDeployment(rt: Runtime): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<'later'>((resolve) => (timer = setTimeout(() => resolve('later'), DEPLOYMENT_CHECK_MS)));
  const deadline = Date.now() + DEPLOYMENT_CHECK_MS;
  const checked = (async () => {
    // Without an offline queue a command sent before Redis connected would fail at once.
    while (!redisReady(rt.redis) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    return rt.deployment.ensure();
  })();
  try {
    const outcome = await Promise.race([checked, waited]);
    if (outcome !== 'later') return;
  } catch (err) {
    if (err instanceof SignalboardError && err.code === 'SB_DEPLOYMENT_MISMATCH') throw err;
  } finally {
    clearTimeout(timer);
  }
  checked.catch(() => undefined);
  rt.logger.warn('could not tell yet which deployment the Redis namespace belongs to (Redis or MongoDB unreachable); ingest and the aggregator wait for it');
}

/**
 * Assembles one process: the shared runtime, one uWS app on one port, and the given roles
 * on it. With `aggregatorThread` the aggregator runs in a worker thread of its own
 * (`signalboard all`: its write cycles then do not wait behind ingest's requests). A test
 * may give the roles a `clock` of its own.
 */
export async function startSignalboard(
  roles: readonly RoleName[],
  config: Config,
  logger: Logger,
  urls: StorageUrls,
  { aggregatorThread = false, clock }: { aggregatorThread?: boolean; clock?: Clock } = {},
): Promise<RunningSignalboard> {
  const runtime = await createRuntime(config, logger, urls, true, clock);
  try {
    await checkDeployment(runtime);
  } catch (err) {
    await closeRuntime(runtime);
    throw err;
  }
  const app = createApp(runtime);
  const threaded = aggregatorThread && roles.includes('aggregator');
  const handles: RoleHandle[] = roles.filter((role) => !(threaded && role === 'aggregator')).map((role) => ROLES[role](runtime, app));
  if (threaded) {
    const thread = await startAggregatorThread(config, urls, logger);
    runtime.threadMetrics.push(() => thread.metrics());
    handles.push(thread);
  }
  const listening = await listen(app, config.HOST, config.PORT);
  return {
    port: listening.port,
    runtime,
    async stop() {
      // Stop taking connections, let requests under way get their answers, then close.
      listening.stopListening();
      await Promise.all(handles.map((handle) => handle.stop()));
      listening.closeConnections();
      await closeRuntime(runtime);
    },
  };
}
