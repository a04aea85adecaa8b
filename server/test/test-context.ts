import { createContextInner, type Context } from '../src/api/context.ts';
import { createRateLimiter } from '../src/core/rate-limit.ts';
import { createTokenService } from '../src/core/security.ts';
import { createWorkTracker } from '../src/core/work-tracker.ts';
import { createCursorCodec } from '../src/services/orders/cursor.ts';
import { createPaymentGateway } from '../src/services/payment-gateway/index.ts';
import type { TestApp } from './test-app.ts';

/**
 * The context a request sending `headers` gets, over the test app's own database, logger and
 * configuration, for calling procedures through `createCaller` without HTTP.
 *
 * @example
 * const me = await appRouter.createCaller(testContext(app, { headers: { authorization: `Bearer ${token}` } })).v1.auth.me();
 */
export function testContext(
  app: TestApp,
  { headers = {}, requestId = 'req-test' }: { headers?: Record<string, string>; requestId?: string } = {},
): Context {
  const { config } = app;
  return createContextInner({
    db: app.database.db,
    logger: app.logger,
    config,
    tokens: createTokenService(config.jwt),
    rateLimiter: createRateLimiter(app.database.db, { windowSeconds: config.rateLimit.windowSeconds }),
    gateway: createPaymentGateway(config.paymentGateway),
    cursors: createCursorCodec(config.jwt.secret),
    work: createWorkTracker(),
    requestId,
    ip: '127.0.0.1',
    req: { headers },
  });
}
