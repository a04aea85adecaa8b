/**
 * JSON text for the values a log line holds, byte for byte what `JSON.stringify` writes.
 *
 * `JSON.stringify` of a small object costs a runtime call, a string builder and a `toJSON`
 * lookup per object, and a character-by-character scan per key and string: on Node 20 most of
 * what two log lines cost. A line's strings rarely need escaping: one regular-expression test
 * says so, and only those that do go through `JSON.stringify`.
 */

/** What `JSON.stringify` escapes in a string: `"`, `\`, control characters and lone surrogates (here any surrogate). */
// eslint-disable-next-line no-control-regex -- control characters are what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

export function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/**
 * The JSON text of a value, or undefined where `JSON.stringify` leaves an object's property
 * out (undefined, a function, a symbol). Strings, numbers, booleans and null are written here;
 * anything else goes through `JSON.stringify`.
 */
export function jsonValue(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return jsonString(value);
    case 'number':
      return jsonNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'object':
      return value === null ? 'null' : JSON.stringify(value);
    case 'bigint':
      return JSON.stringify(value); // throws, as JSON.stringify does (the redaction turned it into text)
  }
}

/** Past this many hundredths, a number is written by `String` (the digits below stay exact). */
const MAX_HUNDREDTHS = 2 ** 31 - 1;

/**
 * A finite number as `String` writes it; NaN and the infinities as null.
 *
 * Durations are logged rounded to hundredths of a millisecond (`0.07`), and `String` of such
 * a double runs V8's shortest-digits search, about 100 ns, where its whole part and
 * hundredths written as integers (V8 caches small integers' texts) take a quarter of that. A
 * double that is exactly `k / 100` has `k`'s digits as its shortest text, with the trailing
 * zeros of the fraction dropped: that is what is written here, and anything else (more
 * decimals, large or tiny magnitudes) goes to `String`.
 */
export function jsonNumber(value: number): string {
  const hundredths = Math.round(value * 100);
  if (hundredths / 100 !== value || hundredths > MAX_HUNDREDTHS || hundredths < -MAX_HUNDREDTHS) {
    return Number.isFinite(value) ? String(value) : 'null';
  }
  const size = hundredths < 0 ? -hundredths : hundredths;
  const whole = Math.floor(size / 100);
  const fraction = size - whole * 100;
  const sign = hundredths < 0 ? '-' : '';
  if (fraction === 0) return `${sign}${whole}`;
  if (fraction < 10) return `${sign}${whole}.0${fraction}`;
  return fraction % 10 === 0 ? `${sign}${whole}.${fraction / 10}` : `${sign}${whole}.${fraction}`;
}

/**
 * The pieces as one flat string. `+` makes a tree of the pieces (a cons string) that V8 walks
 * each time it copies it: a text that every line copies is made flat once (`join` writes it
 * into one string).
 */
export function flat(pieces: string[]): string {
  return pieces.join('');
}
