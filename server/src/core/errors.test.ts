import { ERROR_CODES } from '@orders/shared';
import { describe, expect, it } from 'vitest';
import { AppError, ERROR_TABLE } from './errors.ts';
import { runWithRequestContext, type RequestContext } from './logging/request-context.ts';

const context = (requestId: string): RequestContext => ({
  request_id: requestId,
  method: 'GET',
  path: '/api/v1/auth/me',
  ip: '127.0.0.1',
  user_id: null,
  role: null,
});

describe('an AppError carries its whole answer', () => {
  it('answers at the status its code names, for every code', () => {
    for (const code of ERROR_CODES) expect(new AppError(code, 'refused').status, code).toBe(ERROR_TABLE[code].status);
  });

  it('builds its envelope once, with the id of the request it answers', () => {
    const error = new AppError('UNAUTHORIZED', 'Authentication failed: Expired Token', { reason: 'Expired Token' });
    const envelope = runWithRequestContext(context('req-1'), () => error.envelope);
    expect(envelope).toEqual({
      code: 'UNAUTHORIZED',
      message: 'Authentication failed: Expired Token',
      request_id: 'req-1',
      reason: 'Expired Token',
    });
    expect(runWithRequestContext(context('req-2'), () => error.envelope)).toBe(envelope);
    expect(new AppError('INTERNAL', 'Internal server error').envelope).toEqual({
      code: 'INTERNAL',
      message: 'Internal server error',
      request_id: 'none',
    });
  });

  it('lists the fields a validation failure names, after the request id', () => {
    const issues = [{ path: 'limit', message: 'Too big: expected number to be <=100', code: 'too_big' }];
    const envelope = new AppError('VALIDATION_FAILED', 'Invalid input', { issues }).envelope;
    expect(Object.keys(envelope)).toEqual(['code', 'message', 'request_id', 'issues']);
    expect(envelope.issues).toEqual(issues);
  });

  it('challenges the caller on every 401, naming a refused token; a header it was thrown with wins', () => {
    expect(new AppError('INVALID_CREDENTIALS', 'Email or password is wrong').headers).toEqual({
      'WWW-Authenticate': 'Bearer realm="orders-service"',
    });
    expect(new AppError('UNAUTHORIZED', 'refused', { reason: 'Expired Token' }).headers).toEqual({
      'WWW-Authenticate': 'Bearer realm="orders-service", error="invalid_token", error_description="Expired Token"',
    });
    expect(new AppError('UNAUTHORIZED', 'refused', { headers: { 'WWW-Authenticate': 'Basic' } }).headers).toEqual({
      'WWW-Authenticate': 'Basic',
    });
    expect(new AppError('RATE_LIMITED', 'slow down', { headers: { 'Retry-After': '42' } }).headers).toEqual({
      'Retry-After': '42',
    });
    expect(new AppError('ORDER_NOT_FOUND', 'No order').headers).toEqual({});
  });
});
