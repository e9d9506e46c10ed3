/**
 * The aggregator role in a worker thread of `signalboard all`: its write cycles get an
 * event loop of their own instead of waiting behind ingest's requests (see
 * role-thread.ts, which starts it). Messages from the parent: `metrics` (answered with
 * the registry as JSON) and `stop` (drains, closes, ends the thread).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startAggregator } from '../aggregator/index.js';
import type { Config } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { closeRuntime, createRuntime, type StorageUrls } from '../core/runtime.js';
import type { ThreadRequest, ThreadReply } from './role-thread.js';

const { config, urls, pretty } = workerData as { config: Config; urls: StorageUrls; pretty: boolean };
const logger = createLogger(config.LOG_LEVEL, 'signalboard', undefined, pretty).child({ thread: 'aggregator' });
const rt = await createRuntime(config, logger, urls, false);
const role = startAggregator(rt);
const port = parentPort!;
const reply = (message: ThreadReply) => port.postMessage(message);

port.on('message', (message: ThreadRequest) => {
  if (message.type === 'metrics') {
    void rt.metrics.getMetricsAsJSON().then(
      (metrics) => reply({ type: 'metrics', id: message.id, metrics }),
      (err: unknown) => logger.warn({ err }, 'aggregator thread: could not read its metrics'),
    );
    return;
  }
  void role
    .stop()
    .then(() => closeRuntime(rt))
    .catch((err: unknown) => logger.warn({ err }, 'aggregator thread: stopping failed'))
    // Closing the port lets the thread end: the parent waits for its exit.
    .finally(() => port.close());
});
reply({ type: 'started' });
