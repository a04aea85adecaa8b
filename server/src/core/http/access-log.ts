import type { ServerResponse } from 'node:http';
import type { Logger } from '../logging/logger.ts';
import type { RequestContext } from '../logging/request-context.ts';

/**
 * Writes one `http_request` line when the response is done, for every route and outcome.
 * A client that hung up before the answer is logged with status 499. The line names the
 * request's context (the 'close' event fires outside its async scope), which carries its id,
 * method, path, client and, once known, user.
 */
export function logAccessWhenDone(
  res: ServerResponse,
  { logger, context }: { logger: Logger; context: RequestContext },
): void {
  if (!logger.isLevelEnabled('info')) return;
  const started = performance.now();
  // 'close' is emitted once per response: `on` spares `once`'s wrapper and its removal.
  res.on('close', () => {
    const fields = {
      status: res.writableFinished ? res.statusCode : 499,
      latency_ms: Math.round((performance.now() - started) * 100) / 100,
    };
    logger.info('http_request', fields, { context });
  });
}
