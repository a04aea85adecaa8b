import { z } from 'zod';

/**
 * What PostgreSQL cannot store in a text column: NUL (U+0000), which it refuses (a 500 if it
 * gets that far), and a UTF-16 surrogate without its pair, which has no UTF-8 form (the driver
 * would store U+FFFD in its place: not what was sent). With the `u` flag a well-formed pair is
 * one code point, outside the surrogate range, so emoji and other astral characters pass.
 */
// eslint-disable-next-line no-control-regex -- NUL is what this looks for
const UNSTORABLE = /[\u0000\ud800-\udfff]/u;

export const UNSTORABLE_TEXT_MESSAGE = 'must not contain NUL characters or unpaired surrogates';

/** Whether PostgreSQL can store the text as it is. */
export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}

/** The check itself, for a string schema that does not start from `safeText()` (`z.email()`). */
export const storableText = z.refine<string>(isStorableText, UNSTORABLE_TEXT_MESSAGE);

/**
 * The string every API input starts from: `z.string()` that refuses NUL and unpaired
 * surrogates with a clear issue (next to those of the field's other rules, if any fail too).
 *
 * @example
 * const NameSchema = safeText().trim().min(1).max(100);
 */
export function safeText() {
  return z.string().check(storableText);
}
