import type { ServerResponse } from 'node:http';
import type { Logger } from '../logging.ts';
import type { RequestContext } from '../request-context.ts';

/**
 * Writes one `http_request` line when the response is done, for every route and outcome.
 * A client that hung up before the answer is logged with status 499.
 */
export function logAccessWhenDone(
  res: ServerResponse,
  { logger, context }: { logger: Logger; context: RequestContext },
): void {
  const started = performance.now();
  res.once('close', () => {
    logger.info('http_request', {
      ...context,
      status: res.writableFinished ? res.statusCode : 499,
      latency_ms: Math.round((performance.now() - started) * 100) / 100,
    });
  });
}
