import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Kinds of id; the prefix says in any log line what an id names. */
export type IdPrefix = 'usr' | 'prd' | 'ord' | 'pay' | 'rtk' | 'atk';

/**
 * `prd_01JD4X8ZQ0M3V6N2T9K7W5A1BC`: a ULID (48-bit time, 80 random bits, Crockford base32)
 * behind its kind, so ids sort by creation time.
 */
export function newId(prefix: IdPrefix, now = Date.now()): string {
  let time = '';
  let remaining = now;
  for (let index = 0; index < 10; index++) {
    time = CROCKFORD.charAt(remaining % 32) + time;
    remaining = Math.floor(remaining / 32);
  }
  const bytes = randomBytes(16);
  let random = '';
  for (let index = 0; index < 16; index++) random += CROCKFORD.charAt((bytes[index] ?? 0) % 32);
  return `${prefix}_${time}${random}`;
}
