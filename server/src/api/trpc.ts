import { t } from './init.ts';
import { logProcedureCall } from './middleware.ts';

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Anyone may call it; every call writes `procedure_call`, failures their details. */
export const publicProcedure = t.procedure.use(logProcedureCall);
