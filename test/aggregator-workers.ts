import { spawn, type ChildProcess } from 'node:child_process';
import type { Config } from '../core/config.js';

/** An aggregator role in its own process (`signalboard aggregator`), as deployed. */
export interface Worker {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

export function startWorker(config: Config, env: Record<string, string> = {}): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/signalboard.ts', 'aggregator'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: config.REDIS_URL,
      MONGODB_URL: config.MONGODB_URL,
      REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX,
      STREAM_PARTITIONS: String(config.STREAM_PARTITIONS),
      ADMIN_TOKEN: config.ADMIN_TOKEN,
      DATA_DIR: config.DATA_DIR,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return {
    child,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    output: () => output,
  };
}
