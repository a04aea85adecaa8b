import { describe, expect, it } from 'vitest';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.ts';
import { createClientIpResolver } from './client-ip.ts';

/** The resolver for `TRUST_PROXY=<setting>`, asked about one request. */
function clientIpOf(setting: string, { socket, forwardedFor }: { socket?: string; forwardedFor?: string | string[] }) {
  const trust = parseTrustProxy(setting);
  if (!('kind' in trust)) throw new Error(trust.problem);
  return createClientIpResolver(trust)({
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    socket: { remoteAddress: socket },
  });
}

const LOAD_BALANCER = '10.0.0.5';

describe('TRUST_PROXY unset (trust nobody)', () => {
  it('answers the socket address whatever X-Forwarded-For says', () => {
    for (const setting of ['false', '0', 'no']) {
      expect(clientIpOf(setting, { socket: '198.51.100.7', forwardedFor: '203.0.113.1' })).toBe('198.51.100.7');
    }
  });

  it('writes an IPv4-mapped socket address as IPv4, and answers unknown without a socket address', () => {
    expect(clientIpOf('false', { socket: '::ffff:198.51.100.7' })).toBe('198.51.100.7');
    expect(clientIpOf('false', {})).toBe('unknown');
  });
});

describe('TRUST_PROXY as a number of proxies', () => {
  it('takes the entry the one proxy appended, not the ones the client wrote to its left', () => {
    const spoofed = '1.2.3.4, 5.6.7.8, 203.0.113.9';
    expect(clientIpOf('1', { socket: LOAD_BALANCER, forwardedFor: spoofed })).toBe('203.0.113.9');
    expect(clientIpOf('1', { socket: LOAD_BALANCER, forwardedFor: '203.0.113.9' })).toBe('203.0.113.9');
  });

  it('reads true as one proxy (its meaning before counts existed)', () => {
    expect(clientIpOf('true', { socket: LOAD_BALANCER, forwardedFor: '1.2.3.4, 203.0.113.9' })).toBe('203.0.113.9');
  });

  it('skips as many hops as there are proxies', () => {
    // client -> CDN (appends the client) -> load balancer (appends the CDN) -> service
    const chain = '6.6.6.6, 203.0.113.9, 192.0.2.44';
    expect(clientIpOf('2', { socket: LOAD_BALANCER, forwardedFor: chain })).toBe('203.0.113.9');
    expect(clientIpOf('3', { socket: LOAD_BALANCER, forwardedFor: chain })).toBe('6.6.6.6');
  });

  it('answers the furthest address there is when the chain is shorter than the count', () => {
    expect(clientIpOf('3', { socket: LOAD_BALANCER, forwardedFor: '203.0.113.9' })).toBe('203.0.113.9');
    expect(clientIpOf('1', { socket: LOAD_BALANCER })).toBe(LOAD_BALANCER);
  });

  it('joins several X-Forwarded-For headers in order', () => {
    const headers = ['1.2.3.4', '203.0.113.9, 192.0.2.44'];
    expect(clientIpOf('1', { socket: LOAD_BALANCER, forwardedFor: headers })).toBe('192.0.2.44');
    expect(clientIpOf('3', { socket: LOAD_BALANCER, forwardedFor: headers })).toBe('1.2.3.4');
  });

  it('falls back to the socket address when the entry it reaches is not an IP address', () => {
    for (const garbage of [
      '<script>alert(1)</script>',
      'unknown',
      '',
      '203.0.113.9:4711',
      '[2001:db8::1]',
      '999.1.1.1',
    ]) {
      expect(clientIpOf('1', { socket: LOAD_BALANCER, forwardedFor: `198.51.100.1, ${garbage}` }), garbage).toBe(
        LOAD_BALANCER,
      );
    }
    // Garbage further left than the proxies reach is never read.
    expect(clientIpOf('1', { socket: LOAD_BALANCER, forwardedFor: 'not an ip, 203.0.113.9' })).toBe('203.0.113.9');
  });

  it('accepts IPv6 entries, lowercased, and writes IPv4-mapped ones as IPv4', () => {
    expect(clientIpOf('1', { socket: '::1', forwardedFor: '2001:DB8::42' })).toBe('2001:db8::42');
    expect(clientIpOf('1', { socket: '::1', forwardedFor: ' ::ffff:203.0.113.9 ' })).toBe('203.0.113.9');
  });
});

describe('TRUST_PROXY as proxy CIDRs', () => {
  const PROXIES = '10.0.0.0/8,127.0.0.1/32,::1/128';

  it('walks left past every trusted proxy, and stops at the first address that is not one', () => {
    const chain = '6.6.6.6, 203.0.113.9, 10.1.2.3';
    expect(clientIpOf(PROXIES, { socket: LOAD_BALANCER, forwardedFor: chain })).toBe('203.0.113.9');
  });

  it('believes no X-Forwarded-For from a peer outside the CIDRs', () => {
    expect(clientIpOf(PROXIES, { socket: '198.51.100.7', forwardedFor: '203.0.113.9' })).toBe('198.51.100.7');
  });

  it('cannot be led on by entries a client wrote, even ones inside the CIDRs', () => {
    // The client claims to be a proxy itself; the first untrusted hop from the right is the client.
    const chain = '10.9.9.9, 127.0.0.1, 198.51.100.7';
    expect(clientIpOf(PROXIES, { socket: LOAD_BALANCER, forwardedFor: chain })).toBe('198.51.100.7');
  });

  it('answers the leftmost address when every hop is a trusted proxy', () => {
    expect(clientIpOf(PROXIES, { socket: '127.0.0.1', forwardedFor: '10.0.0.7, 10.0.0.8' })).toBe('10.0.0.7');
  });

  it('matches IPv6 CIDRs and IPv4-mapped socket addresses', () => {
    expect(clientIpOf('2001:db8::/32', { socket: '2001:db8::1', forwardedFor: '2001:db9::7' })).toBe('2001:db9::7');
    expect(clientIpOf(PROXIES, { socket: '::ffff:10.0.0.5', forwardedFor: '203.0.113.9' })).toBe('203.0.113.9');
    expect(clientIpOf(PROXIES, { socket: '::1', forwardedFor: '203.0.113.9' })).toBe('203.0.113.9');
  });

  it('falls back to the socket address on an entry that is not an IP address', () => {
    const chain = '203.0.113.9, evil.example.com, 10.0.0.9';
    expect(clientIpOf(PROXIES, { socket: LOAD_BALANCER, forwardedFor: chain })).toBe(LOAD_BALANCER);
  });
});

describe('parseTrustProxy', () => {
  const cases: [string, TrustProxy][] = [
    ['false', { kind: 'hops', hops: 0 }],
    ['0', { kind: 'hops', hops: 0 }],
    ['TRUE', { kind: 'hops', hops: 1 }],
    ['1', { kind: 'hops', hops: 1 }],
    ['2', { kind: 'hops', hops: 2 }],
    ['10.0.0.0/8, 127.0.0.1', { kind: 'cidrs', cidrs: ['10.0.0.0/8', '127.0.0.1/32'] }],
    ['::1, fd00::/8,', { kind: 'cidrs', cidrs: ['::1/128', 'fd00::/8'] }],
  ];
  it.each(cases)('reads %j', (text, expected) => {
    expect(parseTrustProxy(text)).toEqual(expected);
  });

  it.each(['maybe', '10.0.0.0/33', '::1/129', '10.0.0.0/8/8', '10.0.0/8', '10.0.0.0/x', ',', '-1', '33'])(
    'refuses %j, saying what it takes',
    (text) => {
      const parsed = parseTrustProxy(text);
      expect(parsed).toEqual({ problem: expect.stringMatching(/must be/) as unknown });
    },
  );
});
