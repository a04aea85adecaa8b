import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../../test/fixture.ts';
import { accessLine } from '../../test/http-client.ts';
import { recordSecret } from '../../test/log-audit/records.ts';
import { hangUpMidBody, requestHead } from '../../test/raw-socket.ts';

/**
 * A client that hangs up while its request body is on the way: nobody's failure. The request
 * is logged at INFO with status 499 in its own context, never as a database outage or an
 * unhandled exception, and nothing it asked for is done.
 */

const PASSWORD = 'gone-before-the-body-came-0123';
recordSecret('password', PASSWORD);

const ROUTES = [
  { protocol: 'trpc', path: '/trpc/v1.auth.register' },
  { protocol: 'rest', path: '/api/v1/auth/register' },
] as const;

describe.each(['native', 'official'])('HTTP_ADAPTER=%s: a client that hangs up mid-body', (adapter) => {
  const { app } = useTestApp({ env: { HTTP_ADAPTER: adapter } });

  const cases = ROUTES.flatMap((route) => (['close', 'reset'] as const).map((hangUp) => ({ ...route, hangUp })));

  it.each(cases)('$path, connection ended by $hangUp: 499 at INFO in the request context', async (route) => {
    const email = `gone-${adapter}-${route.protocol}-${route.hangUp}@example.com`;
    const body = JSON.stringify({ email, password: PASSWORD, name: 'Gone' });
    const requestId = `abort-${adapter}-${route.protocol}-${route.hangUp}`;
    const head = requestHead({ path: route.path, contentLength: Buffer.byteLength(body), requestId });

    await hangUpMidBody(app.url, { head, body, sentBytes: 20, hangUp: route.hangUp });

    const access = await accessLine(app.logs, requestId);
    expect(access).toMatchObject({ level: 'INFO', status: 499, method: 'POST', path: route.path, ip: '127.0.0.1' });
    // Whatever the request writes after its access line has had time to be written.
    await sleep(200);
    const lines = app.logs.forRequest(requestId);
    for (const line of lines) expect(line, JSON.stringify(line)).toMatchObject({ level: 'INFO', path: route.path });
    // The native tRPC handler was reading the body for the procedure; the other handlers read it before any procedure.
    const calls = lines.filter((line) => line.event === 'procedure_call');
    expect(calls).toHaveLength(adapter === 'native' && route.protocol === 'trpc' ? 1 : 0);
    for (const call of calls) expect(call).toMatchObject({ ok: false, code: 'CLIENT_CLOSED_REQUEST', status: 499 });
    expect(app.logs.events('unhandled_exception')).toEqual([]);
    expect(app.logs.text).not.toContain('DATABASE_UNAVAILABLE');
    expect(app.logs.lines.filter((line) => line.level === 'ERROR')).toEqual([]);

    const created = await app.database.db.selectFrom('users').select('id').where('email', '=', email).execute();
    expect(created).toEqual([]);
  });
});
