import { identifyViewer, requireAdmin, requireUser } from './auth-middleware.ts';
import { t } from './init.ts';
import { logProcedureCall } from './middleware.ts';

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

// Each rung declares its `access` in the meta of every procedure built from it: the OpenAPI
// document reads who may call an operation from the middleware that really checks it.

/** Anyone may call it; every call writes `procedure_call`, failures their details. */
export const publicProcedure = t.procedure.use(logProcedureCall).meta({ access: 'anyone' });

/** Public, but knows `ctx.viewer` (null when anonymous) for answers that depend on the role. */
export const viewerProcedure = publicProcedure.use(identifyViewer).meta({ access: 'viewer' });

/** Needs a valid access token; `ctx.user` is the caller as the database knows them now. */
export const protectedProcedure = publicProcedure.use(requireUser).meta({ access: 'user' });

/** Needs the admin role; refusals log `Insufficient Role`. */
export const adminProcedure = protectedProcedure.use(requireAdmin).meta({ access: 'admin' });
