import { z } from 'zod';
import { safeText } from './text.ts';

/** ISO 4217 code, upper case: `EUR`, `USD`. */
export const CurrencySchema = safeText()
  .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code of three capital letters, e.g. EUR')
  .meta({ example: 'EUR' });

/**
 * The largest amount of money the API holds, in minor units: a price, a line total, an order
 * total, a payment. The one limit for all of them, so that whatever is accepted can be answered
 * (every answer's Money is checked against it); it stays below the database's integer columns
 * (2,147,483,647), whose CHECK constraints hold the same figure.
 */
export const MAX_MONEY_AMOUNT = 1_000_000_000;

/** An amount in integer minor units (cents) and its currency; strict, like every input. */
export const MoneySchema = z
  .strictObject({
    amount: z.int().min(0).max(MAX_MONEY_AMOUNT).meta({ description: 'integer minor units', example: 1999 }),
    currency: CurrencySchema,
  })
  .meta({ id: 'Money' });
export type Money = z.infer<typeof MoneySchema>;
