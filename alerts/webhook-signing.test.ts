import { describe, expect, it } from 'vitest';
import { signWebhookBody, verifyWebhookSignature } from './webhook-signing.js';

const SECRET = 'whsec_test';

describe('webhook signatures', () => {
  const body = '{"rule":"r1","state":"firing"}';
  const now = 1_700_000_000_000;

  it('is the hex HMAC-SHA256 of "<timestamp>.<body>" (checked against openssl dgst -sha256 -hmac)', () => {
    expect(signWebhookBody(SECRET, '1700000000', body)).toBe('sha256=6a3e5a17b631d6645f9ef61ad7021cf3d40a77e740fa3b8f18d126c72c4aac22');
  });

  it.each([
    ['the signed request', SECRET, '1700000000', body, true],
    ['a wrong secret', 'whsec_wrong', '1700000000', body, false],
    ['a changed body', SECRET, '1700000000', body.replace('firing', 'resolved'), false],
    ['another timestamp with the same signature', SECRET, '1700000001', body, false],
  ])('%s verifies: %s', (_, secret, timestamp, checkedBody, expected) => {
    const header = signWebhookBody(SECRET, '1700000000', body);
    expect(verifyWebhookSignature(secret, timestamp, checkedBody, header, { now })).toBe(expected);
  });

  it('refuses a missing or malformed header and a timestamp outside the tolerance', () => {
    const at = (seconds: number) => String(seconds);
    expect(verifyWebhookSignature(SECRET, at(1_700_000_000), body, undefined, { now })).toBe(false);
    expect(verifyWebhookSignature(SECRET, at(1_700_000_000), body, 'sha256=00', { now })).toBe(false);
    expect(verifyWebhookSignature(SECRET, 'abc', body, signWebhookBody(SECRET, 'abc', body), { now })).toBe(false);
    const old = at(1_700_000_000 - 301);
    expect(verifyWebhookSignature(SECRET, old, body, signWebhookBody(SECRET, old, body), { now })).toBe(false);
    expect(verifyWebhookSignature(SECRET, old, body, signWebhookBody(SECRET, old, body), { now, toleranceSeconds: 600 })).toBe(true);
  });
});
