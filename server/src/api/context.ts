import type { Config } from '../core/config.ts';
import type { Db } from '../core/db/database.ts';
import { readHeader, type HeaderSource } from '../core/http/headers.ts';
import type { Logger } from '../core/logging/logger.ts';
import type { Mailer } from '../core/mail/mailer.ts';
import type { RateLimiter } from '../core/rate-limit.ts';
import { currentRequestContext } from '../core/logging/request-context.ts';
import type { TokenService } from '../core/security.ts';
import type { WorkTracker } from '../core/work-tracker.ts';
import { authenticateRequest, type Authentication } from '../services/authenticate.ts';
import { callIdempotencyKeys, type TrpcCalls } from './call-idempotency-keys.ts';
import type { CursorCodec } from '../services/orders/index.ts';
import type { PaymentGateway } from '../services/payment-gateway/index.ts';

/** What the app gives every request: built once at start, passed down, never global. */
export interface AppDeps {
  db: Db;
  logger: Logger;
  config: Config;
}

/** AppDeps plus what createApp derives from them once. */
export interface RequestDeps extends AppDeps {
  tokens: TokenService;
  rateLimiter: RateLimiter;
  gateway: PaymentGateway;
  cursors: CursorCodec;
  work: WorkTracker;
  mailer: Mailer;
}

export interface ContextInput extends RequestDeps {
  requestId: string;
  ip: string;
  /** The incoming request's headers; absent for server-side callers. */
  req?: HeaderSource | undefined;
  /** Lets a procedure set response headers (Retry-After, WWW-Authenticate). */
  setHeader?: ((name: string, value: string) => void) | undefined;
  /** Which protocol carried the request; absent for server-side callers. */
  transport?: 'trpc' | 'rest' | undefined;
  /** On tRPC, each call's own idempotency key (the `Idempotency-Keys` header), by batch index. */
  callIdempotencyKeys?: ReadonlyMap<number, string> | undefined;
}

// The context's functions are made by small factories returning anonymous closures: tsx
// (esbuild's keepNames) wraps a closure that gets a name in a `__name` call, about a
// microsecond each, and every request builds these.

/** The request's authentication, run once however many procedures of a batch ask for it. */
function authenticatorFor(input: ContextInput): () => Promise<Authentication> {
  let result: Promise<Authentication> | undefined;
  return () => (result ??= authenticateRequest(input, input.req ? readHeader(input.req, 'authorization') : undefined));
}

/** One request header, the same way on both protocols (absent for server-side callers). */
function headerReaderFor(req: HeaderSource | undefined): (name: string) => string | undefined {
  return (name) => (req ? readHeader(req, name) : undefined);
}

/** Builds a context from plain values; tests call it directly with `createCaller`. */
export function createContextInner(input: ContextInput) {
  return {
    db: input.db,
    logger: input.logger,
    config: input.config,
    tokens: input.tokens,
    rateLimiter: input.rateLimiter,
    gateway: input.gateway,
    cursors: input.cursors,
    work: input.work,
    mailer: input.mailer,
    requestId: input.requestId,
    ip: input.ip,
    /** One request header, the same way on both protocols. */
    header: headerReaderFor(input.req),
    authenticate: authenticatorFor(input),
    setHeader: input.setHeader ?? (() => undefined),
    transport: input.transport,
    callIdempotencyKeys: input.callIdempotencyKeys,
  };
}

export type Context = ReturnType<typeof createContextInner>;

interface HeaderWritable {
  setHeader(name: string, value: string): unknown;
  headersSent?: boolean;
}

/** Sets a response header while the response has not started (a late one is dropped). */
function headerSetterFor(res: HeaderWritable): (name: string, value: string) => void {
  return (name, value) => {
    if (!res.headersSent) res.setHeader(name, value);
  };
}

/**
 * The adapter-facing factory, shared by the tRPC and REST handlers. The input is written out
 * key by key: on Node 20's V8, `{ ...deps, requestId }` leaves the fast clone path and costs
 * microseconds per request.
 */
export function createContextFactory(deps: RequestDeps, transport: 'trpc' | 'rest' = 'rest') {
  return function createContext({
    req,
    res,
    info,
  }: {
    req: HeaderSource;
    res: HeaderWritable;
    info?: TrpcCalls | undefined;
  }): Context {
    // Refuses a batch whose keys would merge two calls before any of its calls runs.
    const callKeys = transport === 'trpc' && info ? callIdempotencyKeys(req, info) : undefined;
    const request = currentRequestContext();
    return createContextInner({
      db: deps.db,
      logger: deps.logger,
      config: deps.config,
      tokens: deps.tokens,
      rateLimiter: deps.rateLimiter,
      gateway: deps.gateway,
      cursors: deps.cursors,
      work: deps.work,
      mailer: deps.mailer,
      requestId: request?.request_id ?? 'none',
      ip: request?.ip ?? 'unknown',
      req,
      setHeader: headerSetterFor(res),
      transport,
      callIdempotencyKeys: callKeys,
    });
  };
}
