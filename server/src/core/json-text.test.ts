import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonString, jsonValue } from './json-text.ts';

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

  it('leaves out what an object leaves out: undefined, functions, symbols', () => {
    expect(jsonValue(undefined)).toBeUndefined();
    expect(jsonValue(() => 1)).toBeUndefined();
    expect(jsonValue(Symbol('s'))).toBeUndefined();
  });
});
