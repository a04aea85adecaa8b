import type { Db } from '../../core/db/database.ts';
import { createSimulatedGateway } from './simulated.ts';
import { createStripeGateway } from './stripe.ts';
import { PaymentGatewayUnavailableError, type PaymentGateway } from './types.ts';

export * from './types.ts';
export { createSimulatedGateway } from './simulated.ts';
export { createStripeGateway } from './stripe.ts';

export type GatewayConfig =
  | { kind: 'simulated'; latencyMs: number; timeoutMs?: number }
  | { kind: 'stripe'; timeoutMs: number; stripe: { secretKey: string; apiUrl: string } };

/**
 * The gateway PAYMENT_GATEWAY names. The simulated one keeps its ledger in `db` when given
 * (the server's), in memory otherwise.
 */
export function createPaymentGateway(config: GatewayConfig, db?: Db): PaymentGateway {
  if (config.kind === 'stripe') return createStripeGateway({ ...config.stripe, timeoutMs: config.timeoutMs });
  return createSimulatedGateway({ latencyMs: config.latencyMs, db });
}

/** Gives up on a gateway call after `timeoutMs`: the caller records the attempt as failed. */
export async function withGatewayTimeout<Result>(call: Promise<Result>, timeoutMs: number): Promise<Result> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PaymentGatewayUnavailableError(`The payment gateway did not answer within ${timeoutMs} ms`, 'timeout'),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([call, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
