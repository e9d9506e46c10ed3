import { MongoClient, type Db } from 'mongodb';

export interface Mongo {
  client: MongoClient;
  db: Db;
}

/** Connects lazily: the driver retries in the background, so start-up does not wait for MongoDB. */
export function createMongo(url: string, appName: string): Mongo {
  const client = new MongoClient(url, {
    appName,
    serverSelectionTimeoutMS: 5000,
    connectTimeoutMS: 5000,
  });
  // The database named in the URL path, else "signalboard".
  const dbName = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]+)/.exec(url)?.[1] ?? 'signalboard';
  return { client, db: client.db(dbName) };
}

/** The same server URL naming another database. */
export function withDatabase(mongoUrl: string, database: string): string {
  return mongoUrl.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]+)(\/[^?]*)?/, `$1/${database}`);
}
