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

/** Assembles one process: the shared runtime, one uWS app on one port, and the given roles on it. */
export async function startSignalboard(roles: readonly RoleName[], config: Config, logger: Logger, urls: StorageUrls): Promise<RunningSignalboard> {
  const runtime = await createRuntime(config, logger, urls);
  const app = createApp(runtime);
  const handles = roles.map((role) => ROLES[role](runtime, app));
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
