import type { Db } from '../../core/db/database.ts';
import type { Logger } from '../../core/logging/logger.ts';
import type { PaymentGateway } from '../payment-gateway/index.ts';

export interface OrdersDeps {
  db: Db;
  logger: Logger;
  gateway: PaymentGateway;
  gatewayTimeoutMs: number;
}

/** Who is acting: owners see their own orders, admins see all. */
export interface Actor {
  id: string;
  role: 'customer' | 'admin';
}
