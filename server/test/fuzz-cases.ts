import fc from 'fast-check';
import type { Protocol } from './api-client.ts';
import { fieldsOf, validValue, type Fixtures, type HttpMethod, type Operation } from './fuzz-operations.ts';

/**
 * What the fuzzer sends (server/src/api/fuzz.test.ts): every operation of openapi.json, and
 * for each, inputs of four kinds:
 *
 * - `unknown_key`: some of the operation's fields with adversarial values, and always one key
 *   the strict input schemas do not know (invalid by construction);
 * - `long_key`: the same with a 10-100 KB unknown key of text shaped to make a pattern
 *   backtrack (`eyJ`, `Bearer `, `$argon2` repeated): zod names it in its message, which is
 *   answered and logged;
 * - `hostile_text`: a valid input (examples of openapi.json, real ids) with one text field
 *   holding a code point PostgreSQL cannot store (NUL, an unpaired surrogate): only that
 *   field is wrong, so a server that lets it through answers 2xx or 500;
 * - `long_path`: a path parameter of 10 KB of such pattern text (REST; the request path is
 *   logged and redacted).
 */

export type CaseKind = 'unknown_key' | 'long_key' | 'hostile_text' | 'long_path';
export const CASE_KINDS: readonly CaseKind[] = ['unknown_key', 'long_key', 'hostile_text', 'long_path'];

// ---------------------------------------------------------------------------------------
// Adversarial values

const HUGE = 'x'.repeat(100 * 1024);
/**
 * Depth-5000 arrays and objects are placeholders in the generated values and spliced in as
 * text when the input is serialised (`toJson`): JSON.stringify and fast-check's printer are
 * recursive and would overflow the test's own stack on them.
 */
export const DEEP: Record<string, string> = {
  '\u0000deep-array\u0000': `${'['.repeat(5_000)}1${']'.repeat(5_000)}`,
  '\u0000deep-object\u0000': `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`,
};

export function toJson(value: unknown): string {
  let text = JSON.stringify(value) ?? 'null';
  for (const [placeholder, deep] of Object.entries(DEEP)) text = text.replaceAll(JSON.stringify(placeholder), deep);
  return text;
}

const nastyString = fc.constantFrom(
  '',
  ' ',
  HUGE,
  "' OR 1=1 --",
  '; drop table orders',
  "prd_1'; delete from products; --",
  '\n{"level":"FATAL","event":"forged"}',
  '\r\nX-Injected: 1',
  '\uD800',
  'a\uDFFFb',
  '\u202Eevil\u202C',
  '\u05E9\u05DC\u05D5\u05DD',
  'zero\u200Bwidth\uFEFF',
  '\u0000',
  '__proto__',
  'constructor',
  'prototype',
  'NaN',
  'Infinity',
  '-0',
  '1e308',
  '9007199254740993',
  'true',
  'null',
  '../../etc/passwd',
  '%00%2e%2e',
  'prd_',
  'ord_' + 'A'.repeat(41),
  'pm_card_visa',
  '{}',
  '[]',
);

const nastyNumber = fc.constantFrom(1e308, -1e308, -0, 2 ** 53 + 1, -(2 ** 53 + 1), 0.5, -1, 0, 5e-324, 1_000_001);

const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: nastyString, weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  { arbitrary: nastyNumber, weight: 2 },
  { arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 2 },
  { arbitrary: fc.constantFrom(...Object.keys(DEEP)), weight: 1 },
  { arbitrary: fc.array(nastyString, { maxLength: 3 }), weight: 1 },
);

const unknownKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'unknownField', '', 'role', 'isAdmin');

/** Text that makes a careless pattern backtrack: the redaction's (JWT, credential, password hash) among them. */
export const PATTERN_SHAPES = ['eyJ', 'eyJa.', 'eyJ-', 'Bearer ', 'Basic\t', '$argon2', '$2b$', 'bearer'] as const;

export function patternText(shape: string, length: number): string {
  return shape.repeat(Math.ceil(length / shape.length)).slice(0, length);
}

/**
 * A long unknown key. A GET carries its input in the URL, which Node caps at 16 KiB of
 * headers: 10 KB there (a longer one is refused before the app, which is no test of it).
 */
function longKey(method: HttpMethod): fc.Arbitrary<string> {
  const lengths = method === 'GET' ? [10_000] : [10_000, 50_000, 100_000];
  return fc
    .tuple(fc.constantFrom(...PATTERN_SHAPES), fc.constantFrom(...lengths))
    .map(([shape, length]) => patternText(shape, length));
}

/** An input object: some of the operation's own fields with bad values, and always one unknown key. */
function inputFor(fields: readonly string[], key: fc.Arbitrary<string>): fc.Arbitrary<Record<string, unknown>> {
  const field = fields.length > 0 ? fc.constantFrom(...fields) : fc.constant('unused');
  return fc
    .tuple(fc.array(fc.tuple(field, nastyValue), { maxLength: 4 }), key, nastyValue)
    .map(([entries, extra, extraValue]) =>
      // Object.fromEntries defines own properties, so `__proto__` is sent as a key.
      Object.fromEntries([...(fields.length > 0 ? entries : []), [extra, extraValue]]),
    );
}

// ---------------------------------------------------------------------------------------
// Valid inputs with one text PostgreSQL cannot store

/** Where a text sits in a case: a path parameter, or a dotted path in the input (`items.0.productId`). */
interface TextSpot {
  in: 'path' | 'input';
  at: string;
}

function textSpots(value: unknown, at: string[] = []): string[] {
  if (typeof value === 'string') return [at.join('.')];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => textSpots(child, [...at, key]));
}

/** NUL and unpaired surrogates, and where they go in the valid text. */
const UNSTORABLE = ['\u0000', '\u0000\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\udc00\ud800'];
const PLACES = ['start', 'middle', 'end', 'whole'] as const;

function placed(value: string, text: string, place: (typeof PLACES)[number]): string {
  const middle = Math.floor(value.length / 2);
  if (place === 'start') return `${text}${value}`;
  if (place === 'end') return `${value}${text}`;
  if (place === 'middle') return `${value.slice(0, middle)}${text}${value.slice(middle)}`;
  return text;
}

function setAt(target: Record<string, unknown>, at: string, value: string): void {
  const keys = at.split('.');
  const last = keys.pop() as string;
  const parent = keys.reduce<Record<string, unknown>>((object, key) => object[key] as Record<string, unknown>, target);
  parent[last] = value;
}

// ---------------------------------------------------------------------------------------
// Cases

export interface FuzzCase {
  kind: CaseKind;
  input: unknown;
  path: Record<string, string>;
  headers: Record<string, string | undefined>;
}

function headersFor(operation: Operation): fc.Arbitrary<Record<string, string | undefined>> {
  return fc.record(
    Object.fromEntries(
      operation.headerParams.map((name) => [
        name,
        fc.constantFrom('', ' ', 'k'.repeat(300), "' OR 1=1 --", 'ok-key-1', '\t'),
      ]),
    ),
    { requiredKeys: [] },
  );
}

const pathValue = fc.oneof(nastyString, fc.string({ unit: 'binary', maxLength: 30 }));

function invalidCase(operation: Operation, kind: 'unknown_key' | 'long_key'): fc.Arbitrary<FuzzCase> {
  const key = kind === 'long_key' ? longKey(operation.method) : unknownKey;
  return fc.record({
    kind: fc.constant(kind),
    // Mostly an object with an unknown key; sometimes any JSON value at all.
    input:
      kind === 'long_key'
        ? inputFor(fieldsOf(operation), key)
        : fc.oneof(
            { arbitrary: inputFor(fieldsOf(operation), key), weight: 5 },
            { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
          ),
    path: fc.record(Object.fromEntries(Object.keys(operation.pathParams).map((name) => [name, pathValue]))),
    headers: headersFor(operation),
  });
}

/**
 * A valid input with one text made unstorable. Over REST a GET's fields and every path
 * parameter travel in the URL, which carries UTF-8: an unpaired surrogate would arrive as
 * U+FFFD, a valid character, so there only NUL (`%00`) is sent.
 */
function hostileTextCase(
  operation: Operation,
  { protocol, fixtures }: { protocol: Protocol; fixtures: Fixtures },
): fc.Arbitrary<FuzzCase> | undefined {
  const path = Object.fromEntries(
    Object.entries(operation.pathParams).map(([name, schema]) => [name, String(validValue(name, schema, fixtures))]),
  );
  const fields = { ...operation.queryParams, ...operation.body };
  const input = Object.fromEntries(
    Object.entries(fields).map(([name, schema]) => [name, validValue(name, schema, fixtures)]),
  );
  const spots: TextSpot[] = [
    ...Object.keys(path).map((at) => ({ in: 'path' as const, at })),
    ...textSpots(input).map((at) => ({ in: 'input' as const, at })),
  ];
  if (spots.length === 0) return undefined;
  const inUrl = (spot: TextSpot) => protocol === 'rest' && (spot.in === 'path' || operation.method === 'GET');
  return fc
    .tuple(fc.constantFrom(...spots), fc.constantFrom(...UNSTORABLE), fc.constantFrom(...PLACES))
    .map(([spot, text, place]) => {
      const sent = inUrl(spot) ? '\u0000' : text;
      const fuzz: FuzzCase = { kind: 'hostile_text', input: structuredClone(input), path: { ...path }, headers: {} };
      if (spot.in === 'path') fuzz.path[spot.at] = placed(path[spot.at] ?? '', sent, place);
      else setAt(fuzz.input as Record<string, unknown>, spot.at, placed(readAt(input, spot.at), sent, place));
      return fuzz;
    });
}

function readAt(input: Record<string, unknown>, at: string): string {
  const value = at.split('.').reduce<unknown>((object, key) => (object as Record<string, unknown>)[key], input);
  return String(value);
}

/** A REST operation's path parameter as 10 KB of pattern text (refused, but logged as the request's path). */
function longPathCase(operation: Operation): fc.Arbitrary<FuzzCase> | undefined {
  const names = Object.keys(operation.pathParams);
  if (names.length === 0) return undefined;
  return fc.constantFrom(...PATTERN_SHAPES).map((shape) => ({
    kind: 'long_path' as const,
    input: {},
    path: Object.fromEntries(names.map((name) => [name, patternText(shape, 10_000)])),
    headers: {},
  }));
}

/** The cases of one operation over one protocol, each kind where it applies to it. */
export function caseFor(
  operation: Operation,
  { protocol, fixtures }: { protocol: Protocol; fixtures: Fixtures },
): fc.Arbitrary<FuzzCase> {
  const hostile = hostileTextCase(operation, { protocol, fixtures });
  const longPath = protocol === 'rest' ? longPathCase(operation) : undefined;
  const kinds: fc.WeightedArbitrary<FuzzCase>[] = [
    { arbitrary: invalidCase(operation, 'unknown_key'), weight: 5 },
    { arbitrary: invalidCase(operation, 'long_key'), weight: 1 },
    ...(hostile ? [{ arbitrary: hostile, weight: 4 }] : []),
    ...(longPath ? [{ arbitrary: longPath, weight: 1 }] : []),
  ];
  // fast-check prints a counterexample recursively: show a bounded preview of it instead.
  return fc.oneof(...kinds).map((fuzz) => Object.assign(fuzz, { [fc.toStringMethod]: () => preview(fuzz) }));
}

export function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 400 ? `${text.slice(0, 400)}… (${text.length} chars)` : text;
}
