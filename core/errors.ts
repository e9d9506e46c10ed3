/**
 * The error catalog: every error Signalboard reports has a stable code, one HTTP
 * status and one WebSocket close code (4000 + the HTTP status). docs/api.md
 * documents each code; core/errors.test.ts checks they stay unique and documented.
 */
export const ERROR_CATALOG = {
  SB_CONFIG_INVALID: { status: 500, retriable: false },
  SB_UWS_FALLBACK: { status: 500, retriable: false },
  SB_DEPLOYMENT_MISMATCH: { status: 500, retriable: false },
  SB_RECOMPUTE_BUSY: { status: 409, retriable: true },
  SB_REQUEST_MALFORMED: { status: 400, retriable: false },
  SB_BODY_UNREADABLE: { status: 400, retriable: false },
  SB_BODY_UNSUPPORTED_TYPE: { status: 415, retriable: false },
  SB_BODY_TOO_LARGE: { status: 413, retriable: false },
  SB_INGEST_EMPTY: { status: 400, retriable: false },
  SB_INGEST_TOO_MANY_EVENTS: { status: 413, retriable: false },
  SB_AUTH_MISSING: { status: 401, retriable: false },
  SB_AUTH_INVALID: { status: 401, retriable: false },
  SB_AUTH_WRONG_KEY: { status: 401, retriable: false },
  SB_AUTH_THROTTLED: { status: 429, retriable: true },
  SB_ADMIN_REQUIRED: { status: 401, retriable: false },
  SB_PROJECT_NOT_FOUND: { status: 404, retriable: false },
  SB_PROJECT_MISMATCH: { status: 403, retriable: false },
  SB_CORS_ORIGIN_DENIED: { status: 403, retriable: false },
  SB_PARAM_INVALID: { status: 400, retriable: false },
  SB_NOT_FOUND: { status: 404, retriable: false },
  SB_RATE_LIMITED: { status: 429, retriable: true },
  SB_OVERLOADED: { status: 503, retriable: true },
  SB_REPORT_TIMEOUT: { status: 503, retriable: true },
  SB_STORAGE_UNAVAILABLE: { status: 503, retriable: true },
  SB_SHUTTING_DOWN: { status: 503, retriable: true },
  SB_INTERNAL: { status: 500, retriable: true },
  SB_LIVE_MESSAGE_INVALID: { status: 400, retriable: false },
  SB_LIVE_FORBIDDEN: { status: 403, retriable: false },
  SB_LIVE_TOO_MANY_SUBSCRIPTIONS: { status: 400, retriable: false },
  SB_LIVE_SLOW_CONSUMER: { status: 408, retriable: true },
  SB_LIVE_TOO_MANY_CONNECTIONS: { status: 429, retriable: true },
} as const satisfies Record<string, { status: number; retriable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export interface ErrorOptions {
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class SignalboardError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly isRetriable: boolean;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SignalboardError';
    this.code = code;
    this.status = ERROR_CATALOG[code].status;
    this.isRetriable = ERROR_CATALOG[code].retriable;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** WebSocket close code for this error: 4000 + its HTTP status (RFC 6455 leaves 4000-4999 to applications). */
  get wsCloseCode(): number {
    return 4000 + this.status;
  }

  toJSON(): { code: ErrorCode; message: string; retryAfter?: number } {
    return this.retryAfterSeconds === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retryAfter: this.retryAfterSeconds };
  }
}

/** Stops start-up: a bad setting or environment. */
export class ConfigError extends SignalboardError {
  constructor(message: string) {
    super('SB_CONFIG_INVALID', message);
    this.name = 'ConfigError';
  }
}

/** Redis or MongoDB did not answer; the caller should retry later. */
export class StorageUnavailableError extends SignalboardError {
  constructor(message: string, retryAfterSeconds: number, cause?: unknown) {
    super('SB_STORAGE_UNAVAILABLE', message, { retryAfterSeconds, cause });
    this.name = 'StorageUnavailableError';
  }
}

const STORAGE_ERROR_NAMES = new Set([
  'MongoServerSelectionError', 'MongoNetworkError', 'MongoNetworkTimeoutError', 'MongoTopologyClosedError', 'MongoNotConnectedError',
]);

/** True for a driver error that means MongoDB or Redis is unreachable (as opposed to a bug or bad input). */
export function isStorageUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return STORAGE_ERROR_NAMES.has(err.name) || /Connection is closed|Stream isn't writeable|ECONNREFUSED/.test(err.message);
}
