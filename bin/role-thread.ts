import { Worker } from 'node:worker_threads';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { RoleHandle, StorageUrls } from '../core/runtime.js';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];
export type ThreadRequest = { type: 'metrics'; id: number } | { type: 'stop' };
export type ThreadReply = { type: 'started' } | { type: 'stopped' } | { type: 'metrics'; id: number; metrics: MetricsJson };

const RESTART_MS = 1000;
/** A thread that does not answer a metrics request within this is left out of /metrics. */
const METRICS_TIMEOUT_MS = 1000;

export interface RoleThread extends RoleHandle {
  /** The thread's metrics (empty while it restarts). */
  metrics(): Promise<MetricsJson>;
}

/**
 * Runs the aggregator role in a worker thread of this process (`signalboard all`), with
 * storage clients of its own. A thread that dies is logged and started again.
 */
export async function startAggregatorThread(config: Config, urls: StorageUrls, logger: Logger): Promise<RoleThread> {
  // Built, the entry is JavaScript; under tsx (development, tests) it is TypeScript, and
  // tsx's loader has to be registered in the thread first (it is not inherited).
  const typescript = import.meta.url.endsWith('.ts');
  const file = new URL(typescript ? './aggregator-thread.ts' : './aggregator-thread.js', import.meta.url);
  const entry = typescript ? `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); })` : file;
  let stopping = false;
  let nextId = 0;
  const waiting = new Map<number, (metrics: MetricsJson) => void>();
  let stopped: () => void = () => undefined;

  const spawn = (): Promise<Worker> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(entry, { eval: typescript, workerData: { config, urls: { redisUrl: urls.redisUrl, mongoUrl: urls.mongoUrl }, pretty: process.stdout.isTTY === true } });
      worker.on('message', (message: ThreadReply) => {
        if (message.type === 'started') resolve(worker);
        else if (message.type === 'stopped') stopped();
        else waiting.get(message.id)?.(message.metrics);
      });
      worker.once('error', (err) => {
        logger.error({ err }, 'aggregator thread failed');
        reject(err);
      });
      worker.once('exit', (code) => {
        for (const answer of waiting.values()) answer([]);
        waiting.clear();
        if (stopping) return;
        logger.error({ code }, `aggregator thread exited; starting it again in ${RESTART_MS} ms`);
        setTimeout(() => {
          if (!stopping) void spawn().then((w) => (current = w), () => undefined);
        }, RESTART_MS);
      });
    });

  let current = await spawn();
  return {
    metrics() {
      const id = nextId++;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve([]);
        }, METRICS_TIMEOUT_MS);
        waiting.set(id, (metrics) => {
          clearTimeout(timer);
          waiting.delete(id);
          resolve(metrics);
        });
        current.postMessage({ type: 'metrics', id } satisfies ThreadRequest);
      });
    },
    async stop() {
      stopping = true;
      const done = new Promise<void>((resolve) => {
        stopped = resolve;
        current.once('exit', () => resolve());
      });
      current.postMessage({ type: 'stop' } satisfies ThreadRequest);
      await done;
    },
  };
}
