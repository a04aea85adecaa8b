/**
 * The methods whose body the REST handlers read, and refuse when it is bad (400, 413, 415),
 * before the procedure runs: the ones trpc-to-openapi reads a body for. The OpenAPI document
 * lists those refusals on these methods' operations.
 */
export const METHODS_WITH_BODY: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
