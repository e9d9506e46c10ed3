#!/usr/bin/env node
import { loadConfig, type Config } from '../core/config.js';
import { SignalboardError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import type { StorageUrls } from '../core/runtime.js';
import { assertNativeUws } from '../core/uws.js';
import { ensureLocalServices } from '../scripts/local-services.js';
import { ROLES, startSignalboard, type RoleName } from './start.js';

const USAGE = `usage: signalboard <role>

  all         every role in one process (what npm start runs)
${Object.keys(ROLES).map((role) => `  ${role.padEnd(11)} only the ${role} role`).join('\n')}

Settings come from the environment; see docs/operations.md.`;

async function main(argv: string[]): Promise<number> {
  const [mode] = argv;
  if (mode === undefined || mode === '--help' || mode === '-h') {
    console.log(USAGE);
    return mode === undefined ? 2 : 0;
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
  const running = await startSignalboard(roles, config, logger, urls);

  const { admin } = running.runtime;
  if (admin.generated) logger.warn({ adminToken: admin.token, savedIn: admin.path }, 'generated an admin token (shown once here; kept in the credentials file)');
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
