/**
 * The report thread (see report-thread.ts, which starts it): runs reports with its own
 * Redis and MongoDB clients and holds the day segments. Messages from the parent: `run`
 * (answered with the run, or the error's code and message) and `stop`.
 */
import { once } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../core/config.js';
import { isStorageUnreachable, SignalboardError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { createMongo } from '../core/mongo.js';
import { createRedis } from '../core/redis.js';
import type { StorageUrls } from '../core/runtime.js';
import type { ReportReply, ReportRequest } from './report-thread.js';
import { reportRunner, reportSettings } from './run-report.js';
import { SegmentArchive } from './segment-archive.js';
import { SegmentStore } from './segment-store.js';

const { config, urls, pretty } = workerData as { config: Config; urls: StorageUrls; pretty: boolean };
const logger = createLogger(config.LOG_LEVEL, 'signalboard', undefined, pretty).child({ thread: 'reports' });
const redis = createRedis(urls.redisUrl, 'reports', { enableAutoPipelining: true, commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS });
redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
const mongo = createMongo(urls.mongoUrl, 'signalboard-reports', logger);
const store = new SegmentStore(mongo.db, new SegmentArchive(mongo.db, config.EXPIRY_RAW_DAYS), config.REPORTS_SEGMENT_CACHE_MB * 1024 * 1024, logger);
const runner = reportRunner(store, redis, config.REDIS_KEY_PREFIX, reportSettings(config));
const port = parentPort!;
const reply = (message: ReportReply) => port.postMessage(message);
let queue: Promise<void> = Promise.resolve();

port.on('message', (message: ReportRequest) => {
  if (message.type === 'stop') {
    redis.disconnect();
    void mongo.close().finally(() => port.close());
    return;
  }
  // One report at a time: a report computing holds this thread, and another's Redis and
  // MongoDB answers would wait behind it until their commands time out. The time a report
  // waits here counts toward its REPORTS_TIMEOUT_MS.
  const deadline = Date.now() + config.REPORTS_TIMEOUT_MS;
  queue = queue.then(() =>
    runner.run(message.projectId, message.definition, message.now, deadline).then(
      (run) => reply({ type: 'done', id: message.id, run }),
      (err: unknown) => {
        if (err instanceof SignalboardError) return reply({ type: 'failed', id: message.id, code: err.code, message: err.message });
        if (isStorageUnreachable(err)) return reply({ type: 'failed', id: message.id, code: 'SB_STORAGE_UNAVAILABLE', message: 'storage is unreachable; try again shortly' });
        logger.error({ err, projectId: message.projectId }, 'a report failed');
        reply({ type: 'failed', id: message.id, code: 'SB_INTERNAL', message: 'internal error; see the server log' });
      },
    ),
  );
});
// Reports are taken once Redis answers (its commands are not queued), or after 5 s, when they fail as storage unavailable.
if (redis.status !== 'ready') await Promise.race([once(redis, 'ready'), new Promise((resolve) => setTimeout(resolve, 5000))]);
reply({ type: 'started' });
