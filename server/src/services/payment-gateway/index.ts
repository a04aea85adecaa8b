import { createSimulatedGateway } from './simulated.ts';
import { PaymentGatewayUnavailableError, type PaymentGateway } from './types.ts';

export * from './types.ts';
export { createSimulatedGateway } from './simulated.ts';

/** The gateway PAYMENT_GATEWAY names; only the simulated one ships. */
export function createPaymentGateway(options: { kind: 'simulated'; latencyMs: number }): PaymentGateway {
  return createSimulatedGateway({ latencyMs: options.latencyMs });
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
