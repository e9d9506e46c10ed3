#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { readDeadLetters } from '../aggregator/dead-letters.js';
import { runRecompute } from '../aggregator/index.js';
import type { RecomputeRequest } from '../aggregator/recompute.js';
import { progressLine, timeLeftMs, type RecomputeProgress } from '../aggregator/recompute-progress.js';
import { loadConfig, type Config } from '../core/config.js';
import { SignalboardError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { createRedis } from '../core/redis.js';
import { closeRuntime, createRuntime, type StorageUrls } from '../core/runtime.js';
import { formatDay, parseDay } from '../model/time-buckets.js';
import { assertNativeUws } from '../core/uws.js';
import { ensureLocalServices } from '../scripts/local-services.js';
import { ROLES, startSignalboard, type RoleName } from './start.js';

const USAGE = `usage: signalboard <role>
       signalboard recompute --project <id> --from <YYYY-MM-DD> --to <YYYY-MM-DD>
       signalboard dead-letters [--limit <n>]

  all         every role in one process (what npm start runs)
${Object.keys(ROLES).map((role) => `  ${role.padEnd(11)} only the ${role} role`).join('\n')}
  recompute   rebuild a project's rollups, active users and retention for a range
              of UTC days from its raw events (pauses the aggregator workers meanwhile)
  dead-letters  what the aggregator could never write, newest first, one JSON line
              each, and how many per reason (docs/operations.md#dead-letters)

Settings come from the environment; see docs/operations.md.`;

class UsageError extends Error {}

function recomputeRequest(args: string[]): RecomputeRequest {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { project: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } }, strict: true }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { project, from, to } = values;
  if (project === undefined || project === '') throw new UsageError('recompute needs --project');
  const day = (name: string, text: string | undefined) => {
    const parsed = text === undefined ? undefined : parseDay(text);
    if (parsed === undefined) throw new UsageError(`--${name} must be a calendar date as YYYY-MM-DD, got ${JSON.stringify(text ?? null)}`);
    return parsed;
  };
  const request = { projectId: project, fromDay: day('from', from), toDay: day('to', to) };
  if (request.fromDay > request.toDay) throw new UsageError(`--from (${from}) is after --to (${to})`);
  return request;
}

/**
 * The recompute's progress on stderr: on a terminal a bar redrawn in place (at most ten
 * times a second); otherwise a log line when a step starts and every 10 s.
 */
function progressOutput(logger: Logger): { onProgress: (p: RecomputeProgress) => void; end(): void } {
  const terminal = process.stderr.isTTY === true;
  let shownAt = 0;
  let step: string | undefined;
  return {
    onProgress(p) {
      const now = Date.now();
      const newStep = p.step !== step;
      if (!newStep && now - shownAt < (terminal ? 100 : 10_000) && p.daysDone !== p.daysTotal) return;
      if (terminal) process.stderr.write(`${newStep && step !== undefined ? '\n' : '\r\x1b[2K'}${progressLine(p, now)}`);
      else logger.info({ step: p.step, daysDone: p.daysDone, daysTotal: p.daysTotal, events: p.events, leftMs: timeLeftMs(p, now) }, 'recompute progress');
      [shownAt, step] = [now, p.step];
    },
    end() {
      if (terminal && step !== undefined) process.stderr.write('\n');
    },
  };
}

/** Runs one recompute, showing its progress, and prints its report as JSON. */
async function runRecomputeCommand(args: string[]): Promise<number> {
  const request = recomputeRequest(args);
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const services = await ensureLocalServices(process.env, config.DATA_DIR, (message) => logger.info(message));
  const runtime = await createRuntime(config, logger, services);
  try {
    if ((await runtime.projects.findById(request.projectId, 30_000)) === undefined) throw new SignalboardError('SB_PROJECT_NOT_FOUND', `no project ${JSON.stringify(request.projectId)}`);
    const progress = progressOutput(logger);
    const report = await runRecompute(runtime, request, progress.onProgress).finally(() => progress.end());
    console.log(JSON.stringify({ projectId: request.projectId, from: formatDay(request.fromDay), to: formatDay(request.toDay), ...report }));
    return 0;
  } finally {
    await closeRuntime(runtime);
    await services.stop();
  }
}

/** Prints the newest dead letters as JSON lines, and a count per reason on stderr. */
async function runDeadLettersCommand(args: string[]): Promise<number> {
  let limit: number;
  try {
    const { values } = parseArgs({ args, options: { limit: { type: 'string', default: '100' } }, strict: true });
    limit = Number(values.limit);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new UsageError('--limit must be a whole number from 1 to 100000');
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const services = await ensureLocalServices(process.env, config.DATA_DIR, (message) => logger.info(message));
  // Redis alone, waiting for it to connect (the roles' clients refuse commands until then).
  const redis = createRedis(services.redisUrl, 'dead-letters', { enableOfflineQueue: true });
  try {
    const letters = await readDeadLetters(redis, config.REDIS_KEY_PREFIX, limit);
    for (const letter of letters) console.log(JSON.stringify(letter));
    const byReason = new Map<string, number>();
    for (const { reason } of letters) byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    console.error(letters.length === 0 ? 'no dead letters' : [...byReason].map(([reason, n]) => `${n} × ${reason}`).join('\n'));
    return 0;
  } finally {
    redis.disconnect();
    await services.stop();
  }
}

/** The commands besides the roles, each given the arguments after its name. */
const COMMANDS: Record<string, (args: string[]) => Promise<number>> = { recompute: runRecomputeCommand, 'dead-letters': runDeadLettersCommand };

async function main(argv: string[]): Promise<number> {
  const [mode] = argv;
  if (mode === undefined || mode === '--help' || mode === '-h') {
    console.log(USAGE);
    return mode === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(COMMANDS, mode) ? COMMANDS[mode] : undefined;
  if (command !== undefined) {
    try {
      return await command(argv.slice(1));
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      console.error(`signalboard: ${err.message}\n\n${USAGE}`);
      return 2;
    }
  }
  if (mode !== 'all' && !Object.hasOwn(ROLES, mode)) {
    console.error(`signalboard: unknown role ${JSON.stringify(mode)}\n\n${USAGE}`);
    return 2;
  }
  const roles = mode === 'all' ? (Object.keys(ROLES) as RoleName[]) : [mode as RoleName];

  const config = loadConfig();
  assertNativeUws(config.ALLOW_UWS_FALLBACK);
  const logger = createLogger(config.LOG_LEVEL);
  const services = await ensureLocalServices(process.env, config.DATA_DIR, (message) => logger.info(message));
  try {
    await serve(mode, roles, config, logger, services);
  } finally {
    await services.stop();
  }
  return 0;
}

/** Runs until SIGINT or SIGTERM, then drains. */
async function serve(mode: string, roles: RoleName[], config: Config, logger: Logger, urls: StorageUrls): Promise<void> {
  const running = await startSignalboard(roles, config, logger, urls, { aggregatorThread: mode === 'all' });

  const { admin } = running.runtime;
  if (admin.generated) {
    // On a terminal, shown once; never in the log, which is collected and kept.
    const shown = process.stdout.isTTY === true;
    if (shown) process.stdout.write(`\nGenerated an admin token (kept in ${admin.path}):\n\n  ${admin.token}\n\n`);
    logger.info({ savedIn: admin.path }, `generated an admin token, kept in the credentials file${shown ? ' (printed above)' : ''}`);
  }
  logger.info(
    { roles, url: `http://localhost:${running.port}`, adminToken: admin.source === 'env' ? 'from ADMIN_TOKEN' : admin.path },
    `Signalboard (${mode}) listening on http://localhost:${running.port}; admin token ${admin.source === 'env' ? 'from ADMIN_TOKEN' : `in ${admin.path}`}`,
  );

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  await running.stop();
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof SignalboardError) console.error(`signalboard: ${err.code}: ${err.message}`);
    else console.error('signalboard: failed to start:', err);
    process.exit(1);
  },
);
