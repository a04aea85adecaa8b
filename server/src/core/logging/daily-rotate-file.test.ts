import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthSession } from '@orders/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import DailyRotateFile from 'winston-daily-rotate-file';
import { callApi, registerUser, SecretLedger, type ApiResponse, type TestUser } from '../../../test/api-client.ts';
import { accessLine } from '../../../test/http-client.ts';
import { createLogSink } from '../../../test/log-audit/records.ts';
import { createOrder } from '../../../test/orders-api.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { startTestApp, type TestApp } from '../../../test/test-app.ts';

let app: TestApp;
let folder: string;
const secrets = new SecretLedger();
let alice: TestUser;

beforeAll(async () => {
  app = await startTestApp();
  folder = await mkdtemp(join(tmpdir(), 'orders-rotate-'));
  alice = await registerUser(app, { secrets, label: 'alice' });
});

afterAll(async () => {
  await app.close();
  await rm(folder, { recursive: true, force: true });
});

/** The raw lines of one request, in the order they were written. */
function requestLines(text: string, requestId: string | null): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && (JSON.parse(line) as { request_id?: string }).request_id === requestId);
}

/** What the rotating files hold, once the transport has been taken off the logger and has closed them. */
async function closeAndRead(rotate: DailyRotateFile): Promise<string> {
  const closed = once(rotate, 'finish');
  app.logger.winston.remove(rotate);
  await closed;
  const files = (await readdir(folder)).filter((name) => !name.startsWith('.')).sort();
  expect(files).toHaveLength(1);
  const texts = await Promise.all(files.map((name) => readFile(join(folder, name), 'utf8')));
  return texts.join('');
}

describe('a stock winston transport configured beside stdout (daily rotating files)', () => {
  it("receives every line of a request, as stdout has it, with the request's context and no secret", async () => {
    const [productId] = await insertProducts(app.database.db, [{ price_amount: 700, stock: 5 }]);
    const rotate = new DailyRotateFile({ dirname: folder, filename: 'orders-%DATE%.log', maxFiles: '14d' });
    app.logger.winston.add(rotate);

    const login = await callApi<AuthSession>(app.url, 'auth.login', {
      protocol: 'rest',
      input: { email: alice.email, password: alice.password },
    });
    expect(login.status).toBe(200);
    secrets.addSession(login.data);
    const order = await createOrder(app, {
      protocol: 'rest',
      token: login.data.accessToken,
      items: [{ productId: productId ?? '', quantity: 1 }],
    });
    expect(order.status, JSON.stringify(order.body)).toBe(200);
    const requests: ApiResponse[] = [login, order];
    for (const res of requests) await accessLine(app.logs, res.requestId);
    await app.logger.flush();
    const rotated = await closeAndRead(rotate);
    const audit = createLogSink();
    audit.write(rotated);
    audit.end();

    for (const res of requests) {
      expect(requestLines(rotated, res.requestId)).toEqual(requestLines(app.logs.text, res.requestId));
    }
    const orderLines = requestLines(rotated, order.requestId).map(
      (line) => JSON.parse(line) as Record<string, unknown>,
    );
    const context = { request_id: order.requestId, method: 'POST', path: '/api/v1/orders/create', ip: '127.0.0.1' };
    for (const line of orderLines) expect(line).toMatchObject(context);
    const user = { user_id: alice.id, role: 'customer' };
    const byEvent = (event: string) => orderLines.filter((line) => line.event === event);
    expect(byEvent('auth_success')).toEqual([expect.objectContaining({ level: 'INFO', ...context, ...user })]);
    expect(byEvent('procedure_call')).toEqual([
      expect.objectContaining({ ...context, ...user, procedure: 'v1.orders.create', ok: true, code: null }),
    ]);
    expect(byEvent('db_transaction').map((line) => [line.name, line.outcome, line.user_id])).toEqual([
      ['create_order', 'commit', alice.id],
      ['record_payment', 'commit', alice.id],
    ]);
    expect(byEvent('http_request')).toEqual([expect.objectContaining({ ...context, ...user, status: 200 })]);
    expect(byEvent('db_query').length).toBeGreaterThan(0);
    expect(requestLines(rotated, login.requestId).map((line) => (JSON.parse(line) as { event: string }).event)).toEqual(
      expect.arrayContaining(['auth_success', 'procedure_call', 'http_request']),
    );
    secrets.expectNoneIn(rotated);
  });
});
