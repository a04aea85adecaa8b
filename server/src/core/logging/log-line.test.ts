import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatLine } from './log-line.ts';
import { redact } from './redact.ts';
import type { RequestContext, Scope } from './request-context.ts';

const CONTEXT_KEYS = ['request_id', 'method', 'path', 'ip', 'user_id', 'role'] as const;

/**
 * The line as the logging contract describes it: level, timestamp, event, the context, the
 * procedure, then the redacted fields in their own order; a field named like a context key or
 * the procedure takes that key's place, and the line's own three keys are not replaced.
 */
function expectedLine(
  { level, event, fields }: { level: string; event: string; fields: Record<string, unknown> },
  scope: Scope | undefined,
): string {
  const entries: [string, unknown][] = [];
  if (scope) {
    for (const key of CONTEXT_KEYS) entries.push([key, scope.context[key]]);
    if (scope.procedure !== undefined) entries.push(['procedure', scope.procedure]);
  }
  const safe = redact(fields) as Record<string, unknown>;
  for (const key of Object.keys(safe)) {
    if (['level', 'timestamp', 'event'].includes(key)) continue;
    const place = entries.findIndex(([name]) => name === key);
    if (place >= 0) entries[place] = [key, safe[key]];
    else entries.push([key, safe[key]]);
  }
  const head = [
    ['level', level.toUpperCase()],
    ['timestamp', new Date().toISOString()],
    ['event', event],
  ];
  const written = [...head, ...entries]
    .filter(([, value]) => JSON.stringify(value) !== undefined)
    .map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`);
  return `{${written.join(',')}}`;
}

const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('v1.orders.get', 'say "hi"\n'));
const value = fc.oneof(
  text,
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constantFrom(null, undefined),
  fc.jsonValue({ maxDepth: 2 }),
);
/** Field names: ordinary ones, the context's, the procedure, the line's own, secrets, numeric. */
const key = fc.oneof(
  fc.constantFrom('status', 'latency_ms', 'duration_ms', 'ok', 'code', 'reason', 'type', '2', 'a"b'),
  fc.constantFrom(...CONTEXT_KEYS, 'procedure', 'level', 'timestamp', 'event'),
  fc.constantFrom('password', 'accessToken', 'authorization'),
  fc.string({ minLength: 1, maxLength: 8 }),
);
const context: fc.Arbitrary<RequestContext> = fc.record({
  request_id: fc.uuid(),
  method: fc.constantFrom('GET', 'POST'),
  path: text,
  ip: fc.constantFrom('127.0.0.1', '::1'),
  user_id: fc.option(text),
  role: fc.option(fc.constantFrom('customer', 'admin')),
});
const scope: fc.Arbitrary<Scope | undefined> = fc.option(
  fc.record({ context, procedure: fc.option(fc.constantFrom('v1.system.ping', 'v1.orders.get'), { nil: undefined }) }),
  { nil: undefined },
);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(Date.UTC(2026, 10, 27, 1, 2, 3, 45));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('formatLine', () => {
  it('writes the line the contract describes, byte for byte, whatever the fields and scope', () => {
    fc.assert(
      fc.property(
        fc.record({
          level: fc.constantFrom('info', 'warn', 'error'),
          event: fc.constantFrom('procedure_call', 'http_request', 'odd "event"'),
          fields: fc.dictionary(key, value, { maxKeys: 8 }),
        }),
        scope,
        (line, inScope) => {
          expect(formatLine({ ...line, time: Date.now() }, inScope)).toBe(expectedLine(line, inScope));
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('writes a field that repeats the scope’s value once, in the scope’s place', () => {
    const inScope: Scope = {
      context: { request_id: 'r1', method: 'GET', path: '/p', ip: '::1', user_id: 'u1', role: 'admin' },
      procedure: 'v1.orders.get',
    };
    const fields = { procedure: 'v1.orders.get', type: 'query', user_id: 'u1', ok: true };
    expect(formatLine({ level: 'info', event: 'procedure_call', fields, time: Date.now() }, inScope)).toBe(
      '{"level":"INFO","timestamp":"2026-11-27T01:02:03.045Z","event":"procedure_call","request_id":"r1",' +
        '"method":"GET","path":"/p","ip":"::1","user_id":"u1","role":"admin","procedure":"v1.orders.get",' +
        '"type":"query","ok":true}',
    );
  });
});
