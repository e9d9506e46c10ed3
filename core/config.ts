import { z } from 'zod';
import { DestinationPolicy } from './webhook-destination.js';
import { ConfigError } from './errors.js';
import { clusterAddress } from './redis.js';

// Digits only: z.coerce.number would read " " as 0 and "0x1F90" as 8080.
const int = (min: number, max: number) =>
  z.string().trim().regex(/^-?\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const serverUrl = z.url({ protocol: /^rediss?$/ });
/** A server's `redis://` or `rediss://` URL, or a cluster's `redis-cluster://host:port,host:port`. */
function redisUrl(value: string, ctx: z.RefinementCtx): void {
  try {
    if (clusterAddress(value) !== undefined || serverUrl.safeParse(value).success) return;
    ctx.addIssue({ code: 'custom', message: 'must be a redis:// or rediss:// URL, or redis-cluster://host:port,host:port for a Redis Cluster' });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
}

const PLACEHOLDER_TOKEN = /change.?me|placeholder|your.?(admin.?)?token|example|xxxxxxxx/i;

/** Every setting, read from the environment. docs/operations.md lists them with their meaning. */
const envSchema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATA_DIR: z.string().min(1).default('./.data'),
  DASHBOARD_DIR: z.string().min(1).optional(),
  REDIS_URL: z.string().superRefine(redisUrl).optional(),
  MONGODB_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://').optional(),
  ADMIN_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    // A token copied from an example manifest is known to everyone who read it.
    .refine((token) => !PLACEHOLDER_TOKEN.test(token), 'is a placeholder from an example; generate a token (e.g. openssl rand -hex 32)')
    .optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 letters, digits, _ or -').default('sb'),
  STREAM_PARTITIONS: int(1, 1024).default(16),
  ALLOW_UWS_FALLBACK: bool.default(false),
  KEY_CACHE_SECONDS: int(0, 3600).default(30),
  AUTH_FAILURES_PER_MINUTE: int(0, 1_000_000).default(60),
  REDIS_COMMAND_TIMEOUT_MS: int(100, 60_000).default(3000),
  TRUST_PROXY: bool.default(false),

  INGEST_MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  INGEST_MAX_EVENTS_PER_REQUEST: int(1, 100_000).default(1000),
  INGEST_MAX_EVENT_BYTES: int(256, 1024 * 1024).default(32 * 1024),
  INGEST_MAX_PROPERTIES: int(1, 10_000).default(256),
  INGEST_MAX_PROPERTY_DEPTH: int(1, 64).default(8),
  INGEST_MAX_EVENT_NAME_LENGTH: int(1, 1000).default(200),
  INGEST_MAX_EVENT_AGE_DAYS: int(1, 3650).default(365),
  INGEST_MAX_FUTURE_SECONDS: int(0, 7 * 24 * 3600).default(600),
  INGEST_IP_STORAGE: z.enum(['truncated', 'none']).default('truncated'),
  INGEST_FLUSH_MS: int(0, 1000).default(2),
  INGEST_FLUSH_EVENTS: int(1, 100_000).default(2000),
  INGEST_FLUSH_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  INGEST_MAX_LAG_EVENTS: int(1, 1_000_000_000).default(1_000_000),
  INGEST_LAG_CHECK_MS: int(50, 60_000).default(500),
  INGEST_RETRY_AFTER_SECONDS: int(1, 3600).default(5),
  RATE_LIMIT_EVENTS: int(0, 1_000_000_000).default(1_000_000),
  INGEST_MAX_EVENT_NAMES_PER_HOUR: int(0, 1_000_000).default(1000),
  INGEST_MAX_DIMENSION_VALUES_PER_DAY: int(0, 1_000_000).default(1000),
  RATE_LIMIT_WINDOW_SECONDS: int(1, 3600).default(10),

  AGGREGATOR_BATCH_ENTRIES: int(1, 10_000).default(200),
  AGGREGATOR_BATCH_EVENTS: int(1, 1_000_000).default(5000),
  AGGREGATOR_BATCH_BYTES: int(64 * 1024, 256 * 1024 * 1024).default(8 * 1024 * 1024),
  AGGREGATOR_FOLD_MS: int(10, 600_000).default(2000),
  AGGREGATOR_POLL_MS: int(1, 5000).default(20),
  AGGREGATOR_LEASE_MS: int(1000, 300_000).default(5000),
  AGGREGATOR_DRAIN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  AGGREGATOR_USER_CACHE_ENTRIES: int(0, 10_000_000).default(20_000),
  AGGREGATOR_RECENT_EVENT_IDS: int(0, 10_000_000).default(20_000),
  AGGREGATOR_DIMENSIONS: z.string().regex(/^[A-Za-z0-9_]+(,[A-Za-z0-9_]+)*$|^$/, 'must be comma-separated names').default('platform,country,appVersion'),
  RETENTION_HORIZON_DAYS: int(90, 366).default(180),
  EXPIRY_RAW_DAYS: int(1, 3650).default(365),
  /** Reports (docs/reports.md): the longest range, the most intervals a series may have, this process's segment memory, how long a result is cached, the most events one report reads, how long it may run. */
  REPORTS_MAX_RANGE_DAYS: int(1, 3650).default(366),
  REPORTS_MAX_INTERVALS: int(10, 100_000).default(2000),
  REPORTS_SEGMENT_CACHE_MB: int(16, 1_000_000).default(1024),
  REPORTS_RESULT_TTL_SECONDS: int(1, 86_400).default(600),
  REPORTS_MAX_EVENTS: int(1000, 1_000_000_000).default(20_000_000),
  REPORTS_TIMEOUT_MS: int(100, 600_000).default(30_000),
  EXPIRY_USERS_DAYS: int(1, 3650).default(365),
  EXPIRY_MINUTE_DAYS: int(1, 3650).default(14),
  EXPIRY_HOUR_DAYS: int(1, 3650).default(365),
  EXPIRY_DAY_DAYS: int(1, 3650).default(365),
  EXPIRY_SWEEP_SECONDS: int(1, 86_400).default(3600),

  LIVE_FLUSH_MS: int(10, 5000).default(50),
  LIVE_WINDOW_MINUTES: int(1, 1440).default(60),
  LIVE_RETENTION_DAYS: int(1, 90).default(30),
  LIVE_MAX_CONNECTIONS_PER_KEY: int(1, 1_000_000).default(20_000),
  LIVE_MAX_MESSAGE_BYTES: int(256, 1024 * 1024).default(16 * 1024),
  LIVE_MAX_EVENT_FILTER: int(1, 10_000).default(100),
  LIVE_MAX_SUBSCRIBES_PER_MINUTE: int(1, 100_000).default(60),
  LIVE_SOFT_BUFFER_BYTES: int(1024, 64 * 1024 * 1024).default(256 * 1024),
  LIVE_MAX_BUFFER_BYTES: int(4096, 256 * 1024 * 1024).default(4 * 1024 * 1024),
  LIVE_SLOW_CLOSE_SECONDS: int(1, 3600).default(30),
  LIVE_MAX_CONNECTIONS: int(1, 10_000_000).default(50_000),
  LIVE_AUTH_TIMEOUT_SECONDS: int(1, 300).default(5),
  LIVE_MAX_UNAUTHENTICATED: int(1, 1_000_000).default(2000),
  LIVE_MAX_UNAUTHENTICATED_PER_ADDRESS: int(1, 1_000_000).default(20),
  LIVE_SETTLE_TIMEOUT_MS: int(100, 300_000).default(15_000),
  LIVE_RESUME_PAGE_ENTRIES: int(1, 10_000).default(1000),

  ALERTS_LEASE_MS: int(1000, 300_000).default(5000),
  ALERTS_RULES_REFRESH_MS: int(100, 600_000).default(2000),
  ALERTS_HISTORY_DAYS: int(1, 3650).default(90),
  ALERTS_MAX_RULES_PER_PROJECT: int(1, 10_000).default(100),
  WEBHOOK_MAX_ATTEMPTS: int(1, 100).default(8),
  WEBHOOK_RETRY_BASE_MS: int(10, 3_600_000).default(1000),
  WEBHOOK_RETRY_MAX_MS: int(10, 86_400_000).default(300_000),
  WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(5000),
  /** Host names, addresses and CIDR ranges webhooks may reach although private or local (core/webhook-destination.ts). */
  // Kept as text (the config is cloned into worker threads); parsed where used.
  WEBHOOK_ALLOWED_DESTINATIONS: z
    .string()
    .default('')
    .superRefine((value, ctx) => {
      try {
        DestinationPolicy.parse(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
});

export type Config = Readonly<z.infer<typeof envSchema>>;

/**
 * Parses and freezes the configuration. A bad value throws a ConfigError that
 * names every bad variable, the rule it broke and the value it had.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset, as shells and compose files often export them.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '(environment)');
      const shown = name === 'ADMIN_TOKEN' ? '(hidden)' : JSON.stringify(present[name]);
      return `  ${name}: ${issue.message} (got ${shown})`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze(parsed.data);
}

/** The breakdown dimensions the aggregator counts (AGGREGATOR_DIMENSIONS), as a list. */
export function breakdownDimensions(config: Pick<Config, 'AGGREGATOR_DIMENSIONS'>): string[] {
  return config.AGGREGATOR_DIMENSIONS === '' ? [] : config.AGGREGATOR_DIMENSIONS.split(',');
}
