import { TRPCError } from '@trpc/server';
import { expect } from 'vitest';
import { createContextInner, type Context } from '../src/api/context.ts';
import { appRouter } from '../src/api/router.ts';
import { createCallerFactory } from '../src/api/trpc.ts';
import { AppError } from '../src/core/errors.ts';
import { createRateLimiter } from '../src/core/rate-limit.ts';
import { createTokenService } from '../src/core/security.ts';
import { createWorkTracker } from '../src/core/work-tracker.ts';
import { createMailer } from '../src/core/mail/mailer.ts';
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
    mailer: createMailer({ config: config.mail, logger: app.logger, work: createWorkTracker() }),
    requestId,
    ip: '127.0.0.1',
    req: { headers },
  });
}

const createAppCaller = createCallerFactory(appRouter);

/**
 * Every procedure of the app, called without HTTP, as the holder of `token` (anonymous without
 * one); `requestId` names the calls in the log lines they write.
 *
 * @example
 * const product = await testCaller(app, { token: admin.accessToken }).v1.products.create(input);
 */
export function testCaller(app: TestApp, { token, requestId }: { token?: string; requestId?: string } = {}) {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  return createAppCaller(testContext(app, { headers, ...(requestId === undefined ? {} : { requestId }) }));
}

/** The AppError a call was refused with (the cause of the TRPCError a caller throws). */
export async function refusalOf(call: Promise<unknown>): Promise<AppError> {
  const error = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TRPCError);
  const cause = (error as TRPCError).cause;
  expect(cause).toBeInstanceOf(AppError);
  return cause as AppError;
}
