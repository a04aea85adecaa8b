import { IdempotencyKeySchema } from '@orders/shared';
import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import { readHeader, type HeaderSource } from '../core/http/headers.ts';
import { toTrpcError } from './trpc-errors.ts';

/** The calls of one tRPC request, as tRPC tells `createContext` of them. */
export interface TrpcCalls {
  isBatchCall: boolean;
  calls: readonly { procedure: { _def: { type: string } } | null }[];
}

const CallKeysSchema = z.record(z.string(), IdempotencyKeySchema);
/** A call's index in its batch, as a JSON key: a batch is far smaller than 1000 calls (MAX_BATCH_SIZE). */
const CALL_INDEX = /^(0|[1-9]\d{0,2})$/;

function refuse(message: string): never {
  throw toTrpcError(new AppError('INVALID_IDEMPOTENCY_KEY', message));
}

/** `{ "0": "key-a", "2": "key-b" }`: one key per call of the batch, each checked like Idempotency-Key. */
function parseCallKeys(header: string, callCount: number): Map<number, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(header);
  } catch {
    refuse('Idempotency-Keys must be a JSON object mapping call indexes to keys, e.g. {"0":"checkout-1"}');
  }
  const result = CallKeysSchema.safeParse(parsed);
  if (!result.success) {
    refuse(`Invalid Idempotency-Keys: ${result.error.issues[0]?.message ?? 'not an object of keys'}`);
  }
  const keys = new Map<number, string>();
  const seen = new Set<string>();
  for (const [index, key] of Object.entries(result.data)) {
    if (!CALL_INDEX.test(index)) refuse('Idempotency-Keys must map call indexes ("0", "1", ...) to keys');
    if (Number(index) >= callCount) refuse(`Idempotency-Keys names call ${index}, but the request has ${callCount}`);
    if (seen.has(key)) refuse('Idempotency-Keys gives two calls the same key: each call needs its own');
    seen.add(key);
    keys.set(Number(index), key);
  }
  return keys;
}

/**
 * The idempotency keys of a tRPC request's calls, checked before any call runs so that a
 * refused request changes nothing (each of its calls answers 400 INVALID_IDEMPOTENCY_KEY):
 * - `Idempotency-Keys: {"0":"key-a","1":"key-b"}` gives each call of the batch its own key
 *   (the map returned; a call it does not name has none);
 * - `Idempotency-Key` alone stays the key of a single call, but a batch where it would apply
 *   to more than one mutation is refused: those calls would share one order or payment;
 * - both at once are refused.
 * Undefined when the request has no Idempotency-Keys header (the calls read Idempotency-Key).
 */
export function callIdempotencyKeys(req: HeaderSource, trpc: TrpcCalls): ReadonlyMap<number, string> | undefined {
  const perCall = readHeader(req, 'idempotency-keys');
  const single = readHeader(req, 'idempotency-key');
  if (perCall === undefined) {
    if (single === undefined || !trpc.isBatchCall) return undefined;
    const mutations = trpc.calls.filter((call) => call.procedure?._def.type === 'mutation').length;
    if (mutations > 1) {
      refuse(
        `Idempotency-Key would apply to ${mutations} mutations of this batch; give each call its own key in Idempotency-Keys instead`,
      );
    }
    return undefined;
  }
  if (single !== undefined) refuse('Send Idempotency-Key or Idempotency-Keys, not both');
  return parseCallKeys(perCall, trpc.calls.length);
}
