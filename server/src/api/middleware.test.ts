import { randomUUID } from 'node:crypto';
import { UNSTORABLE_TEXT_MESSAGE } from '@orders/shared';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { waitForLines } from '../../test/http-client.ts';
import { capturedLogger, testConfig } from '../../test/test-app.ts';
import { createTestDatabase, type TestDatabase } from '../../test/test-database.ts';
import type { DatabaseHandle } from '../core/db/database.ts';
import { startHttpServer, type RunningServer } from '../core/http/server.ts';
import type { LogCapture } from '../../test/log-capture.ts';
import { createRateLimiter } from '../core/rate-limit.ts';
import { runWithRequestContext } from '../core/logging/request-context.ts';
import { createTokenService } from '../core/security.ts';
import { createWorkTracker } from '../core/work-tracker.ts';
import { createMailer } from '../core/mail/mailer.ts';
import { createCursorCodec } from '../services/orders/index.ts';
import { createPaymentGateway } from '../services/payment-gateway/index.ts';
import { createContextFactory } from './context.ts';
import { publicProcedure, router } from './trpc.ts';

/**
 * The backstop behind the input schemas: text PostgreSQL refuses to store (SQLSTATE 22021,
 * 22P05) is the client's mistake, a 400 VALIDATION_FAILED, not a 500. Every procedure's schema
 * refuses such text first, so a procedure made for this test sends its input to the database
 * unchecked, through the real middleware and error formatter, over HTTP.
 */

const uncheckedRouter = router({
  store: publicProcedure
    .input(z.strictObject({ text: z.string(), as: z.enum(['text', 'jsonb']) }))
    .mutation(async ({ ctx, input }) => {
      await (input.as === 'text'
        ? sql`select ${input.text}::text as stored`.execute(ctx.db)
        : sql`select ${input.text}::jsonb as stored`.execute(ctx.db));
      return { ok: true };
    }),
});

let testDatabase: TestDatabase;
let database: DatabaseHandle;
let server: RunningServer;
let logs: LogCapture;

beforeAll(async () => {
  const config = testConfig();
  const captured = capturedLogger(config);
  logs = captured.logs;
  const logger = captured.logger;
  testDatabase = await createTestDatabase();
  database = await testDatabase.open(logger, { logQueries: false });
  const createContext = createContextFactory({
    db: database.db,
    logger,
    config,
    tokens: createTokenService(config.jwt),
    rateLimiter: createRateLimiter(database.db, { windowSeconds: config.rateLimit.windowSeconds }),
    gateway: createPaymentGateway(config.paymentGateway),
    cursors: createCursorCodec(config.jwt.secret),
    work: createWorkTracker(),
    mailer: createMailer({ config: config.mail, logger: logger, work: createWorkTracker() }),
  });
  const trpc = createHTTPHandler({ router: uncheckedRouter, basePath: '/trpc/', createContext });
  server = await startHttpServer(
    (req, res) => {
      const context = {
        request_id: randomUUID(),
        method: 'POST',
        path: '/trpc',
        ip: '127.0.0.1',
        user_id: null,
        role: null,
      };
      res.setHeader('X-Request-Id', context.request_id);
      runWithRequestContext(context, () => trpc(req, res));
    },
    { host: '127.0.0.1', port: 0, shutdownTimeoutMs: 2_000, logger },
  );
});

afterAll(async () => {
  await server?.stop();
  await database?.close();
  await testDatabase?.drop();
});

describe('text the database refuses to store', () => {
  it.each([
    ['NUL in text (22021)', { text: 'a\u0000b', as: 'text' }],
    ['a \\u0000 escape in JSON (22P05)', { text: '{"note":"\\u0000"}', as: 'jsonb' }],
  ])('%s is a 400 VALIDATION_FAILED that says why, logged as a refusal', async (_name, input) => {
    const res = await fetch(`${server.url}/trpc/store`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    const body = (await res.json()) as { error: { data: Record<string, unknown> } };
    const requestId = res.headers.get('x-request-id');
    expect(res.status).toBe(400);
    expect(body.error.data).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: `Invalid input: text ${UNSTORABLE_TEXT_MESSAGE}`,
      request_id: requestId,
      httpStatus: 400,
    });
    const [line] = await waitForLines(logs, { event: 'procedure_call', filter: { request_id: requestId } });
    expect(line).toMatchObject({ level: 'WARN', code: 'VALIDATION_FAILED', status: 400, ok: false });
    expect(logs.events('unhandled_exception', { request_id: requestId })).toEqual([]);
  });
});
