import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What every log line written during a request carries. The object is created once per
 * request and filled in as the request learns more (the user after auth, the procedure
 * when one runs), so lines written later carry more.
 */
export interface RequestContext {
  request_id: string;
  method: string;
  path: string;
  ip: string;
  user_id: string | null;
  role: string | null;
  procedure?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithRequestContext<Result>(context: RequestContext, fn: () => Result): Result {
  return storage.run(context, fn);
}

/** The current request's context, or undefined outside a request (start-up, jobs, seed). */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}
