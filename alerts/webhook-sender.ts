import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { DestinationPolicy } from '../core/webhook-destination.js';

/** One webhook POST under the destination policy, and what its failure may show. */

/** The host only: webhook URLs often carry a token in their path (Slack's do), which must not reach the logs. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid url)';
  }
}

/** A delivery refused before connecting: the destination is not allowed. */
class DestinationRefused extends Error {
  readonly code = 'SB_DESTINATION_REFUSED';
}

/**
 * POSTs and resolves with the answer's status (redirects are answers, never followed:
 * the endpoint is the URL the user configured). Every address the host resolves to is
 * checked against the policy at connection time, so a name that resolves elsewhere
 * after the rule was saved is still refused.
 */
export function postGuarded(url: string, headers: Record<string, string>, body: string, timeoutMs: number, policy: DestinationPolicy): Promise<number> {
  const target = new URL(url);
  // A literal address is never looked up: checked here, as when the rule was saved.
  const literal = policy.urlRefusal(url);
  if (literal !== undefined) return Promise.reject(new DestinationRefused(literal));
  const lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err !== null) return callback(err, '', 0);
      const refused = addresses.map((a) => policy.refusal(hostname, a.address)).find((r) => r !== undefined);
      if (refused !== undefined) return callback(new DestinationRefused(refused), '', 0);
      if (options.all === true) return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
  return new Promise((resolve, reject) => {
    const request = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
      target,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup, signal: AbortSignal.timeout(timeoutMs) },
      (res) => {
        // Only the status matters; the timeout may still cut the body short.
        res.on('error', () => undefined);
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * Why an attempt got no answer: `shown` (in the deliveries view, which a read key sees)
 * is a category, never the connection's own text, which names internal addresses and
 * ports; `detail` is for the server log.
 */
export function describeFailure(err: unknown, timeoutMs: number): { shown: string; detail: string } {
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  const detail = e.message || String(err);
  if (err instanceof DestinationRefused) return { shown: `destination refused: ${e.message}`, detail };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return { shown: `timeout after ${timeoutMs} ms`, detail };
  const code = e.code ?? e.cause?.code ?? '';
  const shown = FAILURE_CLASSES[code] ?? (/CERT|SSL|TLS/.test(code) ? 'TLS error' : 'network error');
  return { shown, detail };
}

const FAILURE_CLASSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS did not answer)',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};
