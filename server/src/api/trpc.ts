import { identifyViewer, requireAdmin, requireUser } from './auth-middleware.ts';
import { t } from './init.ts';
import { logProcedureCall } from './middleware.ts';

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Anyone may call it; every call writes `procedure_call`, failures their details. */
export const publicProcedure = t.procedure.use(logProcedureCall);

/** Public, but knows `ctx.viewer` (null when anonymous) for answers that depend on the role. */
export const viewerProcedure = publicProcedure.use(identifyViewer);

/** Needs a valid access token; `ctx.user` is the caller as the database knows them now. */
export const protectedProcedure = publicProcedure.use(requireUser);

/** Needs the admin role; refusals log `Insufficient Role`. */
export const adminProcedure = protectedProcedure.use(requireAdmin);
