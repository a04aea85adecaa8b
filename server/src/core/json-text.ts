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
      // Finite numbers are written as `String` writes them; NaN and the infinities as null.
      return Number.isFinite(value) ? String(value) : 'null';
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

/**
 * The pieces as one flat string. `+` makes a tree of the pieces (a cons string) that V8 walks
 * each time it copies it: a text that every line copies is made flat once (`join` writes it
 * into one string).
 */
export function flat(pieces: string[]): string {
  return pieces.join('');
}
