import type { Db } from '../../core/db/database.ts';
import type { ChargeOutcome } from './types.ts';

/**
 * Where the simulated gateway keeps what it did, one entry per idempotency key: the first
 * entry under a key wins and every later call with the key is answered from it.
 */
export interface SimulatedLedger {
  /** Stores `outcome` under `key` unless the key has one already; answers the stored one, and whether it is new. */
  charge(
    key: string,
    outcome: ChargeOutcome,
    about: { amount: number; currency: string; orderId: string },
  ): Promise<{ outcome: ChargeOutcome; stored: boolean }>;
  refund(
    key: string,
    reference: string,
    about: { amount: number; currency: string; chargeReference: string },
  ): Promise<{ reference: string }>;
}

export function memoryLedger(): SimulatedLedger {
  const charges = new Map<string, ChargeOutcome>();
  const refunds = new Map<string, { reference: string }>();
  return {
    charge(key, outcome) {
      const earlier = charges.get(key);
      if (earlier) return Promise.resolve({ outcome: earlier, stored: false });
      charges.set(key, outcome);
      return Promise.resolve({ outcome, stored: true });
    },
    refund(key, reference) {
      const earlier = refunds.get(key) ?? { reference };
      refunds.set(key, earlier);
      return Promise.resolve(earlier);
    },
  };
}

/**
 * The ledger in the service's database, in a table of its own: as with a real gateway, what it
 * charged outlives a process that dies before hearing the answer. Concurrent calls under one
 * key insert once (`on conflict do nothing`) and all read the entry that won.
 */
const ENTRY_COLUMNS = ['reference', 'status', 'decline_code', 'message'] as const;

export function databaseLedger(db: Db): SimulatedLedger {
  const entry = (key: string) =>
    db
      .selectFrom('simulated_gateway_ledger')
      .select(ENTRY_COLUMNS)
      .where('idempotency_key', '=', key)
      .executeTakeFirstOrThrow();
  return {
    async charge(key, outcome, about) {
      // The first call under a key stores its entry and reads it back in the same statement.
      const inserted = await db
        .insertInto('simulated_gateway_ledger')
        .values({
          idempotency_key: key,
          kind: 'charge',
          reference: outcome.reference,
          status: outcome.status,
          decline_code: outcome.status === 'declined' ? outcome.declineCode : null,
          message: outcome.status === 'declined' ? outcome.message : null,
          amount: about.amount,
          currency: about.currency,
          order_id: about.orderId,
        })
        .onConflict((conflict) => conflict.column('idempotency_key').doNothing())
        .returning(ENTRY_COLUMNS)
        .executeTakeFirst();
      const stored = inserted ?? (await entry(key));
      const answer: ChargeOutcome =
        stored.status === 'succeeded'
          ? { status: 'succeeded', reference: stored.reference }
          : {
              status: 'declined',
              reference: stored.reference,
              declineCode: stored.decline_code ?? 'generic_decline',
              message: stored.message ?? '',
            };
      return { outcome: answer, stored: inserted !== undefined };
    },
    async refund(key, reference, about) {
      await db
        .insertInto('simulated_gateway_ledger')
        .values({
          idempotency_key: key,
          kind: 'refund',
          reference,
          status: 'succeeded',
          amount: about.amount,
          currency: about.currency,
          charge_reference: about.chargeReference,
        })
        .onConflict((conflict) => conflict.column('idempotency_key').doNothing())
        .execute();
      return { reference: (await entry(key)).reference };
    },
  };
}
