import { initTRPC } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { currentRequestContext } from '../core/logging/request-context.ts';
import type { Context } from './context.ts';
import { httpStatusOf, shownText, toErrorEnvelope } from './error-envelope.ts';

/**
 * The one tRPC instance. No transformer: trpc-to-openapi ignores transformers, so dates
 * travel as ISO strings on both protocols. Errors are shaped into the API's envelope here:
 * a tRPC error is `{ message, code, data: { code, message, request_id, issues?, httpStatus, path } }`.
 */
export const t = initTRPC
  .context<Context>()
  .meta<OpenApiMeta>()
  .create({
    errorFormatter({ shape, error, ctx }) {
      const envelope = toErrorEnvelope(error, {
        requestId: ctx?.requestId ?? currentRequestContext()?.request_id ?? 'none',
        exposeInternalMessage: ctx?.config.localDevelopment === true,
      });
      return {
        message: envelope.message,
        code: shape.code,
        data: {
          ...envelope,
          httpStatus: httpStatusOf(envelope.code),
          // The procedure path as the client wrote it: a made-up one may be 15 KB.
          path: shape.data.path === undefined ? undefined : shownText(shape.data.path),
        },
      };
    },
  });
