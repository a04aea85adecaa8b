import { createHTTPHandler } from '@trpc/server/adapters/standalone';

/**
 * tRPC's own standalone adapter, kept beside the native one: `HTTP_ADAPTER=official` serves
 * /trpc with it, the native handler hands it every request it does not serve itself, and
 * `native-handler.test.ts` replays the same requests against both.
 */
export const createOfficialHTTPHandler = createHTTPHandler;
