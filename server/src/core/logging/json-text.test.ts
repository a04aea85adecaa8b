import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonNumber, jsonString, jsonValue } from './json-text.ts';

/** What a log line's value looks like: scalars of every kind, and the odd object. */
const lineValue = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.string(),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constantFrom(null, undefined, Number.NaN, Number.POSITIVE_INFINITY, -0, 1e21, 0.1 + 0.2, 5e-7),
  fc.jsonValue(),
);

describe('jsonValue', () => {
  it('writes what JSON.stringify writes, for any value a line holds', () => {
    fc.assert(
      fc.property(lineValue, (value) => {
        expect(jsonValue(value)).toBe(JSON.stringify(value));
      }),
      { numRuns: 5_000 },
    );
  });

  it('escapes quotes, backslashes, control characters and lone surrogates as JSON.stringify does', () => {
    for (const text of [
      'say "hi"',
      'C:\\temp',
      'a\nb\tc\u0000',
      '\u001f',
      'lone \ud800 half',
      'pair 😀',
      'é ü ß',
      '',
    ]) {
      expect(jsonString(text)).toBe(JSON.stringify(text));
      expect(JSON.parse(jsonString(text))).toBe(text);
    }
  });

  it('writes numbers in hundredths (the logged durations) and every other number as JSON.stringify does', () => {
    const hundredths = fc.integer({ min: -(2 ** 32), max: 2 ** 32 }).map((count) => count / 100);
    const nearHundredths = fc.tuple(hundredths, fc.constantFrom(1e-9, -1e-12, 0.001, 0.005)).map(([a, b]) => a + b);
    fc.assert(
      fc.property(fc.oneof(hundredths, nearHundredths, fc.double(), fc.integer()), (value) => {
        expect(jsonNumber(value)).toBe(JSON.stringify(value));
      }),
      { numRuns: 20_000 },
    );
    for (const value of [
      0, -0, 0.01, 0.07, 0.1, 0.5, 1.05, 1.5, 2, 10.1, 99.99, -0.07, -12.3, 21474836.47, 21474836.48,
    ]) {
      expect(jsonNumber(value)).toBe(JSON.stringify(value));
    }
  });

  it('leaves out what an object leaves out: undefined, functions, symbols', () => {
    expect(jsonValue(undefined)).toBeUndefined();
    expect(jsonValue(() => 1)).toBeUndefined();
    expect(jsonValue(Symbol('s'))).toBeUndefined();
  });
});
