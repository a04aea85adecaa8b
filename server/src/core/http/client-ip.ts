import type { IncomingHttpHeaders } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { familyOf, normaliseIp } from './ip-address.ts';
import type { TrustProxy } from './trust-proxy.ts';

/** What the resolver reads of a request (a plain object in unit tests). */
export interface RequestOrigin {
  headers: IncomingHttpHeaders;
  socket: { remoteAddress?: string | undefined };
}

/** Whether the hop at `index` (0 = the socket's peer, 1 = the last X-Forwarded-For entry, …) is our proxy. */
type IsTrustedHop = (address: string, index: number) => boolean;

function trustedHop(trust: TrustProxy): IsTrustedHop {
  if (trust.kind === 'hops') return (_address, index) => index < trust.hops;
  const proxies = new BlockList();
  for (const cidr of trust.cidrs) {
    const [network = '', prefix] = cidr.split('/');
    proxies.addSubnet(network, Number(prefix), isIP(network) === 4 ? 'ipv4' : 'ipv6');
  }
  return (address) => proxies.check(address, familyOf(address));
}

/** X-Forwarded-For entries from the right; several headers count as one list, in order. */
function forwardedRightToLeft(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  return (Array.isArray(header) ? header.join(',') : header).split(',').reverse();
}

/**
 * The caller's address. Each proxy appends to X-Forwarded-For the address it was reached
 * from, so only the entries our own proxies wrote can be believed; whatever is left of them
 * the client wrote itself. The walk therefore starts at the socket's peer and moves left
 * while the hop is a trusted proxy (the first `hops` ones, or those inside the trusted
 * CIDRs); the first hop that is not is the client. An entry that is not an IP address ends
 * the walk at the socket's peer: it is not logged, and cannot name a rate-limit bucket.
 */
export function createClientIpResolver(trust: TrustProxy): (req: RequestOrigin) => string {
  const isTrusted = trustedHop(trust);
  const trustsNobody = trust.kind === 'hops' && trust.hops === 0;
  return function clientIp(req) {
    const peer = req.socket.remoteAddress;
    const socketAddress = peer === undefined ? undefined : normaliseIp(peer);
    if (socketAddress === undefined) return peer ?? 'unknown';
    if (trustsNobody) return socketAddress;
    const entries = forwardedRightToLeft(req.headers['x-forwarded-for']);
    let client = socketAddress;
    for (let index = 0; index < entries.length && isTrusted(client, index); index++) {
      const next = normaliseIp(entries[index] ?? '');
      if (next === undefined) return socketAddress;
      client = next;
    }
    return client;
  };
}
