import { describe, expect, it } from 'vitest';
import { truncateIp } from './ip-address.js';

describe('truncateIp keeps the network, never the host', () => {
  it.each([
    ['IPv4', '203.0.113.77', '203.0.113.0'],
    ['IPv4 loopback', '127.0.0.1', '127.0.0.0'],
    ['IPv4-mapped IPv6 as uWS reports IPv4 peers', '0000:0000:0000:0000:0000:ffff:cb00:714d', '203.0.113.0'],
    ['IPv4-mapped IPv6, dotted', '::ffff:203.0.113.77', '203.0.113.0'],
    ['IPv6 to its /48', '2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
    ['compressed IPv6', '2001:db8::1', '2001:db8:0::'],
    ['IPv6 loopback', '::1', '0:0:0::'],
  ])('%s', (_case, input, expected) => {
    expect(truncateIp(input)).toBe(expected);
  });

  it.each(['', 'localhost', '999.1.1.1', '1.2.3', 'not-an-ip'])('drops %j', (input) => {
    expect(truncateIp(input)).toBeUndefined();
  });
});
