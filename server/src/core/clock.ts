/**
 * The current time as an ISO 8601 UTC string, formatted once per millisecond: under load many
 * log lines and answers share a millisecond, and `toISOString()` costs about a microsecond.
 */
let lastMillis = Number.NaN;
let lastIso = '';

export function isoNow(): string {
  const now = Date.now();
  if (now !== lastMillis) {
    lastMillis = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}
