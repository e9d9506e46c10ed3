import { Worker } from 'node:worker_threads';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { RoleHandle, StorageUrls } from '../core/runtime.js';
import { threadEntry } from '../core/thread-entry.js';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];
export type ThreadRequest = { type: 'metrics'; id: number } | { type: 'stop' };
export type ThreadReply = { type: 'started' } | { type: 'metrics'; id: number; metrics: MetricsJson };

const RESTART_MS = 1000;
/** How long past the aggregator's drain timeout a stopping thread may take to close its clients. */
const STOP_GRACE_MS = 5000;
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
  const { entry, evaluate } = threadEntry(import.meta.url, 'aggregator-thread');
  let stopping = false;
  let nextId = 0;
  const waiting = new Map<number, (metrics: MetricsJson) => void>();
  /** The running thread; undefined while one that died waits to be started again. */
  let current: Worker | undefined;
  let restart: NodeJS.Timeout | undefined;

  const spawn = (): Promise<Worker> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(entry, { eval: evaluate, workerData: { config, urls: { redisUrl: urls.redisUrl, mongoUrl: urls.mongoUrl }, pretty: process.stdout.isTTY === true } });
      let started = false;
      worker.on('message', (message: ThreadReply) => {
        if (message.type === 'started') {
          started = true;
          resolve(worker);
        } else if (message.type === 'metrics') waiting.get(message.id)?.(message.metrics);
      });
      worker.once('error', (err) => logger.error({ err }, 'aggregator thread failed'));
      worker.once('exit', (code) => {
        for (const answer of waiting.values()) answer([]);
        if (current === worker) current = undefined;
        if (!started) {
          reject(new Error(`the aggregator thread exited (code ${code}) before it started`));
          return;
        }
        if (stopping) return;
        logger.error({ code }, `aggregator thread exited; starting it again in ${RESTART_MS} ms`);
        restart = setTimeout(() => {
          void spawn().then(
            (next) => {
              // Stopped meanwhile: this one goes at once.
              if (stopping) void next.terminate();
              else current = next;
            },
            (err: unknown) => logger.error({ err }, 'aggregator thread: could not start it again'),
          );
        }, RESTART_MS);
      });
    });

  current = await spawn();
  return {
    metrics() {
      const id = nextId++;
      return new Promise((resolve) => {
        const answer = (metrics: MetricsJson) => {
          clearTimeout(timer);
          waiting.delete(id);
          resolve(metrics);
        };
        const timer = setTimeout(() => answer([]), METRICS_TIMEOUT_MS);
        waiting.set(id, answer);
        current?.postMessage({ type: 'metrics', id } satisfies ThreadRequest);
      });
    },
    async stop() {
      stopping = true;
      clearTimeout(restart);
      const worker = current;
      if (worker === undefined) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'stop' } satisfies ThreadRequest);
      // The aggregator drains within its own timeout; a thread that still does not end is ended.
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), config.AGGREGATOR_DRAIN_TIMEOUT_MS + STOP_GRACE_MS)));
      if ((await Promise.race([exited, deadline])) === 'late') {
        logger.warn('aggregator thread did not stop in time; terminating it');
        await worker.terminate();
      }
      clearTimeout(timer);
    },
  };
}
