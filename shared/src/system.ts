import { z } from 'zod';

/** `system.ping`: the API answers through its whole stack, and says the server's time. */
export const PingSchema = z
  .object({
    status: z.literal('ok'),
    time: z.iso.datetime().describe("The server's clock, to spot a client's clock skew (tokens expire by it)"),
  })
  .meta({ id: 'Ping' });

export type Ping = z.infer<typeof PingSchema>;
