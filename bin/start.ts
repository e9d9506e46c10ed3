import { startApi } from '../api/index.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { closeRuntime, createRuntime, type RoleHandle, type Runtime, type StorageUrls } from '../core/runtime.js';
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

/**
 * Assembles one process: the shared runtime, one uWS app on one port, and the given roles
 * on it. With `aggregatorThread` the aggregator runs in a worker thread of its own
 * (`signalboard all`: its write cycles then do not wait behind ingest's requests).
 */
export async function startSignalboard(roles: readonly RoleName[], config: Config, logger: Logger, urls: StorageUrls, aggregatorThread = false): Promise<RunningSignalboard> {
  const runtime = await createRuntime(config, logger, urls);
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
