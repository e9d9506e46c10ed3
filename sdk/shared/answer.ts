import type { Answer } from './http.js';
import { parseRetryAfter } from './retry-after.js';

/** One event of a 202 the server did not take; `retriable` ones are to be resent with the same eventId. */
export interface Rejection {
  index: number;
  errors: string[];
  retriable: boolean;
}

/** What to do with a batch after an answer (or a network failure). */
export type Outcome =
  | { kind: 'delivered'; rejected: Rejection[] }
  | { kind: 'retry'; delayMs: number | undefined; why: string; status: number | undefined }
  | { kind: 'halve' }
  | { kind: 'drop'; why: string; status: number };

/** A field of a JSON value that may be anything. */
const field = (value: unknown, name: string): unknown => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined);

function rejectionsOf(body: unknown): Rejection[] {
  const list = field(body, 'rejected');
  if (!Array.isArray(list)) return [];
  return list
    .filter((r) => Number.isInteger(field(r, 'index')))
    .map((r: { index: number; errors?: unknown; retriable?: unknown }) => ({ index: r.index, errors: Array.isArray(r.errors) ? r.errors.map(String) : [], retriable: r.retriable === true }));
}

/** "401 SB_AUTH_INVALID: the key is unknown", from the server's error body when it has one. */
export function describeAnswer(answer: Answer): string {
  const error = field(answer.body, 'error');
  return error === undefined ? `HTTP ${answer.status}` : `HTTP ${answer.status} ${String(field(error, 'code'))}: ${String(field(error, 'message'))}`;
}

/**
 * 2xx delivered; 413 halves the batch; 408, 429 and 5xx are retried (honouring
 * Retry-After); every other status is dropped: a bad key or a bad batch never gets better.
 * A network failure is `classifyFailure`'s.
 */
export function classifyAnswer(answer: Answer, nowMs: number): Outcome {
  const { status } = answer;
  if (status >= 200 && status < 300) return { kind: 'delivered', rejected: rejectionsOf(answer.body) };
  if (status === 413) return { kind: 'halve' };
  if (status === 408 || status === 429 || status >= 500) return { kind: 'retry', delayMs: parseRetryAfter(answer.retryAfter, nowMs), why: describeAnswer(answer), status };
  return { kind: 'drop', why: describeAnswer(answer), status };
}

export function classifyFailure(error: unknown): Outcome {
  return { kind: 'retry', delayMs: undefined, why: `network error: ${error instanceof Error ? error.message : String(error)}`, status: undefined };
}
