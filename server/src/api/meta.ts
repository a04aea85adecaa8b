import type { ErrorCode } from '@orders/shared';
import type { OpenApiMeta } from 'trpc-to-openapi';

/**
 * Who may call a procedure. The rung of the procedure ladder it is built from declares it
 * (trpc.ts), so it is what the procedure's middlewares really check; the OpenAPI document
 * derives each operation's security requirement, 401 and 403 from it.
 */
export type Access = 'anyone' | 'viewer' | 'user' | 'admin';

/**
 * What a procedure says about itself, in its `.meta()`: its REST side (trpc-to-openapi's
 * `openapi`), its access (from its builder), and the codes its own work can refuse with
 * (`errors`, beside what any call can answer: bad input, its access's refusals, a failure).
 * The OpenAPI document's error responses are generated from it.
 */
export interface ProcedureMeta extends OpenApiMeta {
  access?: Access;
  errors?: readonly ErrorCode[];
}
