import { BlockList, isIP } from 'node:net';

/**
 * Where alert webhooks may go. A project admin key chooses the URL, so by default no
 * webhook reaches this machine, its network or a cloud metadata service: loopback,
 * private, link-local (169.254.169.254 among them), shared (CGNAT), unspecified,
 * multicast and reserved addresses are refused, checked on every address a host name
 * resolves to when the delivery connects (DNS may change after the rule was saved), and
 * redirects are never followed. WEBHOOK_ALLOWED_DESTINATIONS names the host names and
 * ranges an operator wants reachable anyway (an internal alert relay).
 */

/** Refused ranges, by the name a refusal gives. */
const REFUSED: ReadonlyArray<readonly [reason: string, ranges: ReadonlyArray<readonly [network: string, prefix: number, family: 'ipv4' | 'ipv6']>]> = [
  ['loopback', [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]],
  ['private', [['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['fc00::', 7, 'ipv6']]],
  ['link-local', [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]],
  ['shared (CGNAT)', [['100.64.0.0', 10, 'ipv4']]],
  ['unspecified', [['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']]],
  ['multicast', [['224.0.0.0', 4, 'ipv4'], ['ff00::', 8, 'ipv6']]],
  ['reserved', [['240.0.0.0', 4, 'ipv4'], ['192.0.0.0', 24, 'ipv4'], ['198.18.0.0', 15, 'ipv4'], ['192.0.2.0', 24, 'ipv4'], ['198.51.100.0', 24, 'ipv4'], ['203.0.113.0', 24, 'ipv4'], ['2001:db8::', 32, 'ipv6'], ['64:ff9b:1::', 48, 'ipv6']]],
  // IPv6 forms that carry an IPv4 address (which may be any of the above) or reach a site's own network.
  ['IPv4-translating (NAT64, 6to4, Teredo, IPv4-compatible)', [['64:ff9b::', 96, 'ipv6'], ['2002::', 16, 'ipv6'], ['2001::', 32, 'ipv6'], ['::', 96, 'ipv6']]],
  ['site-local', [['fec0::', 10, 'ipv6']]],
];

const REFUSED_LISTS = REFUSED.map(([reason, ranges]) => {
  const list = new BlockList();
  for (const [network, prefix, family] of ranges) list.addSubnet(network, prefix, family);
  return [reason, list] as const;
});

/** `::ffff:127.0.0.1` is 127.0.0.1: judged as the IPv4 address it carries. */
function normalize(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return { address: mapped[1]!, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

export class DestinationPolicy {
  private constructor(
    private readonly hosts: ReadonlySet<string>,
    private readonly ranges: BlockList,
  ) {}

  /** From WEBHOOK_ALLOWED_DESTINATIONS: comma-separated host names, addresses and CIDR ranges. Throws naming a bad entry. */
  static parse(setting: string): DestinationPolicy {
    const hosts = new Set<string>();
    const ranges = new BlockList();
    for (const raw of setting.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [network, prefix] = raw.split('/');
      const family = isIP(network!);
      if (family !== 0) {
        const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
        if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) throw new Error(`${raw}: not a valid CIDR range`);
        ranges.addSubnet(network!, bits, family === 4 ? 'ipv4' : 'ipv6');
      } else if (prefix === undefined && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(raw)) {
        hosts.add(raw.toLowerCase());
      } else throw new Error(`${raw}: not a host name, an address or a CIDR range`);
    }
    return new DestinationPolicy(hosts, ranges);
  }

  /**
   * Why a webhook may not connect to `address` (reached for `host`, without IPv6
   * brackets), or undefined when it may. The reason is kept on the delivery, which read
   * keys list: for a host name it never says which address it resolved to (that would
   * let anyone with a read key map the internal network through DNS).
   */
  refusal(host: string, address: string): string | undefined {
    if (this.hosts.has(host.toLowerCase())) return undefined;
    const { address: ip, family } = normalize(address);
    if (this.ranges.check(ip, family)) return undefined;
    for (const [reason, list] of REFUSED_LISTS) {
      if (list.check(ip, family)) return `${host} ${ip === host ? 'is' : 'resolves to'} a ${reason} address (refused unless WEBHOOK_ALLOWED_DESTINATIONS names it)`;
    }
    return undefined;
  }

  /** For a URL about to be saved: refuses a literal address or `localhost` that no delivery could reach. */
  urlRefusal(url: string): string | undefined {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) return this.refusal(host, host);
    if (host.toLowerCase() === 'localhost' || host.toLowerCase().endsWith('.localhost')) return this.refusal(host, '127.0.0.1');
    return undefined;
  }
}
