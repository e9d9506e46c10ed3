import { createHmac, timingSafeEqual } from 'node:crypto';

/** How webhook bodies are signed, and how a receiver checks them (docs/realtime.md#alerts). Pure. */

/** Receivers should refuse older (or newer) timestamps: a captured request cannot be replayed later. */
const DEFAULT_TOLERANCE_SECONDS = 300;

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`: the timestamp is signed too, so it cannot be swapped for a fresh one. */
export function signWebhookBody(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * For receivers: whether `header` (x-signalboard-signature) signs this raw body and
 * timestamp (x-signalboard-timestamp, unix seconds) with `secret`, and the timestamp
 * is within `toleranceSeconds` of `now` (ms). Compares in constant time.
 */
export function verifyWebhookSignature(
  secret: string,
  timestamp: string,
  body: string,
  header: string | undefined,
  { toleranceSeconds = DEFAULT_TOLERANCE_SECONDS, now = Date.now() }: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  if (header === undefined || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(now / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhookBody(secret, timestamp, body));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
