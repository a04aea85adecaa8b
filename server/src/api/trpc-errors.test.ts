import { ERROR_CODES } from '@orders/shared';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import { appErrorOf, toTrpcError } from './trpc-errors.ts';

const options = { exposeInternalMessage: false };

describe('the tRPC side of the error table', () => {
  it('sends each code as a tRPC code whose HTTP status is the code own', () => {
    for (const code of ERROR_CODES) {
      const error = new AppError(code, 'refused');
      expect(getHTTPStatusCodeFromError(toTrpcError(error)), code).toBe(error.status);
    }
  });

  it('answers a thrown AppError as it is, and makes the one a tRPC error stands for once', () => {
    const thrown = new AppError('ORDER_NOT_FOUND', 'No order with id ord_1');
    expect(appErrorOf(toTrpcError(thrown), options)).toBe(thrown);

    const notFound = new TRPCError({ code: 'NOT_FOUND', message: 'No procedure found on path "v1.nowhere"' });
    const failure = appErrorOf(notFound, options);
    expect(failure).toMatchObject({ code: 'NOT_FOUND', status: 404, message: notFound.message });
    expect(appErrorOf(notFound, options)).toBe(failure);
  });

  it('names bad input VALIDATION_FAILED with its issues, and JSON that does not parse MALFORMED_JSON', () => {
    const zodError = z.object({ limit: z.number().max(100) }).safeParse({ limit: 500 }).error;
    const invalid = appErrorOf(new TRPCError({ code: 'BAD_REQUEST', cause: zodError }), options);
    expect(invalid.code).toBe('VALIDATION_FAILED');
    expect(invalid.envelope.issues?.map(({ path, code }) => ({ path, code }))).toEqual([
      { path: 'limit', code: 'too_big' },
    ]);
    const malformed = new TRPCError({ code: 'BAD_REQUEST', message: 'Unexpected token', cause: new SyntaxError('x') });
    expect(appErrorOf(malformed, options)).toMatchObject({ code: 'MALFORMED_JSON', message: 'Unexpected token' });
  });

  it('tells an unexpected failure only to a developer on their machine', () => {
    const crash = () => new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'relation "products" does not exist' });
    expect(appErrorOf(crash(), options).message).toBe('Internal server error');
    expect(appErrorOf(crash(), { exposeInternalMessage: true }).message).toBe(
      'Internal error: relation "products" does not exist',
    );
  });
});
