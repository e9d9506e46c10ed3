import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs; human-readable only when stdout is a terminal. `file` sends them there instead (tests). */
/** `pretty`: human-readable lines (a worker thread is told whether its process writes to a terminal). */
export function createLogger(level: string, name = 'signalboard', file?: string, pretty = process.stdout.isTTY === true): Logger {
  if (file !== undefined) return pino({ name, level }, pino.destination({ dest: file, sync: true, mkdir: true }));
  return pino({
    name,
    level,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}
