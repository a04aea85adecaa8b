import { router } from './trpc.ts';
import { v1Router } from './v1/index.ts';
import { v2Router } from './v2/index.ts';

export const appRouter = router({
  v1: v1Router,
  v2: v2Router,
});

export type AppRouter = typeof appRouter;
