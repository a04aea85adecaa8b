import { isIP } from 'node:net';

/**
 * Which proxies in front of the service may say who the client is (`TRUST_PROXY`): a number
 * of hops (the proxies every request passes, counted from the service), or the proxies'
 * CIDRs. `{ kind: 'hops', hops: 0 }` trusts nobody.
 */
export type TrustProxy = { kind: 'hops'; hops: number } | { kind: 'cidrs'; cidrs: string[] };

const MAX_HOPS = 32;
const NO_PROXY = ['false', 'no', '0'];
// Before counts and CIDRs existed, `true` meant "behind a proxy": one hop is what that has
// always needed, and anything more trusting would let a client's own entries through.
const ONE_PROXY = ['true', 'yes'];

const EXPECTED =
  'must be a number of proxies (e.g. 1), false, or a comma-separated list of proxy CIDRs like 10.0.0.0/8,::1/128';

/** `10.0.0.0/8` as it was written, `10.0.0.1` as `10.0.0.1/32`, or undefined when it is neither. */
function toCidr(entry: string): string | undefined {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0 || address.includes('%')) return undefined;
  const maxPrefix = family === 4 ? 32 : 128;
  if (prefix === undefined) return `${address}/${maxPrefix}`;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > maxPrefix) return undefined;
  return `${address}/${Number(prefix)}`;
}

/** Reads `TRUST_PROXY`; the result is a problem to report when the text is none of its forms. */
export function parseTrustProxy(text: string): TrustProxy | { problem: string } {
  const value = text.trim().toLowerCase();
  if (NO_PROXY.includes(value)) return { kind: 'hops', hops: 0 };
  if (ONE_PROXY.includes(value)) return { kind: 'hops', hops: 1 };
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return hops <= MAX_HOPS ? { kind: 'hops', hops } : { problem: `must be at most ${MAX_HOPS} proxies` };
  }
  const entries = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const cidrs: string[] = [];
  for (const entry of entries) {
    const cidr = toCidr(entry);
    if (cidr === undefined) return { problem: `${EXPECTED}; ${JSON.stringify(entry)} is not a CIDR` };
    cidrs.push(cidr);
  }
  return cidrs.length > 0 ? { kind: 'cidrs', cidrs } : { problem: EXPECTED };
}
