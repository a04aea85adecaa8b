import { describe, expect, it } from 'vitest';
import { splitRequestUrl } from './request-url.ts';

describe('splitRequestUrl', () => {
  it('cuts at the first ? and keeps both parts as sent', () => {
    expect(splitRequestUrl('/api/v1/products?limit=5&q=a?b')).toEqual({
      path: '/api/v1/products',
      search: 'limit=5&q=a?b',
    });
    expect(splitRequestUrl('/trpc/v1.system.ping')).toEqual({ path: '/trpc/v1.system.ping', search: '' });
    expect(splitRequestUrl('/docs/%2e%2e/x?')).toEqual({ path: '/docs/%2e%2e/x', search: '' });
    expect(splitRequestUrl('?x=1')).toEqual({ path: '', search: 'x=1' });
  });
});
