import {
  getErrorShape,
  transformTRPCResponse,
  TRPCError,
  type AnyTRPCProcedure,
  type AnyTRPCRouter,
} from '@trpc/server';
import { getHTTPStatusCode, type TRPCRequestInfo } from '@trpc/server/http';
import type { ResponseHeaders } from './response-headers.ts';

export type ProcedureType = 'query' | 'mutation' | 'subscription';

/** One call of a request, as tRPC's request info lists it. */
export interface Call {
  batchIndex: number;
  path: string;
  procedure: AnyTRPCProcedure | null;
  getRawInput: () => Promise<unknown>;
  /** The call's input if it was read. */
  result: () => unknown;
}

export type CallOutcome = [error: TRPCError, data: undefined] | [error: undefined, data: unknown];
export type ResponseItem = { error: unknown } | { result: { data?: unknown } };

/** Without method override: queries are GET, mutations POST. */
export const ACCEPTED_METHOD: Record<ProcedureType, string> = { query: 'GET', mutation: 'POST', subscription: 'GET' };

/** What the client gets when its error cannot be formatted (as in tRPC's node adapter). */
export const FALLBACK_ERROR_SHAPE = {
  code: -32603,
  message: 'Internal server error',
  data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 },
};

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && !Array.isArray(value) && typeof value === 'object';
}

function isAsyncIterable(value: unknown): boolean {
  return isObject(value) && Symbol.asyncIterator in value;
}

function isPromiseLike(value: unknown): boolean {
  const candidate = value as { then?: unknown; catch?: unknown } | null;
  return (
    (isObject(value) || typeof value === 'function') &&
    typeof candidate?.then === 'function' &&
    typeof candidate.catch === 'function'
  );
}

/** tRPC's test for results only a streaming link can carry. */
export function isDataStream(value: unknown): boolean {
  if (!isObject(value)) return false;
  if (isAsyncIterable(value)) return true;
  const values = Object.values(value);
  return values.some(isPromiseLike) || values.some(isAsyncIterable);
}

export function streamInSingleResponseError(): TRPCError {
  return new TRPCError({
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Cannot use stream-like response in non-streaming request - use httpBatchStreamLink',
  });
}

type RouterConfig = Parameters<typeof getErrorShape>[0]['config'];
type ErrorHook = (options: { error: TRPCError; req: unknown } & ShapeOptions) => void;
type ResponseMetaHook = (options: Record<string, unknown>) => {
  status?: number;
  headers?: Headers | Record<string, string | string[] | undefined>;
};

export interface ShapeOptions {
  ctx: unknown;
  input: unknown;
  path: string | undefined;
  type: ProcedureType | 'unknown';
}

/**
 * The router's error formatting, `onError` and `responseMeta`, applied the way tRPC's
 * resolveResponse applies them, through tRPC's own exported helpers.
 */
export function routerProtocol(router: AnyTRPCRouter, hooks: { onError?: unknown; responseMeta?: unknown }) {
  const config = router._def._config as unknown as RouterConfig;
  const onError = hooks.onError as ErrorHook | undefined;
  const responseMeta = hooks.responseMeta as ResponseMetaHook | undefined;
  // Without a transformer tRPC's serialiser hands every value back as it is, and
  // transformTRPCResponse only copies the envelope: the copy is skipped, the bytes are the same.
  const probe = {};
  const transformsOutput = config.transformer.output.serialize(probe) !== probe;

  return {
    shapeOf: (error: TRPCError, { ctx, input, path, type }: ShapeOptions): unknown =>
      getErrorShape({ config, error, ctx, input, path, type: type }),
    reportError: (options: { error: TRPCError; req: unknown } & ShapeOptions) => onError?.(options),
    serialize: (json: ResponseItem | ResponseItem[]): string =>
      JSON.stringify(transformsOutput ? transformTRPCResponse(config, json as never) : json),
    /** The answer's status, with `responseMeta`'s headers and status applied (tRPC's initResponse). */
    statusOf(
      headers: ResponseHeaders,
      {
        ctx,
        info,
        json,
        errors,
      }: {
        ctx: unknown;
        info: TRPCRequestInfo | undefined;
        json: ResponseItem | ResponseItem[];
        errors: (TRPCError | undefined)[];
      },
    ): number {
      let status = getHTTPStatusCode(json as never, errors);
      if (!responseMeta) return status;
      const meta = responseMeta({
        ctx,
        info,
        paths: info?.calls.map((call) => call.path),
        data: Array.isArray(json) ? json : [json],
        errors: errors.filter((error): error is TRPCError => error !== undefined),
        eagerGeneration: false,
        type: info?.calls.find((call) => call.procedure?._def.type)?.procedure?._def.type ?? 'unknown',
      });
      headers.appendAll(meta.headers);
      if (meta.status) status = meta.status;
      return status;
    },
  };
}

export type RouterProtocol = ReturnType<typeof routerProtocol>;
