import { PingSchema } from '@orders/shared';
import { z } from 'zod';
import { isoNow } from '../../core/clock.ts';
import { publicProcedure, router } from '../trpc.ts';
import { route, type ApiVersion } from '../versioning.ts';

export function systemRouter(version: ApiVersion) {
  return router({
    ping: publicProcedure
      .meta(
        route(version, {
          method: 'GET',
          path: '/system/ping',
          operationId: 'system.ping',
          tags: ['system'],
          summary: 'Check that the API answers',
          description:
            'Goes through the whole API stack (unlike `/healthz`), logging included, without touching the database; a client can measure its round trip with it.',
          errors: [],
        }),
      )
      .input(z.strictObject({}).prefault({}))
      .output(PingSchema)
      .query(() => ({ status: 'ok' as const, time: isoNow() })),
  });
}
