import type { TestProject } from 'vitest/node';
import { ensureLocalServices } from '../scripts/local-services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    mongoUrl: string;
  }
}

/** Real Redis and a real MongoDB-compatible server for the whole run, started by the same script as `npm start`. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const services = await ensureLocalServices(process.env, '.data/test-services', (message) => console.log(`[test services] ${message}`));
  project.provide('redisUrl', services.redisUrl);
  project.provide('mongoUrl', services.mongoUrl);
  return () => services.stop();
}
