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
  const watchdog = reviveHungMonitor(client, logger);
  // The database named in the URL path, else "signalboard".
  const dbName = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]+)/.exec(url)?.[1] ?? 'signalboard';
  return {
    client,
    db: client.db(dbName),
    async close() {
      await watchdog.stop();
      await client.close();
    },
  };
}

/**
 * After a FerretDB 1.24 restart the driver's server monitor sometimes never finishes a
 * heartbeat: the server stays "Unknown" and every operation fails server selection,
 * for good (reproduced outside Signalboard: 3 hangs in 10 restarts with the streaming
 * monitor; the aggregator restart test stalled 2 in 6 with the polling one). When a
 * server's heartbeat has been under way for HUNG_HEARTBEAT_MS, the client is closed and
 * connected again (retrying until it connects); its Db and Collection objects carry on.
 */
function reviveHungMonitor(client: MongoClient, logger: Logger): { stop(): Promise<void> } {
  /** Per server: when its unfinished heartbeat started. */
  const started = new Map<string, number>();
  let stopped = false;
  let reviving: Promise<void> | undefined;
  client.on('serverHeartbeatStarted', (e) => {
    if (!started.has(e.connectionId)) started.set(e.connectionId, Date.now());
  });
  client.on('serverHeartbeatSucceeded', (e) => started.delete(e.connectionId));
  client.on('serverHeartbeatFailed', (e) => started.delete(e.connectionId));
  client.on('serverDescriptionChanged', (e) => {
    if (e.newDescription.type !== e.previousDescription.type) {
      logger.info({ server: e.address, from: e.previousDescription.type, to: e.newDescription.type, err: e.newDescription.error?.message }, 'mongodb server state changed');
    }
  });
  const revive = async () => {
    await client.close(true).catch(() => undefined);
    for (let wait = 500; !stopped; wait = Math.min(wait * 2, 10_000)) {
      try {
        await client.connect();
        return;
      } catch (err) {
        logger.warn({ err: (err as Error).message, retryInMs: wait }, 'mongodb reconnect failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  };
  let lastTick = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    // A tick that comes late means this process was busy, not that the monitor hung:
    // its heartbeat callbacks could not run either, so start their clocks again.
    if (now - lastTick > 2000) for (const server of started.keys()) started.set(server, now);
    lastTick = now;
    if (stopped || reviving !== undefined) return;
    const hung = [...started].find(([, since]) => now - since >= HUNG_HEARTBEAT_MS);
    if (hung === undefined) return;
    logger.warn({ server: hung[0], hungMs: now - hung[1] }, 'mongodb monitor hung; reconnecting the client');
    started.clear();
    reviving = revive().finally(() => (reviving = undefined));
  }, 1000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await reviving;
    },
  };
}

/** The same server URL naming another database. */
export function withDatabase(mongoUrl: string, database: string): string {
  return mongoUrl.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]+)(\/[^?]*)?/, `$1/${database}`);
}
