import type { AuthSession } from '@orders/shared';
import type { AppRouter } from '@orders/server';
import { createTRPCClient, httpBatchLink, httpBatchStreamLink, type Operation, type TRPCLink } from '@trpc/client';
import { observable, type Unsubscribable } from '@trpc/server/observable';
import { isOrdersError } from './errors.ts';

/** The server's own limit on calls in one batch; the link splits larger batches. */
export const MAX_BATCH_SIZE = 20;

export interface RefreshOptions {
  /** The refresh token to trade in when the access token has expired. */
  getRefreshToken: () => string | undefined | Promise<string | undefined>;
  /** Receives the new session; store both tokens, `getAccessToken` must then return the new one. */
  onSession: (session: AuthSession) => void | Promise<void>;
}

export interface OrdersClientOptions {
  /** The server's tRPC endpoint, e.g. `https://orders.example.com/trpc`. */
  url: string;
  getAccessToken?: () => string | undefined | Promise<string | undefined>;
  /** When set, a call refused with `Expired Token` refreshes once and is retried. */
  refresh?: RefreshOptions;
  fetch?: typeof globalThis.fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /**
   * The caller's W3C `traceparent` for the request about to be sent (its active span's, e.g.
   * `propagation.inject` of @opentelemetry/api): the server's spans join the caller's trace.
   */
  getTraceparent?: () => string | undefined;
  /**
   * Streams a batch's answers (tRPC's `httpBatchStreamLink`): each call resolves as soon as its
   * own answer arrives rather than when the slowest call of the batch is done. The response is
   * 200 whatever the calls' outcomes; each failed call still rejects with its error envelope.
   */
  stream?: boolean;
}

function requestId(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * The `Idempotency-Keys` header of a batch: each call's own key, from the `idempotencyKey` of
 * its context (`mutate(input, { context: { idempotencyKey } })`), by its index in the batch.
 * The server applies each key to its own call only, so two orders placed in the same tick stay two.
 */
function callKeysHeader(opList: readonly Pick<Operation, 'context'>[]): Record<string, string> {
  const keys: Record<string, string> = {};
  opList.forEach((op, index) => {
    const key = op.context.idempotencyKey;
    if (typeof key === 'string') keys[index] = key;
  });
  return Object.keys(keys).length === 0 ? {} : { 'idempotency-keys': JSON.stringify(keys) };
}

/**
 * One refresh at a time: calls that find their token expired together wait for the same
 * refresh and are all retried with its token.
 */
function createRefresher(options: OrdersClientOptions & { refresh: RefreshOptions }) {
  const plain = createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: options.url,
        fetch: options.fetch,
        headers: () => ({ ...options.headers, 'x-request-id': requestId() }),
      }),
    ],
  });
  let running: Promise<void> | undefined;
  return () =>
    (running ??= (async () => {
      const refreshToken = await options.refresh.getRefreshToken();
      if (!refreshToken) throw new Error('no refresh token to renew the session with');
      const session = await plain.v1.auth.refresh.mutate({ refreshToken });
      await options.refresh.onSession(session);
    })().finally(() => {
      running = undefined;
    }));
}

/** Retries a call once after a refresh when the server says its access token expired. */
function refreshOnExpiredToken(refresh: () => Promise<void>): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let subscription: Unsubscribable | undefined;
        const attempt = (retried: boolean) => {
          subscription = next(op).subscribe({
            next: (value) => observer.next(value),
            complete: () => observer.complete(),
            error: (error) => {
              if (retried || !isOrdersError(error, 'UNAUTHORIZED') || error.data.reason !== 'Expired Token') {
                observer.error(error);
                return;
              }
              refresh().then(
                () => attempt(true),
                () => observer.error(error),
              );
            },
          });
        };
        attempt(false);
        return () => subscription?.unsubscribe();
      });
}

/**
 * A typed client for every procedure of the API, batched over one HTTP request where calls
 * coincide. Each request carries the access token and a fresh `X-Request-Id`; a mutation's
 * own idempotency key goes in its context and travels in the batch's `Idempotency-Keys`.
 *
 * @example
 * const client = createOrdersClient({ url: 'http://127.0.0.1:3000/trpc', getAccessToken: () => tokens.access });
 * const page = await client.v1.products.list.query({ limit: 10 });
 * const order = await client.v1.orders.create.mutate(input, { context: { idempotencyKey: checkoutId } });
 */
export function createOrdersClient(options: OrdersClientOptions) {
  const batchLink = options.stream ? httpBatchStreamLink : httpBatchLink;
  const batch = batchLink({
    url: options.url,
    maxItems: MAX_BATCH_SIZE,
    fetch: options.fetch,
    headers: async ({ opList }) => {
      const token = await options.getAccessToken?.();
      const traceparent = options.getTraceparent?.();
      return {
        ...options.headers,
        'x-request-id': requestId(),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(traceparent ? { traceparent } : {}),
        ...callKeysHeader(opList),
      };
    },
  });
  const refresh = options.refresh;
  const links = refresh ? [refreshOnExpiredToken(createRefresher({ ...options, refresh })), batch] : [batch];
  return createTRPCClient<AppRouter>({ links });
}

export type OrdersClient = ReturnType<typeof createOrdersClient>;
