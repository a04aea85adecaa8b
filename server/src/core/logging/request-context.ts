import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What every log line written during a request carries. The object is created once per
 * request and filled in as the request learns more (the user after auth), so lines written
 * later carry more, the access line included.
 */
export interface RequestContext {
  request_id: string;
  method: string;
  path: string;
  ip: string;
  user_id: string | null;
  role: string | null;
  /**
   * Set only when tracing is on: the request's trace, and its HTTP server span (the span a
   * line names when no span of its own is active, the access line's).
   */
  trace_id?: string;
  span_id?: string;
}

/** The request's shared context, plus the procedure running in this async branch (one per batch call). */
export interface Scope {
  context: RequestContext;
  procedure?: string;
  /** The span active where a line of a traced request was written (see logger.ts). */
  span_id?: string;
}

const storage = new AsyncLocalStorage<Scope>();

export function runWithRequestContext<Result>(context: RequestContext, fn: () => Result): Result {
  return storage.run({ context }, fn);
}

/**
 * Runs `fn` with `procedure` set for its log lines; the request's context stays shared.
 *
 * The first procedure of a request names the request's own scope: a single call, the usual
 * request, needs no scope of its own (a second `storage.run` per call). Any further procedure
 * of the request (the other calls of a batch, which run at the same time, or a procedure
 * called from inside one) gets a scope of its own, so each branch's lines name their own.
 * Lines the request writes after its first call has named the scope carry that name.
 */
export function runInProcedure<Result>(procedure: string, fn: () => Result): Result {
  const scope = storage.getStore();
  if (!scope) return fn();
  if (scope.procedure === undefined) {
    scope.procedure = procedure;
    return fn();
  }
  return storage.run({ context: scope.context, procedure }, fn);
}

/** The current request's context, or undefined outside a request (start-up, jobs, seed). */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore()?.context;
}

/** The request context and procedure of this async branch in one lookup (for each log line). */
export function currentScope(): Readonly<Scope> | undefined {
  return storage.getStore();
}

/** Records who the request is acting for; later lines (and the access line) carry it. */
export function setRequestUser(user: { id: string; role: string }): void {
  const context = storage.getStore()?.context;
  if (!context) return;
  context.user_id = user.id;
  context.role = user.role;
}
