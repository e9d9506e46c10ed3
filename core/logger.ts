import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs; human-readable only when stdout is a terminal. */
export function createLogger(level: string, name = 'signalboard'): Logger {
  const pretty = process.stdout.isTTY === true;
  return pino({
    name,
    level,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}
