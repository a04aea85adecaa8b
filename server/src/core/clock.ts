import { flat } from './logging/json-text.ts';

/**
 * The current time as an ISO 8601 UTC string, formatted once per millisecond: under load many
 * log lines and answers share a millisecond. Within a second only the milliseconds change, so
 * `toISOString()` (about a microsecond, through the C library's printf) runs once a second and
 * each new millisecond is written onto that second's text.
 */
let lastMillis = Number.NaN;
let lastIso = '';
let lastSecond = Number.NaN;
/** `2026-11-27T00:28:13.` for `lastSecond`. */
let secondText = '';

export function isoNow(): string {
  return isoAt(Date.now());
}

/** The instant `now` (milliseconds since the epoch) as `isoNow` writes it, with the same cache. */
export function isoAt(now: number): string {
  if (now !== lastMillis) {
    lastMillis = now;
    const millis = now % 1000;
    const second = now - millis;
    if (second !== lastSecond) {
      lastSecond = second;
      secondText = new Date(second).toISOString().slice(0, 20);
    }
    // Flat: every line of this millisecond copies it (see `flat`).
    lastIso = flat([secondText, millis < 10 ? '00' : millis < 100 ? '0' : '', String(millis), 'Z']);
  }
  return lastIso;
}
