/**
 * Reports run in a worker thread of the api process (reports/report-worker.ts), with
 * storage clients and day segments of their own: a report computes for up to
 * REPORTS_TIMEOUT_MS, and on the main thread that would stall every other request of the
 * process (in `signalboard all`, ingest and the alerts leader too). One thread: reports
 * run one after another, and the process keeps a core for everything else.
 */
import { Worker } from 'node:worker_threads';
import type { Config } from '../core/config.js';
import { SignalboardError, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { StorageUrls } from '../core/runtime.js';
import { threadEntry } from '../core/thread-entry.js';
import type { ReportDefinition } from '../model/report-definition.js';
import type { Redis } from '../core/redis.js';
import { lookUpResult, reportSettings, type ReportRun, type ReportRunner } from './run-report.js';

export type ReportRequest = { type: 'run'; id: number; projectId: string; definition: ReportDefinition; now: number } | { type: 'stop' };
export type ReportReply = { type: 'started' } | { type: 'done'; id: number; run: ReportRun } | { type: 'failed'; id: number; code: ErrorCode; message: string };

/** Past the report's own timeout, how long the thread may take to answer before the request gives up on it. */
const ANSWER_GRACE_MS = 5000;

export interface ReportThread extends ReportRunner {
  stop(): Promise<void>;
}

/** `redis`: the process's client, to answer cached results without the thread. */
export function startReportThread(config: Config, urls: StorageUrls, redis: Redis, logger: Logger): ReportThread {
  const settings = reportSettings(config);
  const { entry, evaluate } = threadEntry(import.meta.url, 'report-worker');
  const waiting = new Map<number, { resolve: (run: ReportRun) => void; reject: (err: Error) => void }>();
  let nextId = 0;
  let current: Promise<Worker> | undefined;
  let stopping = false;

  // Started on the first report, and again after a thread that died.
  const thread = (): Promise<Worker> => {
    current ??= new Promise<Worker>((resolve, reject) => {
      const worker = new Worker(entry, { eval: evaluate, workerData: { config, urls: { redisUrl: urls.redisUrl, mongoUrl: urls.mongoUrl }, pretty: process.stdout.isTTY === true } });
      worker.on('message', (message: ReportReply) => {
        if (message.type === 'started') return resolve(worker);
        const waiter = waiting.get(message.id);
        waiting.delete(message.id);
        if (message.type === 'done') waiter?.resolve(message.run);
        else waiter?.reject(new SignalboardError(message.code, message.message));
      });
      worker.once('error', (err) => logger.error({ err }, 'report thread failed'));
      worker.once('exit', (code) => {
        current = undefined;
        reject(new Error(`the report thread exited (code ${code}) before it started`));
        for (const waiter of waiting.values()) waiter.reject(new SignalboardError('SB_INTERNAL', 'the report thread stopped; try again'));
        waiting.clear();
        if (!stopping) logger.error({ code }, 'report thread exited; the next report starts it again');
      });
    });
    return current;
  };

  return {
    async run(projectId, definition, now) {
      // A cached result (or a plan refused: too many intervals) needs no thread, nor a wait behind a long report.
      const { cached } = await lookUpResult(redis, config.REDIS_KEY_PREFIX, settings, projectId, definition, now);
      if (cached !== undefined) return cached;
      const worker = await thread();
      const id = nextId++;
      return new Promise<ReportRun>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new SignalboardError('SB_REPORT_TIMEOUT', `the report did not finish within ${config.REPORTS_TIMEOUT_MS} ms (REPORTS_TIMEOUT_MS) and was given up`));
        }, config.REPORTS_TIMEOUT_MS + ANSWER_GRACE_MS);
        const settle = <T>(fn: (value: T) => void) => (value: T) => {
          clearTimeout(timer);
          fn(value);
        };
        waiting.set(id, { resolve: settle(resolve), reject: settle(reject) });
        worker.postMessage({ type: 'run', id, projectId, definition, now } satisfies ReportRequest);
      });
    },
    async stop() {
      stopping = true;
      const running = current;
      if (running === undefined) return;
      const worker = await running.catch(() => undefined);
      if (worker === undefined) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'stop' } satisfies ReportRequest);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ANSWER_GRACE_MS)));
      if ((await Promise.race([exited, late])) === 'late') await worker.terminate();
      clearTimeout(timer);
    },
  };
}
