import { BlockList, isIP } from 'node:net';

const IPV4_MAPPED_PREFIX = '::ffff:';

/**
 * `text` as an IP address, or undefined when it is anything else (a name, an address with a
 * port, text a client made up). An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a
 * dual-stack socket reports for an IPv4 client) becomes the IPv4 address, and IPv6 is
 * lowercased, so that one client has one spelling in rate limits and logs.
 */
export function normaliseIp(text: string): string | undefined {
  const address = text.trim();
  const family = isIP(address);
  if (family === 0) return undefined;
  if (family === 4) return address;
  const lower = address.toLowerCase();
  if (lower.startsWith(IPV4_MAPPED_PREFIX)) {
    const mapped = lower.slice(IPV4_MAPPED_PREFIX.length);
    if (isIP(mapped) === 4) return mapped;
  }
  return lower;
}

/** The family name BlockList wants for an address normaliseIp returned. */
export function familyOf(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 4 ? 'ipv4' : 'ipv6';
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether a listen address (HOST) is reachable from this machine only: 127.0.0.0/8, ::1 or
 * `localhost`. `0.0.0.0` and `::` listen on every interface, and a name may resolve anywhere.
 */
export function isLoopbackHost(host: string): boolean {
  if (host.trim().toLowerCase() === 'localhost') return true;
  const address = normaliseIp(host);
  return address !== undefined && LOOPBACK.check(address, familyOf(address));
}
