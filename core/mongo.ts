import { MongoClient, type Db } from 'mongodb';
import type { Logger } from './logger.js';

export interface Mongo {
  client: MongoClient;
  db: Db;
  /** Closes the client for good (stops the monitor watchdog too). */
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 5000;
/** A heartbeat under way this long has hung: a healthy one ends within the connect timeout twice over. */
const HUNG_HEARTBEAT_MS = 3 * CONNECT_TIMEOUT_MS;

/** Connects lazily: the driver retries in the background, so start-up does not wait for MongoDB. */
export function createMongo(url: string, appName: string, logger: Logger): Mongo {
  const client = new MongoClient(url, {
    appName,
    serverSelectionTimeoutMS: 5000,
    connectTimeoutMS: CONNECT_TIMEOUT_MS,
    // Polled rather than streamed server monitoring: against FerretDB 1.24 the streaming
    // monitor hung after a server restart far more often (see reviveHungMonitor).
    serverMonitoringMode: 'poll',
  });
  const stopWatchdog = reviveHungMonitor(client, logger);
  // The database named in the URL path, else "signalboard".
  const dbName = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]+)/.exec(url)?.[1] ?? 'signalboard';
  return {
    client,
    db: client.db(dbName),
    async close() {
      stopWatchdog();
      await client.close();
    },
  };
}

/**
 * After a FerretDB 1.24 restart the driver's server monitor sometimes never finishes a
 * heartbeat: the server stays "Unknown" and every operation fails server selection,
 * for good (reproduced outside Signalboard: 3 hangs in 10 restarts with the streaming
 * monitor; the aggregator restart test stalled 2 in 6 with the polling one). When a
 * heartbeat has been under way for HUNG_HEARTBEAT_MS, the client is closed and
 * connected again; its Db and Collection objects carry on with the new connections.
 */
function reviveHungMonitor(client: MongoClient, logger: Logger): () => void {
  let startedAt: number | undefined;
  let stopped = false;
  client.on('serverHeartbeatStarted', () => (startedAt ??= Date.now()));
  const ended = () => (startedAt = undefined);
  client.on('serverHeartbeatSucceeded', ended);
  client.on('serverHeartbeatFailed', ended);
  client.on('serverDescriptionChanged', (e) => {
    if (e.newDescription.type !== e.previousDescription.type) {
      logger.info({ server: e.address, from: e.previousDescription.type, to: e.newDescription.type, err: e.newDescription.error?.message }, 'mongodb server state changed');
    }
  });
  const timer = setInterval(() => {
    if (stopped || startedAt === undefined || Date.now() - startedAt < HUNG_HEARTBEAT_MS) return;
    logger.warn({ hungMs: Date.now() - startedAt }, 'mongodb monitor hung; reconnecting the client');
    startedAt = undefined;
    void client
      .close(true)
      .then(() => (stopped ? undefined : client.connect()))
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'mongodb reconnect failed; operations will retry'));
  }, 1000);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/** The same server URL naming another database. */
export function withDatabase(mongoUrl: string, database: string): string {
  return mongoUrl.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]+)(\/[^?]*)?/, `$1/${database}`);
}
