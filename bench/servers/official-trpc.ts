import { initTRPC } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { z } from 'zod';

/** The official tRPC standalone adapter on a trivial zod query: what the adapter itself costs. */
const t = initTRPC.create();
const appRouter = t.router({
  ping: t.procedure.input(z.object({ name: z.string() })).query(({ input }) => ({ hello: input.name })),
});
createHTTPServer({ router: appRouter }).listen(Number(process.env.PORT), '127.0.0.1');
process.stdout.write('ready\n');
