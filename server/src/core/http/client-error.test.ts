import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../../../test/fixture.ts';
import { accessLine, waitForLines } from '../../../test/http-client.ts';
import type { LogLine } from '../../../test/log-capture.ts';
import { answerTo, requestHead, type RawAnswer } from '../../../test/raw-socket.ts';

/**
 * Requests node's HTTP server refuses: a request line or headers that do not parse (400),
 * headers over 16 KiB (431), a request not whole within the request timeout (408). Each is
 * answered in the error envelope with its request id, and gets its `http_request` line.
 */

const REQUEST_TIMEOUT_MS = 1_000;

/** The answer's envelope, checked to carry the id its X-Request-Id header names. */
function envelopeOf(answer: RawAnswer): { code: string; message: string; request_id: string } {
  const envelope = JSON.parse(answer.body) as { code: string; message: string; request_id: string };
  expect(answer.headers['x-request-id']).toBe(envelope.request_id);
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(answer.headers.connection).toBe('close');
  return envelope;
}

/** An access line of a request refused before its headers parsed: bounded, anonymous, from this machine. */
function expectRefusedLine(line: LogLine, expected: { status: number; method: string; path: string }): void {
  expect(line).toMatchObject({ level: 'INFO', event: 'http_request', ip: '127.0.0.1', user_id: null, ...expected });
  expect(line.latency_ms).toEqual(expect.any(Number));
  expect(JSON.stringify(line).length).toBeLessThan(1_000);
}

describe.each(['native', 'official'])('HTTP_ADAPTER=%s', (adapter) => {
  const { app } = useTestApp({ env: { HTTP_ADAPTER: adapter }, requestTimeoutMs: REQUEST_TIMEOUT_MS });

  describe('requests refused before their headers parsed', () => {
    it('answers a header line that does not parse 400 BAD_REQUEST, and logs its method and path', async () => {
      const answer = await answerTo(
        app.url,
        'GET /api/v1/products?limit=5 HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n',
      );
      expect(answer.status).toBe(400);
      const envelope = envelopeOf(answer);
      expect(envelope).toMatchObject({ code: 'BAD_REQUEST', message: 'Malformed HTTP request' });
      const line = await accessLine(app.logs, envelope.request_id);
      expectRefusedLine(line, { status: 400, method: 'GET', path: '/api/v1/products' });
    });

    it('answers a request line that does not parse 400, logging an unknown method and path as "-"', async () => {
      const answer = await answerTo(app.url, `${'\u00ff'.repeat(50)}\r\n\r\n`);
      expect(answer.status).toBe(400);
      const line = await accessLine(app.logs, envelopeOf(answer).request_id);
      expectRefusedLine(line, { status: 400, method: '-', path: '-' });
    });

    it('answers headers over 16 KiB 431, logging the path without its query', async () => {
      const request = `GET /trpc/v1.products.list?input=%7B%7D HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
      const answer = await answerTo(app.url, request);
      expect(answer.status).toBe(431);
      const envelope = envelopeOf(answer);
      expect(envelope.message).toBe('Request headers (the URL included) are larger than the limit');
      const line = await accessLine(app.logs, envelope.request_id);
      expectRefusedLine(line, { status: 431, method: 'GET', path: '/trpc/v1.products.list' });
    });

    it('answers a URL over 16 KiB 431, logging its path cut short', async () => {
      const answer = await answerTo(app.url, `GET /api/${'p'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(answer.status).toBe(431);
      const line = await accessLine(app.logs, envelopeOf(answer).request_id);
      expectRefusedLine(line, { status: 431, method: 'GET', path: `/api/${'p'.repeat(195)}…` });
    });

    it('answers headers that do not arrive within the request timeout 408 REQUEST_TIMEOUT', async () => {
      const started = performance.now();
      const answer = await answerTo(app.url, 'GET /api/v1/products HTTP/1.1\r\nHost: x\r\n');
      expect(performance.now() - started).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
      expect(answer.status).toBe(408);
      const envelope = envelopeOf(answer);
      expect(envelope).toMatchObject({ code: 'REQUEST_TIMEOUT', message: 'The request did not arrive whole in time' });
      const line = await accessLine(app.logs, envelope.request_id);
      expectRefusedLine(line, { status: 408, method: '-', path: '-' });
      expect(line.latency_ms as number).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    });
  });

  describe('a body that does not arrive within the request timeout', () => {
    it.each([
      { protocol: 'trpc', path: '/trpc/v1.auth.register' },
      { protocol: 'rest', path: '/api/v1/auth/register' },
    ])('$path: 408 REQUEST_TIMEOUT through the app, in its request context, nothing done', async (route) => {
      const email = `slow-${adapter}-${route.protocol}@example.com`;
      const body = JSON.stringify({ email, password: 'slow-body-password-0123', name: 'Slow' });
      const requestId = `slow-body-${adapter}-${route.protocol}`;
      const head = requestHead({ path: route.path, contentLength: Buffer.byteLength(body), requestId });

      const answer = await answerTo(app.url, head + body.slice(0, 20));
      expect(answer.status).toBe(408);
      expect(envelopeOf(answer)).toEqual({
        code: 'REQUEST_TIMEOUT',
        message: 'The request did not arrive whole in time',
        request_id: requestId,
      });
      const access = await accessLine(app.logs, requestId);
      expect(access).toMatchObject({ level: 'INFO', status: 408, method: 'POST', path: route.path, ip: '127.0.0.1' });

      // The body's reader ends with the refusal: a procedure that was reading it says so, and nothing fails.
      if (adapter === 'native' && route.protocol === 'trpc') {
        const [call] = await waitForLines(app.logs, { event: 'procedure_call', filter: { request_id: requestId } });
        expect(call).toMatchObject({ level: 'WARN', ok: false, code: 'REQUEST_TIMEOUT', status: 408 });
      }
      await sleep(200);
      expect(app.logs.lines.filter((line) => line.level === 'ERROR')).toEqual([]);
      const created = await app.database.db.selectFrom('users').select('id').where('email', '=', email).execute();
      expect(created).toEqual([]);
    });
  });
});
