import { describe, expect, it } from 'vitest';
import { classifyAnswer, classifyFailure, describeAnswer } from './answer.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const error = (code: string, message: string) => ({ error: { code, message } });

describe('classifyAnswer', () => {
  it.each([
    [400, 'a bad batch never gets better', { kind: 'drop', why: 'HTTP 400 SB_BODY_UNREADABLE: bad', status: 400 }],
    [401, 'a bad key never gets better', { kind: 'drop', why: 'HTTP 401 SB_AUTH_INVALID: bad', status: 401 }],
    [403, 'an origin the project does not allow', { kind: 'drop', why: 'HTTP 403 SB_CORS_ORIGIN_DENIED: bad', status: 403 }],
    [415, 'a content type the server does not read', { kind: 'drop', why: 'HTTP 415 SB_BODY_UNSUPPORTED_TYPE: bad', status: 415 }],
    [413, 'too large: halve the batch', { kind: 'halve' }],
    [408, 'request timeout: retried', { kind: 'retry', delayMs: 3000, why: 'HTTP 408 SB_X: bad', status: 408 }],
    [429, 'rate limited: retried after Retry-After', { kind: 'retry', delayMs: 3000, why: 'HTTP 429 SB_RATE_LIMITED: bad', status: 429 }],
    [500, 'server error: retried', { kind: 'retry', delayMs: 3000, why: 'HTTP 500 SB_INTERNAL: bad', status: 500 }],
    [502, 'bad gateway: retried', { kind: 'retry', delayMs: 3000, why: 'HTTP 502 SB_X: bad', status: 502 }],
    [503, 'overloaded: retried after Retry-After', { kind: 'retry', delayMs: 3000, why: 'HTTP 503 SB_OVERLOADED: bad', status: 503 }],
  ])('%i (%s)', (status, _, expected) => {
    const codes: Record<number, string> = { 400: 'SB_BODY_UNREADABLE', 401: 'SB_AUTH_INVALID', 403: 'SB_CORS_ORIGIN_DENIED', 415: 'SB_BODY_UNSUPPORTED_TYPE', 413: 'SB_BODY_TOO_LARGE', 429: 'SB_RATE_LIMITED', 500: 'SB_INTERNAL', 503: 'SB_OVERLOADED' };
    expect(classifyAnswer({ status, retryAfter: '3', body: error(codes[status] ?? 'SB_X', 'bad') }, NOW)).toEqual(expected);
  });

  it('retries without a delay when there is no Retry-After, and says so when the body is not JSON', () => {
    expect(classifyAnswer({ status: 503, retryAfter: null, body: undefined }, NOW)).toEqual({ kind: 'retry', delayMs: undefined, why: 'HTTP 503', status: 503 });
  });

  it('reads a 202, its rejected events and which of them may be resent', () => {
    const body = {
      accepted: 2,
      rejected: [
        { index: 1, errors: ['event: required'] },
        { index: 3, errors: ['not stored: Redis did not answer'], retriable: true },
        { index: 'x', errors: [] },
        null,
      ],
    };
    expect(classifyAnswer({ status: 202, retryAfter: null, body }, NOW)).toEqual({
      kind: 'delivered',
      rejected: [
        { index: 1, errors: ['event: required'], retriable: false },
        { index: 3, errors: ['not stored: Redis did not answer'], retriable: true },
      ],
    });
    expect(classifyAnswer({ status: 202, retryAfter: null, body: 'odd' }, NOW)).toEqual({ kind: 'delivered', rejected: [] });
  });

  it('retries a network failure, naming it', () => {
    expect(classifyFailure(new TypeError('fetch failed'))).toEqual({ kind: 'retry', delayMs: undefined, why: 'network error: fetch failed', status: undefined });
    expect(describeAnswer({ status: 401, retryAfter: null, body: error('SB_AUTH_INVALID', 'the key is unknown') })).toBe('HTTP 401 SB_AUTH_INVALID: the key is unknown');
  });
});
