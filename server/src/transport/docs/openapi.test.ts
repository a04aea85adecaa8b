import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import SwaggerParser from '@apidevtools/swagger-parser';
import { ERROR_CODES, type ErrorCode } from '@orders/shared';
import type { OpenAPIObject } from 'trpc-to-openapi';
import { describe, expect, it } from 'vitest';
import packageJson from '../../../package.json' with { type: 'json' };
import { ERROR_TABLE } from '../../core/errors.ts';
import { createOpenApiDocument } from './openapi.ts';
import { appRouter } from '../../api/router.ts';

const ROOT = new URL('../../../../', import.meta.url);
const DOCUMENT_PATH = new URL('openapi.json', ROOT).pathname;

const committed = JSON.parse(readFileSync(DOCUMENT_PATH, 'utf8')) as OpenAPIObject;

interface ErrorResponse {
  description: string;
  headers: Record<string, { $ref: string }>;
  content: {
    'application/json': { schema: { allOf: [{ $ref: string }, { properties: { code: { enum: ErrorCode[] } } }] } };
  };
}

interface OperationView {
  operationId: string;
  method: string;
  path: string;
  security: Record<string, string[]>[] | undefined;
  deprecated: boolean | undefined;
  tags: string[];
  responses: Record<string, unknown>;
  /** The error responses by status, with the codes each one allows. */
  errors: Map<number, { response: ErrorResponse; codes: ErrorCode[] }>;
}

function operationsOf(document: OpenAPIObject): OperationView[] {
  return Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    (['get', 'put', 'post', 'delete', 'patch'] as const).flatMap((method) => {
      const operation = item[method];
      if (!operation) return [];
      const responses = (operation.responses ?? {}) as Record<string, unknown>;
      const errors = new Map(
        Object.entries(responses)
          .filter(([status]) => Number(status) >= 400)
          .map(([status, response]) => {
            const error = response as ErrorResponse;
            return [
              Number(status),
              { response: error, codes: error.content['application/json'].schema.allOf[1].properties.code.enum },
            ];
          }),
      );
      return [
        {
          operationId: operation.operationId ?? '',
          method,
          path,
          security: operation.security,
          deprecated: operation.deprecated,
          tags: operation.tags ?? [],
          responses,
          errors,
        },
      ];
    }),
  );
}

const operations = operationsOf(committed);
const byId = (operationId: string) => {
  const operation = operations.find((candidate) => candidate.operationId === operationId);
  if (!operation) throw new Error(`no operation ${operationId}`);
  return operation;
};
const statusesOf = (operationId: string) => [...byId(operationId).errors.keys()];

describe('the committed openapi.json', () => {
  it('is what the router generates', () => {
    const generated = `${JSON.stringify(createOpenApiDocument(appRouter, packageJson.version), null, 2)}\n`;
    expect(generated === readFileSync(DOCUMENT_PATH, 'utf8'), 'openapi.json is stale: run `pnpm openapi`').toBe(true);
  });

  it('is a valid OpenAPI document for swagger-parser', async () => {
    const api = await SwaggerParser.validate(DOCUMENT_PATH);
    expect(api.info.title).toBe('orders-service');
  });

  it('passes Redocly lint with its recommended rules, without an error', async () => {
    const run = promisify(execFile);
    const { stdout, stderr } = await run('pnpm', ['--silent', 'openapi:lint'], {
      cwd: ROOT.pathname,
      env: { ...process.env, NO_COLOR: '1' },
    }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`redocly lint failed:\n${error.stdout ?? ''}\n${error.stderr ?? error.message}`);
    });
    expect(`${stdout}\n${stderr}`).toContain('Your API description is valid');
  }, 120_000);

  it('describes every operation: 400 and 500 everywhere, each error status pointing at the Error envelope and naming its codes', () => {
    expect(operations.length).toBeGreaterThan(30);
    for (const operation of operations) {
      expect(operation.responses, operation.operationId).toHaveProperty('200');
      expect([...operation.errors.keys()], operation.operationId).toEqual(expect.arrayContaining([400, 500, 503]));
      for (const [status, { response, codes }] of operation.errors) {
        const label = `${operation.operationId} ${status}`;
        expect(response.content['application/json'].schema.allOf[0].$ref, label).toBe('#/components/schemas/Error');
        expect(codes.length, label).toBeGreaterThan(0);
        for (const code of codes) {
          expect(ERROR_TABLE[code].status, `${label} ${code}`).toBe(status);
          expect(response.description, label).toContain(`\`${code}\``);
        }
        expect(response.headers['X-Request-Id'], label).toBeDefined();
      }
    }
  });

  it('gives each operation the statuses its access and its services can answer', () => {
    for (const id of ['auth.register', 'auth.login', 'auth.refresh', 'auth.logout']) {
      expect(byId(`v1.${id}`).security, id).toEqual([]);
      expect(statusesOf(`v1.${id}`), id).not.toContain(403);
    }
    expect(statusesOf('v1.auth.register')).toEqual([400, 408, 409, 413, 415, 429, 500, 503]);
    expect(statusesOf('v1.auth.login')).toEqual([400, 401, 408, 413, 415, 429, 500, 503]);
    expect(statusesOf('v1.auth.refresh')).toContain(429);
    expect(statusesOf('v1.auth.logout')).not.toContain(429);
    for (const id of ['auth.verifyEmail', 'auth.requestPasswordReset', 'auth.resetPassword']) {
      expect(byId(`v1.${id}`).security, id).toEqual([]);
      expect(statusesOf(`v1.${id}`), id).toContain(429);
    }
    expect(byId('v1.auth.resetPassword').errors.get(400)?.codes).toContain('INVALID_TOKEN');
    for (const id of ['auth.resendVerification', 'auth.changeEmail']) {
      expect(byId(`v2.${id}`).security, id).toEqual([{ bearerAuth: [] }]);
    }

    // Viewer operations take an optional token, and refuse a bad one.
    for (const id of ['v1.products.list', 'v1.products.get']) {
      expect(byId(id).security, id).toEqual([{}, { bearerAuth: [] }]);
      expect(statusesOf(id), id).toContain(401);
      expect(statusesOf(id), id).not.toContain(403);
    }
    expect(statusesOf('v1.products.get')).toContain(404);

    for (const id of ['v1.users.list', 'v1.users.get', 'v1.users.update', 'v1.products.create', 'v1.products.update']) {
      expect(byId(id).security, id).toEqual([{ bearerAuth: [] }]);
      expect(statusesOf(id), id).toEqual(expect.arrayContaining([401, 403]));
    }
    for (const id of ['v1.auth.me', 'v1.orders.pay', 'v1.orders.get', 'v2.orders.list']) {
      expect(statusesOf(id), id).toContain(401);
      expect(statusesOf(id), id).not.toContain(403);
    }

    // Its one 403 is an unverified email (REQUIRE_VERIFIED_EMAIL), not a role.
    expect(statusesOf('v1.orders.create')).toEqual([400, 401, 402, 403, 404, 408, 409, 413, 415, 422, 500, 502, 503]);
    expect(byId('v1.orders.create').errors.get(403)?.codes).toEqual(['EMAIL_NOT_VERIFIED']);
    expect(byId('v1.orders.create').errors.get(402)?.codes).toEqual(['PAYMENT_DECLINED']);
    expect(byId('v1.orders.create').errors.get(422)?.codes).toEqual(['CURRENCY_MISMATCH', 'ORDER_TOTAL_TOO_LARGE']);
    expect(statusesOf('v1.orders.pay')).toEqual([400, 401, 402, 404, 408, 409, 413, 415, 500, 502, 503]);
    expect(byId('v1.orders.pay').errors.get(409)?.codes).toContain('INVALID_STATE_TRANSITION');
    expect(byId('v1.orders.cancel').errors.get(409)?.codes).toEqual(['INVALID_STATE_TRANSITION']);
    expect(byId('v2.orders.list').errors.get(400)?.codes).toContain('INVALID_CURSOR');
    expect(byId('v1.orders.list').errors.get(400)?.codes).not.toContain('INVALID_CURSOR');

    // Only bodies can be too large, malformed, of the wrong type or late.
    for (const operation of operations) {
      const body = ['post', 'patch'].includes(operation.method);
      expect(operation.errors.has(408), operation.operationId).toBe(body);
      expect(operation.errors.has(413), operation.operationId).toBe(body);
      expect(operation.errors.has(415), operation.operationId).toBe(body);
    }
  });

  it('marks v1.orders.list deprecated, and nothing else', () => {
    expect(operations.filter((operation) => operation.deprecated).map((operation) => operation.operationId)).toEqual([
      'v1.orders.list',
    ]);
  });

  it('has a JWT bearer scheme, tags with descriptions, examples for every code it uses, and no unused schema', () => {
    const schemes = committed.components?.securitySchemes ?? {};
    expect(Object.keys(schemes)).toEqual(['bearerAuth']);
    expect(schemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    const tags = committed.tags ?? [];
    expect(tags.map((tag) => tag.name).sort()).toEqual(['auth', 'orders', 'products', 'system', 'users']);
    for (const tag of tags) expect(tag.description, tag.name).toEqual(expect.any(String));
    for (const operation of operations)
      expect(
        tags.map((tag) => tag.name),
        operation.operationId,
      ).toEqual(expect.arrayContaining(operation.tags));

    const used = new Set(
      operations.flatMap((operation) => [...operation.errors.values()].flatMap(({ codes }) => codes)),
    );
    expect(Object.keys(committed.components?.examples ?? {}).sort()).toEqual(
      ERROR_CODES.filter((code) => used.has(code)).sort(),
    );
    expect(Object.keys(committed.components?.schemas ?? {})).not.toContain('ValidationIssueOutput');
  });
});
