import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../../../test/http-client.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { startTestApp, type TestApp } from '../../../test/test-app.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});

afterAll(() => app.close());

describe('HEAD on REST', () => {
  it('answers as the GET would, without the body', async () => {
    const [productId] = await insertProducts(app.database.db, [{ name: 'Head mug' }]);
    for (const path of ['/api/v1/products', `/api/v2/products/${productId ?? ''}`]) {
      const head = await rawRequest(app.url, { method: 'HEAD', path });
      const get = await rawRequest(app.url, { method: 'GET', path });
      expect(head.status, path).toBe(200);
      expect(get.status, path).toBe(200);
      expect(head.body, path).toBe('');
      expect(head.headers['content-type'], path).toBe(get.headers['content-type']);
      expect(head.headers['x-request-id'], path).toEqual(expect.any(String));
    }
  });

  it('refuses as the GET would: unknown routes, missing resources and missing tokens', async () => {
    const cases = [
      { path: '/api/v1/nowhere', status: 404 },
      { path: '/api/v1/products/prd_DOESNOTEXIST', status: 404 },
      { path: '/api/v1/products?limit=101', status: 400 },
      { path: '/api/v1/auth/me', status: 401 },
    ];
    for (const { path, status } of cases) {
      const head = await rawRequest(app.url, { method: 'HEAD', path });
      expect(head.status, path).toBe(status);
      expect(head.body, path).toBe('');
    }
    const me = await rawRequest(app.url, { method: 'HEAD', path: '/api/v1/auth/me' });
    expect(me.headers['www-authenticate']).toBe('Bearer realm="orders-service"');
  });
});
