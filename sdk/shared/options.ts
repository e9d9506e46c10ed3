/**
 * Checks of the options both SDKs take, at construction: a bad one throws a TypeError
 * naming it and what it must be; nothing throws later.
 */

import type { DeliveryError } from './delivery-error.js';

/** The options both SDKs take (each states its defaults: docs/sdk.md). */
export interface DeliveryOptions {
  /** The project's write key (sbw_…). */
  writeKey: string;
  /** The server's base URL, e.g. "https://sb.example.com". */
  endpoint: string;
  /** Send as soon as this many events wait. */
  flushAt?: number;
  /** Send at most this many milliseconds after an event was queued. */
  flushInterval?: number;
  /** Retries of a batch that got 408, 429, 5xx or a network error before its events are dropped. */
  maxRetries?: number;
  /** Past this many queued events the oldest is dropped. */
  maxQueueSize?: number;
  /** Events given up on, and calls that could not be queued. Never thrown. */
  onError?: (error: DeliveryError | TypeError) => void;
}

/** The given options as a record; an option this SDK does not know is a TypeError (typos surface). */
export function optionsRecord(given: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof given !== 'object' || given === null) throw new TypeError('options must be an object with at least writeKey and endpoint');
  for (const name of Object.keys(given)) {
    if (!allowed.includes(name)) throw new TypeError(`unknown option "${name}" (allowed: ${allowed.join(', ')})`);
  }
  return given as Record<string, unknown>;
}

export function writeKeyOption(value: unknown): string {
  if (typeof value !== 'string' || !/^\S+$/.test(value)) throw new TypeError("writeKey must be the project's write key (sbw_…), a non-empty string without spaces");
  return value;
}

/** The server's base URL, without a trailing slash. */
export function endpointOption(value: unknown): string {
  if (typeof value !== 'string' || !/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(value)) {
    throw new TypeError(`endpoint must be the Signalboard server's base URL, such as "https://sb.example.com", got ${JSON.stringify(value)}`);
  }
  return value.replace(/\/+$/, '');
}

/** A whole number in [min, max] (max may be Infinity, and then Infinity is allowed), or `fallback` when absent. */
export function wholeOption(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(Number.isInteger(value) || value === Infinity) || value < min || value > max) {
    throw new TypeError(`${name} must be a whole number from ${min} to ${max}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
  }
  return value;
}

export function booleanOption(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

export function functionOption<F>(value: unknown, name: string): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function`);
  return value as F;
}
