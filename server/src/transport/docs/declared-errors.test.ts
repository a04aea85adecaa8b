import { readFileSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ErrorCode } from '@orders/shared';
import type { OpenAPIObject } from 'trpc-to-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OpenApiContract, recordRestResponses } from '../../../test/contract.ts';
import { startTestApp, type TestApp } from '../../../test/test-app.ts';
import { AppError, ERROR_TABLE } from '../../core/errors.ts';
import { runWithRequestContext } from '../../core/logging/request-context.ts';
import { createRateLimiter } from '../../core/rate-limit.ts';
import { createTokenService } from '../../core/security.ts';
import { createWorkTracker } from '../../core/work-tracker.ts';
import { createMailer } from '../../core/mail/mailer.ts';
import { createCursorCodec } from '../../services/orders/cursor.ts';
import { createPaymentGateway } from '../../services/payment-gateway/index.ts';
import { t } from '../../api/init.ts';
import type { Access, ProcedureMeta } from '../../api/meta.ts';
import { appRouter } from '../../api/router.ts';
import { protectedProcedure, publicProcedure, router } from '../../api/trpc.ts';
import { route } from '../../api/versioning.ts';
import { createNativeRestHandler } from '../rest/native-handler.ts';
import { openApiProceduresOf } from '../rest/openapi-procedures.ts';
import { createOpenApiDocument } from './openapi.ts';

const committed = JSON.parse(
  readFileSync(new URL('../../../../openapi.json', import.meta.url), 'utf8'),
) as OpenAPIObject;

interface DocumentedOperation {
  security?: unknown;
  responses: Record<string, { content: { 'application/json': { schema: { allOf: unknown[] } } } }>;
}

/** The operation `operationId` names in `document`. */
function operationOf(document: OpenAPIObject, operationId: string): DocumentedOperation {
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item)) {
      const candidate = operation as { operationId?: string } | undefined;
      if (candidate?.operationId === operationId) return candidate as DocumentedOperation;
    }
  }
  throw new Error(`no operation ${operationId}`);
}

/** The codes `operation` documents at `status`. */
function documentedCodes(operation: DocumentedOperation, status: number): ErrorCode[] {
  const schema = operation.responses[String(status)]?.content['application/json'].schema;
  const narrowed = schema?.allOf[1] as { properties: { code: { enum: ErrorCode[] } } } | undefined;
  return narrowed?.properties.code.enum ?? [];
}

/** What each rung of the procedure ladder makes an operation ask for, and refuse with. */
const BY_ACCESS: Record<Access, { security: unknown[]; refusals: ErrorCode[] }> = {
  anyone: { security: [], refusals: [] },
  viewer: { security: [{}, { bearerAuth: [] }], refusals: ['UNAUTHORIZED'] },
  user: { security: [{ bearerAuth: [] }], refusals: ['UNAUTHORIZED'] },
  admin: { security: [{ bearerAuth: [] }], refusals: ['UNAUTHORIZED', 'FORBIDDEN'] },
};

describe('what a procedure declares in its meta', () => {
  it('is what openapi.json documents: each declared code at its status, and its access', () => {
    const procedures = openApiProceduresOf(appRouter);
    expect(procedures.length).toBeGreaterThan(30);
    for (const { path, procedure, openapi } of procedures) {
      const { access, errors } = procedure._def.meta as ProcedureMeta;
      const operation = operationOf(committed, openapi.operationId ?? path);
      const expected = BY_ACCESS[access ?? 'anyone'];
      for (const code of [...(errors ?? []), ...expected.refusals]) {
        expect(documentedCodes(operation, ERROR_TABLE[code].status), `${path} ${code}`).toContain(code);
      }
      expect(operation.security, path).toEqual(expected.security);
    }
  });

  it('must name the access: a procedure built outside the procedure ladder has no document', () => {
    const outside = router({
      ping: t.procedure
        .meta(route('v1', { method: 'GET', path: '/ping', operationId: 'ping', errors: [] }))
        .input(z.strictObject({}))
        .output(z.object({ ok: z.boolean() }))
        .query(() => ({ ok: true })),
    });
    expect(() => createOpenApiDocument(outside, 'test')).toThrow('OpenAPI: ping declares no access');
  });
});

describe('an error a procedure answers but does not declare', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(() => app.close());

  /** A router of one procedure that refuses every call with ORDER_NOT_FOUND, declaring `errors`. */
  function refusingRouter(errors: ErrorCode[]) {
    return router({
      peek: publicProcedure
        .meta(route('v1', { method: 'GET', path: '/peek', operationId: 'peek', tags: ['orders'], errors }))
        .input(z.strictObject({}))
        .output(z.object({ ok: z.boolean() }))
        .query((): { ok: boolean } => {
          throw new AppError('ORDER_NOT_FOUND', 'No order with id ord_01JD4X8ZQ0M3V6N2T9K7W5A1BC');
        }),
      mine: protectedProcedure
        .meta(route('v1', { method: 'GET', path: '/mine', operationId: 'mine', tags: ['orders'], errors: [] }))
        .input(z.strictObject({}))
        .output(z.object({ ok: z.boolean() }))
        .query(() => ({ ok: true })),
    });
  }

  /** The REST answers of `GET /api/v1/peek` and `/api/v1/mine`, checked against the document generated from `errors`. */
  async function callRefusing(errors: ErrorCode[]) {
    const refusing = refusingRouter(errors);
    const { config } = app;
    const rest = createNativeRestHandler({
      db: app.database.db,
      logger: app.logger,
      config,
      tokens: createTokenService(config.jwt),
      rateLimiter: createRateLimiter(app.database.db, { windowSeconds: config.rateLimit.windowSeconds }),
      gateway: createPaymentGateway(config.paymentGateway),
      cursors: createCursorCodec(config.jwt.secret),
      work: createWorkTracker(),
      mailer: createMailer({ config: config.mail, logger: app.logger, work: createWorkTracker() }),
      appRouter: refusing,
      basePath: '/api',
    });
    const handler: RequestListener = (req, res) => {
      const context = { request_id: 'req-peek', method: 'GET', path: '/', ip: '127.0.0.1', user_id: null, role: null };
      res.setHeader('X-Request-Id', context.request_id);
      void runWithRequestContext(context, () => rest(req, res));
    };
    const contract = new OpenApiContract(createOpenApiDocument(refusing, 'test'));
    const recorder = recordRestResponses(handler, () => contract);
    const server = createServer(recorder.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      for (const path of ['peek', 'mine']) {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/${path}`);
        await res.text();
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    return recorder;
  }

  it('passes the contract check when declared, with the refusals of the access', async () => {
    const recorder = await callRefusing(['ORDER_NOT_FOUND']);
    expect(recorder.responses.map(({ path, status }) => [path, status])).toEqual([
      ['/api/v1/peek', 404],
      ['/api/v1/mine', 401],
    ]);
    expect(() => recorder.verify()).not.toThrow();
  });

  it('fails the contract check when not declared', async () => {
    const recorder = await callRefusing([]);
    expect(() => recorder.verify()).toThrow(
      /1 of 2 REST responses[^\n]*:\n- GET \/v1\/peek -> 404: status 404 is not documented/,
    );
  });

  it('fails it too when another code of the same status is declared', async () => {
    const recorder = await callRefusing(['PRODUCT_NOT_FOUND']);
    expect(() => recorder.verify()).toThrow(/GET \/v1\/peek -> 404: .*must be equal to one of the allowed values/);
  });
});
