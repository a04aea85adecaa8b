import { initTRPC } from '@trpc/server';
import type { Context } from './context.ts';
import type { ProcedureMeta } from './meta.ts';
import { shownText } from './shown-text.ts';
import { appErrorOf } from './trpc-errors.ts';

/**
 * The one tRPC instance. No transformer: trpc-to-openapi ignores transformers, so dates
 * travel as ISO strings on both protocols. A failure answers with its AppError's envelope as
 * it is: a tRPC error is `{ message, code, data: { code, message, request_id, reason?, issues?, httpStatus, path } }`.
 */
export const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
    errorFormatter({ shape, error, ctx }) {
      const failure = appErrorOf(error, { exposeInternalMessage: ctx?.config.localDevelopment === true });
      return {
        message: failure.message,
        code: shape.code,
        data: {
          ...failure.envelope,
          httpStatus: failure.status,
          // The procedure path as the client wrote it: a made-up one may be 15 KB.
          path: shape.data.path === undefined ? undefined : shownText(shape.data.path),
        },
      };
    },
  });
