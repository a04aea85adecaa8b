import type { z } from 'zod';

/**
 * How much of what a client sent an error repeats back: zod names every unknown key in full,
 * so a 100 KB key would be a 100 KB message, answered and logged (and read for secrets) twice.
 */
const SHOWN_KEY_LENGTH = 100;
const SHOWN_KEYS = 10;
/** The same bound for the request's own text that a message repeats (a path, a procedure's name). */
const SHOWN_TEXT_LENGTH = 200;

/** A client's text as a message repeats it: at most its first 200 characters, and how long it was. */
export function shownText(text: string): string {
  return text.length > SHOWN_TEXT_LENGTH ? `${text.slice(0, SHOWN_TEXT_LENGTH)}… (${text.length} characters)` : text;
}

function shownKey(key: string): string {
  return key.length > SHOWN_KEY_LENGTH ? `"${key.slice(0, SHOWN_KEY_LENGTH)}…" (${key.length} characters)` : `"${key}"`;
}

/** zod's message for unknown keys (`Unrecognized key: "role"`), with each key and their number bounded. */
function unrecognizedKeysMessage(keys: readonly string[]): string {
  const shown = keys.slice(0, SHOWN_KEYS).map(shownKey).join(', ');
  const more = keys.length > SHOWN_KEYS ? ` and ${keys.length - SHOWN_KEYS} more` : '';
  return `Unrecognized key${keys.length > 1 ? 's' : ''}: ${shown}${more}`;
}

/** The error's issues as the client and the log see them: unknown keys' names bounded. */
export function boundedIssues(error: z.ZodError): z.core.$ZodIssue[] {
  return error.issues.map((issue) =>
    issue.code === 'unrecognized_keys' ? { ...issue, message: unrecognizedKeysMessage(issue.keys) } : issue,
  );
}
