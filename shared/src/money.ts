import { z } from 'zod';
import { safeText } from './text.ts';

/** ISO 4217 code, upper case: `EUR`, `USD`. */
export const CurrencySchema = safeText()
  .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code of three capital letters, e.g. EUR')
  .meta({ example: 'EUR' });

/** An amount in integer minor units (cents) and its currency; strict, like every input. */
export const MoneySchema = z
  .strictObject({
    amount: z.int().min(0).max(1_000_000_000).meta({ description: 'integer minor units', example: 1999 }),
    currency: CurrencySchema,
  })
  .meta({ id: 'Money' });
export type Money = z.infer<typeof MoneySchema>;
