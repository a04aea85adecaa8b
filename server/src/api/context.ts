import type { Config } from '../core/config.ts';
import type { Db } from '../core/db.ts';
import type { HeaderSource } from '../core/http/headers.ts';
import type { Logger } from '../core/logging.ts';
import { currentRequestContext } from '../core/request-context.ts';

/** What the app gives every request: built once in main.ts, passed down, never global. */
export interface AppDeps {
  db: Db;
  logger: Logger;
  config: Config;
}

export interface ContextInput extends AppDeps {
  requestId: string;
  /** The incoming request's headers; absent for server-side callers. */
  req?: HeaderSource | undefined;
}

/** Builds a context from plain values; tests call it directly with `createCaller`. */
export function createContextInner(input: ContextInput) {
  return {
    db: input.db,
    logger: input.logger,
    config: input.config,
    requestId: input.requestId,
    req: input.req,
  };
}

export type Context = ReturnType<typeof createContextInner>;

/** The adapter-facing factory, shared by the tRPC and REST handlers. */
export function createContextFactory(deps: AppDeps) {
  return function createContext({ req }: { req: HeaderSource }): Context {
    const requestId = currentRequestContext()?.request_id ?? 'none';
    return createContextInner({ ...deps, requestId, req });
  };
}
