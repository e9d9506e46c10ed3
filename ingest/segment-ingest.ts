import { SignalboardError } from '../core/errors.js';
import { parseJsonBody, route, type Headers } from '../core/http.js';
import { bodyFormat, decodeBody } from './body-parser.js';
import { checkOrigin, duplicatesHeader, registerIngestPost, requestOrigin, type IngestTransportDeps } from './http-ingest.js';
import { bodyWriteKey, readSegmentBody, SEGMENT_MAX_BATCH_BYTES, SEGMENT_TYPES, segmentError, type SegmentType } from './segment-messages.js';

/**
 * The credentials of a Segment request as the Bearer header our key check reads: the
 * write key is the HTTP Basic user (`base64("<writeKey>:")`, as every Segment SDK sends
 * it), else `writeKey` in the body; a Bearer header or `?key=` works as on /v1/events.
 */
export function segmentCredentials(headers: Readonly<Headers>, bodyWriteKey: string | undefined): Readonly<Headers> {
  const basic = /^Basic\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  if (basic !== null) {
    const user = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':')[0]!;
    if (user === '') throw new SignalboardError('SB_AUTH_INVALID', 'the Basic credentials hold no user; send the write key as the user: base64("<writeKey>:")');
    return { ...headers, authorization: `Bearer ${user}` };
  }
  if (headers.authorization === undefined && bodyWriteKey !== undefined) return { ...headers, authorization: `Bearer ${bodyWriteKey}` };
  return headers;
}

/** analytics.js (Segment's browser SDK) posts single calls to these one-letter paths, and batches to `/b`. */
const SHORT_PATH: Record<SegmentType | 'batch', string> = { batch: 'b', track: 't', identify: 'i', page: 'p', screen: 's', group: 'g', alias: 'a' };

/** Every path of Segment's tracking API, each call's full and short path (analytics.js sends to the short ones). */
export const SEGMENT_ROUTES = (['batch', ...SEGMENT_TYPES] as const).flatMap((route) => [route, SHORT_PATH[route]].map((path) => ({ route, path: `/v1/${path}` })));

/**
 * Segment's HTTP tracking API: POST /v1/batch and /v1/{track,identify,page,screen,
 * group,alias}, answered 200 `{"success": true, "accepted", "rejected"}` (Segment's
 * SDKs read any 2xx as delivered; a bad message is rejected alone, as on /v1/events).
 */
export function registerSegmentIngest(deps: IngestTransportDeps): void {
  const { app, logger, access, service, maxEventsPerRequest, trustProxy } = deps;
  // Segment's SDKs (analytics.js, the mobile libraries) read their settings from their
  // CDN host at start: pointed here, they learn to send to this server. An unknown key
  // is a 401, and they fall back to their defaults. The answer names the Host it was asked
  // on, so no cache may keep it for another (no-store); and the path is read as a write key
  // only (as ?key= is): the admin token is never taken from a URL.
  route(app, logger, 'get', '/v1/projects/:writeKey/settings', async (req, reply) => {
    const cors = { 'access-control-allow-origin': '*', 'cache-control': 'no-store' };
    try {
      const writeKey = req.path.split('/')[3] ?? '';
      await access.resolve({}, new URLSearchParams({ key: writeKey }), 'write', req.remoteAddress);
      const apiHost = `${req.headers.host ?? 'localhost'}/v1`;
      reply.json(200, { integrations: { 'Segment.io': { apiKey: writeKey, apiHost } }, plan: { track: {}, identify: {}, group: {} }, edgeFunction: {} }, cors);
    } catch (err) {
      if (!(err instanceof SignalboardError)) throw err;
      reply.error(err, cors);
    }
  });
  const bodyLimit = Math.min(deps.maxBodyBytes, SEGMENT_MAX_BATCH_BYTES);
  for (const { route, path } of SEGMENT_ROUTES) {
    registerIngestPost(deps, path, 'segment', bodyLimit, async (req) => {
      if (bodyFormat(req.headers['content-type']) !== 'json') {
        throw new SignalboardError('SB_BODY_UNSUPPORTED_TYPE', 'Segment calls are JSON; send application/json or text/plain');
      }
      // The key first: a caller without one learns nothing about the body, and one with a
      // bad key in a header costs no inflating and parsing (a 2 KB gzip body can be 500 KB of JSON).
      const inHeaders = req.headers.authorization !== undefined || req.query.has('key');
      const headerProject = inHeaders ? await access.resolve(segmentCredentials(req.headers, undefined), req.query, 'write', req.remoteAddress) : undefined;
      const attempt = inHeaders ? undefined : access.beforeBodyKey(req.headers, req.remoteAddress);
      const text = decodeBody(await req.body!, req.headers['content-encoding'], bodyLimit).toString('utf8');
      const body = parseJsonBody(text);
      const project = headerProject ?? (await access.resolve(segmentCredentials(req.headers, bodyWriteKey(body)), req.query, 'write', req.remoteAddress));
      attempt?.giveBack();
      checkOrigin(project, req.headers.origin);
      const request = readSegmentBody(body, route, Date.now(), maxEventsPerRequest);
      const { duplicates, accepted, rejected } = await service.ingest(project, request, requestOrigin(req, trustProxy));
      const named = rejected.map((r) => ({ ...r, errors: r.errors.map((e) => segmentError(e, request.types[r.index])) }));
      return { status: 200, body: { success: true, accepted, rejected: named }, headers: duplicatesHeader(duplicates) };
    });
  }
}
