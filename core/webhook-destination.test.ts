import { describe, expect, it } from 'vitest';
import { DestinationPolicy } from './webhook-destination.js';

describe('DestinationPolicy', () => {
  const none = DestinationPolicy.parse('');

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['64:ff9b::7f00:1', 'IPv4-translating (NAT64, 6to4, Teredo, IPv4-compatible)'],
    ['2002:7f00:1::1', 'IPv4-translating (NAT64, 6to4, Teredo, IPv4-compatible)'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'IPv4-translating (NAT64, 6to4, Teredo, IPv4-compatible)'],
    ['::7f00:1', 'IPv4-translating (NAT64, 6to4, Teredo, IPv4-compatible)'],
    ['fec0::1', 'site-local'],
  ])('refuses %s (%s), never saying which address a name resolved to', (address, reason) => {
    expect(none.refusal('hooks.example', address)).toBe(`hooks.example resolves to a ${reason} address (refused unless WEBHOOK_ALLOWED_DESTINATIONS names it)`);
    expect(none.refusal('hooks.example', address)).not.toContain(address.replace('::ffff:', ''));
    expect(none.urlRefusal(`http://${address.includes(':') && !address.startsWith('::ffff') ? `[${address}]` : address.replace('::ffff:', '')}/x`)).toMatch(new RegExp(`is a ${reason.replace(/[()]/g, '\\$&')} address`));
  });

  it.each(['8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:1.1.1.1'])('lets %s through', (address) => {
    expect(none.refusal('hooks.example', address)).toBeUndefined();
  });

  it('lets through what the operator names: host names, addresses, ranges', () => {
    const policy = DestinationPolicy.parse(' relay.internal , 10.20.0.0/16,192.168.1.7,fd00::/8');
    expect(policy.refusal('relay.internal', '10.0.0.5')).toBeUndefined();
    expect(policy.refusal('RELAY.internal', '127.0.0.1')).toBeUndefined();
    expect(policy.refusal('other', '10.20.9.9')).toBeUndefined();
    expect(policy.refusal('other', '192.168.1.7')).toBeUndefined();
    expect(policy.refusal('other', 'fd00::5')).toBeUndefined();
    expect(policy.refusal('other', '10.21.0.1')).toMatch(/private/);
    expect(policy.refusal('other', '192.168.1.8')).toMatch(/private/);
  });

  it('refuses a URL with a forbidden address or localhost before it is saved, and leaves names to the delivery', () => {
    expect(none.urlRefusal('http://169.254.169.254/latest')).toBe('169.254.169.254 is a link-local address (refused unless WEBHOOK_ALLOWED_DESTINATIONS names it)');
    expect(none.urlRefusal('http://[::1]:8080/x')).toMatch(/^::1 is a loopback address/);
    expect(none.urlRefusal('http://localhost:18090/v1/projects')).toMatch(/^localhost resolves to a loopback address/);
    expect(none.urlRefusal('https://hooks.slack.com/services/x')).toBeUndefined();
  });

  it.each([
    ['10.0.0.0/33', '10.0.0.0/33: not a valid CIDR range'],
    ['not a host!', 'not a host!: not a host name, an address or a CIDR range'],
    ['host/8', 'host/8: not a host name, an address or a CIDR range'],
  ])('names a bad entry: %s', (setting, message) => {
    expect(() => DestinationPolicy.parse(setting)).toThrow(message);
  });
});
