import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t } from './uws.js';
import { isStorageUnreachable, SignalboardError, StorageUnavailableError } from './errors.js';
import type { Logger } from './logger.js';

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  413: 'Payload Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests',
  500: 'Internal Server Error', 503: 'Service Unavailable',
};

export type Headers = Record<string, string>;

const STORAGE_RETRY_AFTER_SECONDS = 5;

/** What a handler may know of a request: uWS's HttpRequest dies when the handler first yields, so it is copied. */
export interface RequestInfo {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** Lower-case header names. */
  readonly headers: Readonly<Headers>;
  readonly remoteAddress: string;
  /** Present when the route reads a body: the body, bounded by the route's limit. */
  readonly body: Promise<Buffer> | undefined;
}

/**
 * The client's address: the peer's, or with TRUST_PROXY the first X-Forwarded-For
 * entry (a load balancer in front puts the real client there).
 */
export function clientAddress(headers: Readonly<Headers>, peer: string, trustProxy: boolean): string {
  const forwarded = trustProxy ? headers['x-forwarded-for']?.split(',')[0]?.trim() : undefined;
  return forwarded === undefined || forwarded === '' ? peer : forwarded;
}

export function bearerToken(headers: Readonly<Headers>): string | undefined {
  const auth = headers.authorization;
  if (auth === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  return match?.[1];
}

/** Writes one response; safe after the client went away, and corked as uWS needs outside its own callbacks. */
export class Reply {
  aborted = false;
  private done = false;

  /** @param head a HEAD request: the headers and Content-Length of the GET answer, no body. */
  constructor(private readonly res: HttpResponse, private readonly head = false) {
    res.onAborted(() => {
      this.aborted = true;
    });
  }

  send(status: number, body: string | Buffer, headers: Headers = {}, closeConnection = false): void {
    if (this.aborted || this.done) return;
    this.done = true;
    this.res.cork(() => {
      this.res.writeStatus(`${status} ${STATUS_TEXT[status] ?? ''}`);
      for (const name in headers) this.res.writeHeader(name, headers[name]!);
      if (this.head) this.res.endWithoutBody(Buffer.byteLength(body), closeConnection);
      else this.res.end(body, closeConnection);
    });
  }

  json(status: number, value: unknown, headers: Headers = {}): void {
    this.send(status, JSON.stringify(value), { 'content-type': 'application/json', ...headers });
  }

  error(err: SignalboardError, headers: Headers = {}): void {
    const extra: Headers = err.retryAfterSeconds === undefined ? headers : { ...headers, 'retry-after': String(err.retryAfterSeconds) };
    // After an oversized body (drained, bounded: see readBody) the connection is not reused.
    const close = err.code === 'SB_BODY_TOO_LARGE' || err.code === 'SB_REQUEST_MALFORMED';
    this.send(err.status, JSON.stringify({ error: err.toJSON() }), { 'content-type': 'application/json', ...extra }, close);
  }
}

export function bodyTooLarge(limit: number, when = ''): SignalboardError {
  return new SignalboardError('SB_BODY_TOO_LARGE', `the body is larger than ${limit} bytes${when === '' ? '' : ` ${when}`} (INGEST_MAX_BODY_BYTES)`);
}

/**
 * An oversized body is still read (and dropped) up to this much more, for at most this
 * long, before the 413 is sent and the connection closed: a client that is still
 * uploading when the answer comes reads a reset instead (Node's fetch: EPIPE) and cannot
 * tell it from a network error, so it would retry a batch that can never succeed
 * (nginx's lingering close does the same). Past either bound the connection is closed.
 */
const DRAIN_BYTES = 8 * 1024 * 1024;
const DRAIN_MS = 5000;

/** Collects the body; past `limit` bytes it keeps nothing, drains the rest (bounded), then rejects with a 413. */
function readBody(res: HttpResponse, limit: number, declaredLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const refuse = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(bodyTooLarge(limit));
    };
    const overflow = () => {
      over = true;
      chunks.length = 0;
      timer = setTimeout(refuse, DRAIN_MS);
    };
    if (declaredLength > limit) overflow();
    res.onData((chunk, isLast) => {
      if (settled) return;
      size += chunk.byteLength;
      if (!over && size > limit) overflow();
      if (over) {
        if (isLast || size > limit + DRAIN_BYTES) refuse();
        return;
      }
      // uWS reuses the chunk's memory after this callback returns, so copy it.
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) {
        settled = true;
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      }
    });
  });
}

export interface RouteOptions {
  /** Read the body, up to this many bytes. */
  bodyLimit?: number;
}

export type Handler = (req: RequestInfo, reply: Reply) => Promise<void> | void;

/** Headers that say where a request's body ends: each at most once, and not both (RFC 9112 6.3). */
const FRAMING = ['content-length', 'transfer-encoding'];

function copyRequest(res: HttpResponse, req: HttpRequest, options: RouteOptions): RequestInfo {
  const headers: Headers = {};
  const framing: string[] = [];
  req.forEach((name, value) => {
    if (FRAMING.includes(name)) framing.push(name);
    headers[name] = value;
  });
  // Behind a proxy that reads another of them than uWS does, a second request could hide in the body.
  if (framing.length > 1) {
    // (Content-Length with Transfer-Encoding never gets here: uWS's parser closes the connection.)
    throw new SignalboardError('SB_REQUEST_MALFORMED', framing[0] === framing[1] ? `${framing[0]} given more than once` : 'both Content-Length and Transfer-Encoding given');
  }
  const declared = Number(headers['content-length'] ?? 0);
  return {
    method: req.getCaseSensitiveMethod(),
    path: req.getUrl(),
    query: new URLSearchParams(req.getQuery() ?? ''),
    headers,
    remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
    body: options.bodyLimit === undefined ? undefined : readBody(res, options.bodyLimit, Number.isFinite(declared) ? declared : 0),
  };
}

/** Wraps a handler: copies the request, answers catalogued errors with their status and anything else with a logged 500. */
export function handler(logger: Logger, fn: Handler, options: RouteOptions = {}, head = false): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    const reply = new Reply(res, head);
    let info: RequestInfo;
    try {
      info = copyRequest(res, req, options);
    } catch (err) {
      if (!(err instanceof SignalboardError)) throw err;
      reply.error(err);
      return;
    }
    // A body we stopped waiting for must not surface as an unhandled rejection.
    info.body?.catch(() => undefined);
    let result: Promise<void> | void;
    try {
      result = fn(info, reply);
    } catch (err) {
      replyWithError(logger, reply, info, err);
      return;
    }
    if (result instanceof Promise) result.catch((err: unknown) => replyWithError(logger, reply, info, err));
  };
}

/** Answers a failed request; returns the error it sent. */
function replyWithError(logger: Logger, reply: Reply, req: RequestInfo, err: unknown): SignalboardError {
  let error: SignalboardError;
  if (err instanceof SignalboardError) error = err;
  else if (isStorageUnreachable(err)) {
    logger.warn({ err: (err as Error).message, path: req.path }, 'storage unreachable');
    error = new StorageUnavailableError('storage is unreachable; try again shortly', STORAGE_RETRY_AFTER_SECONDS);
  } else {
    logger.error({ err, method: req.method, path: req.path }, 'request failed');
    error = new SignalboardError('SB_INTERNAL', 'internal error; see the server log');
  }
  reply.error(error);
  return error;
}

/**
 * The `upgrade` handler of a WebSocket route whose admission is decided asynchronously
 * (a key checked in MongoDB): the socket gets the data `decide` resolves to, or the
 * request is answered with the error it throws, as any route's would be. Nothing is
 * done once the client went away.
 */
export function upgradeWebSocket<T>(
  logger: Logger,
  decide: (req: RequestInfo) => T | Promise<T>,
  onRefused: (err: SignalboardError) => void = () => undefined,
): (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => void {
  return (res, req, context) => {
    const reply = new Reply(res);
    const info = copyRequest(res, req, {});
    Promise.resolve()
      .then(() => decide(info))
      .then(
        (data) => {
          if (reply.aborted) return;
          const { headers } = info;
          res.cork(() => res.upgrade<T>(data, headers['sec-websocket-key'] ?? '', headers['sec-websocket-protocol'] ?? '', headers['sec-websocket-extensions'] ?? '', context));
        },
        (err: unknown) => onRefused(replyWithError(logger, reply, info, err)),
      );
  };
}

export type Method = 'get' | 'post' | 'del' | 'put' | 'patch' | 'options' | 'any';

/** Registers a route; a GET route answers HEAD too (load balancers health-check with HEAD). */
export function route(app: TemplatedApp, logger: Logger, method: Method, pattern: string, fn: Handler, options: RouteOptions = {}): void {
  app[method](pattern, handler(logger, fn, options));
  if (method === 'get') app.head(pattern, handler(logger, fn, options, true));
}

/** Parses a JSON body, turning a syntax error into a 400 that names it. */
export function parseJsonBody(body: Buffer | string): unknown {
  try {
    return JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    throw new SignalboardError('SB_BODY_UNREADABLE', `the body is not valid JSON${jsonErrorPosition((err as Error).message)}`);
  }
}

/**
 * Where JSON.parse stopped, without the text around it: V8's message quotes the input
 * (binary bytes of a compressed body, or what a client would not want echoed).
 */
export function jsonErrorPosition(message: string): string {
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position !== undefined) return ` (at position ${position})`;
  return /Unexpected end of JSON input/.test(message) ? ' (it ends too early)' : '';
}
