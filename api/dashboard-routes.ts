import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { SignalboardError } from '../core/errors.js';
import { route, type Headers, type RequestInfo, type Reply } from '../core/http.js';
import type { Runtime } from '../core/runtime.js';
import type { TemplatedApp } from '../core/uws.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** The SDK's names carry no hash (pages link to them): a new version reaches browsers within the hour. */
const SDK_CACHE = 'public, max-age=3600';
/** Any site may load the SDK, also as an ES module (which a browser fetches with CORS). */
const SDK_HEADERS: Headers = { 'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin', 'x-content-type-options': 'nosniff' };

/**
 * The page's own script, style and the live feed only: no inline script, no other
 * origin. ('self' covers same-origin ws:/wss: in CSP Level 3 browsers.)
 */
const SECURITY_HEADERS: Headers = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface StaticFile {
  body: Buffer;
  /** Present when gzip makes it smaller. */
  gzip?: Buffer;
  headers: Headers;
}

/**
 * Where `npm run build` puts the dashboard: dist/dashboard beside the code, whether this
 * file runs from source (api/, with tsx) or compiled (dist/api/).
 */
export function defaultDashboardDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return basename(dirname(here)) === 'dist' ? resolve(here, '..', 'dashboard') : resolve(here, '..', 'dist', 'dashboard');
}

function load(path: string, cacheControl: string): StaticFile {
  const body = readFileSync(path);
  const type = CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
  const compressible = /^text\/|json|svg/.test(type) && body.length > 512;
  const gzip = compressible ? gzipSync(body, { level: 9 }) : undefined;
  return {
    body,
    gzip: gzip !== undefined && gzip.length < body.length ? gzip : undefined,
    headers: { 'content-type': type, 'cache-control': cacheControl, ...(compressible ? { vary: 'accept-encoding' } : {}) },
  };
}

/** Every file of `dir` by name (none when it is missing). */
function loadDir(dir: string, cacheControl: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (existsSync(dir)) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isFile()) files.set(entry.name, load(join(dir, entry.name), cacheControl));
  }
  return files;
}

function send(req: RequestInfo, reply: Reply, file: StaticFile, extra: Headers = {}): void {
  const gzip = file.gzip !== undefined && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  reply.send(200, gzip ? file.gzip! : file.body, { ...file.headers, ...extra, ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
}

/**
 * The dashboard (docs/dashboard.md) at `/`: the built files, read once at start-up
 * (they are small) and looked up by exact name, so no request path ever reaches the file
 * system. `index.html` is revalidated on every load (`no-cache`); the hashed assets are
 * cached for good. The browser SDK is at `/sdk/` (docs/sdk.md). When the dashboard
 * was not built, `/` says how to build it.
 */
export function registerDashboardRoutes(app: TemplatedApp, rt: Pick<Runtime, 'logger'>, dir: string = defaultDashboardDir()): void {
  const indexPath = join(dir, 'index.html');
  const index = existsSync(indexPath) ? load(indexPath, 'no-cache') : undefined;
  const assets = loadDir(join(dir, 'assets'), IMMUTABLE);
  const sdk = loadDir(join(dir, 'sdk'), SDK_CACHE);
  if (index === undefined) {
    rt.logger.warn({ dir }, 'the dashboard is not built; / answers 503 until `npm run build` is run');
  }

  const page = (req: RequestInfo, reply: Reply) => {
    if (index === undefined) {
      reply.send(503, `Signalboard's dashboard is not built (no ${indexPath}).\nRun \`npm run build\` (or \`npx tsx scripts/build-dashboard.ts\`), then restart Signalboard.\n`, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      return;
    }
    send(req, reply, index, SECURITY_HEADERS);
  };
  route(app, rt.logger, 'get', '/', page);
  route(app, rt.logger, 'get', '/index.html', page);
  route(app, rt.logger, 'get', '/assets/*', (req, reply) => {
    const file = assets.get(req.path.slice('/assets/'.length));
    if (file === undefined) throw new SignalboardError('SB_NOT_FOUND', `no dashboard asset ${JSON.stringify(req.path)}${index === undefined ? ' (the dashboard is not built: run `npm run build`)' : ''}`);
    send(req, reply, file, { 'x-content-type-options': 'nosniff' });
  });
  route(app, rt.logger, 'get', '/sdk/*', (req, reply) => {
    const file = sdk.get(req.path.slice('/sdk/'.length));
    if (file === undefined) throw new SignalboardError('SB_NOT_FOUND', `no SDK file ${JSON.stringify(req.path)} (there are /sdk/signalboard.min.js and /sdk/signalboard.esm.js${index === undefined ? '; the dashboard is not built: run `npm run build`' : ''})`);
    send(req, reply, file, SDK_HEADERS);
  });
}
