import type { Db } from '../core/db/database.ts';
import { newId } from '../core/ids.ts';
import { hashPassword } from '../core/security.ts';
import type { NewProductRow, UserRole } from '../models/index.ts';
import { cancelOrder, createOrder, type OrdersDeps } from './orders/index.ts';
import { createSimulatedGateway } from './payment-gateway/index.ts';

const DEMO_PRODUCTS: Omit<NewProductRow, 'id'>[] = [
  {
    sku: 'MUG-001',
    name: 'Ceramic mug',
    description: 'Stoneware, 350 ml, dishwasher safe.',
    price_amount: 1290,
    currency: 'EUR',
    stock: 120,
  },
  {
    sku: 'TEE-BLK-M',
    name: 'T-shirt, black, M',
    description: 'Organic cotton.',
    price_amount: 2490,
    currency: 'EUR',
    stock: 60,
  },
  {
    sku: 'TEE-WHT-L',
    name: 'T-shirt, white, L',
    description: 'Organic cotton.',
    price_amount: 2490,
    currency: 'EUR',
    stock: 45,
  },
  {
    sku: 'BOOK-TS',
    name: 'Typed services, the book',
    description: 'Designing APIs that cannot lie.',
    price_amount: 3900,
    currency: 'EUR',
    stock: 25,
  },
  {
    sku: 'STICKER-5',
    name: 'Sticker pack',
    description: 'Five vinyl stickers.',
    price_amount: 450,
    currency: 'EUR',
    stock: 500,
  },
  { sku: 'CAP-NAVY', name: 'Cap, navy', description: null, price_amount: 1990, currency: 'EUR', stock: 3 },
  {
    sku: 'BOTTLE-750',
    name: 'Steel bottle, 750 ml',
    description: 'Keeps drinks cold for 24 h.',
    price_amount: 2990,
    currency: 'EUR',
    stock: 0,
  },
];

/** The demo customer every local development database has; its password is public by design. */
export const DEMO_CUSTOMER = { email: 'customer@example.com', password: 'customer-password', name: 'Demo Customer' };

/** The admin's password in local development when ADMIN_PASSWORD is unset: public too. */
export const DEMO_ADMIN_PASSWORD = 'admin-password-dev';

/** Inserts the demo catalogue; safe to run again (existing SKUs are left as they are). */
async function seedDemoProducts(db: Db): Promise<number> {
  const result = await db
    .insertInto('products')
    .values(DEMO_PRODUCTS.map((product) => ({ ...product, id: newId('prd') })))
    .onConflict((conflict) => conflict.column('sku').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}

async function ensureUser(
  db: Db,
  user: { email: string; password: string; name: string; role: UserRole },
): Promise<boolean> {
  const exists = await db
    .selectFrom('users')
    .select('id')
    .where('email', '=', user.email.toLowerCase())
    .executeTakeFirst();
  if (exists) return false;
  await db
    .insertInto('users')
    .values({
      id: newId('usr'),
      email: user.email.toLowerCase(),
      password_hash: await hashPassword(user.password),
      name: user.name,
      role: user.role,
      // The operator chose these addresses: nothing to prove by mail.
      email_verified_at: new Date(),
    })
    .execute();
  return true;
}

/** The admin, skipped without a password; an existing one is left as it is. */
async function seedAdmin(
  db: Db,
  admin: { email: string; password: string | undefined },
): Promise<'created' | 'exists' | 'skipped'> {
  if (!admin.password) return 'skipped';
  const created = await ensureUser(db, { email: admin.email, password: admin.password, name: 'Admin', role: 'admin' });
  return created ? 'created' : 'exists';
}

/**
 * Two orders for the demo customer, placed through the real order flow on the simulated
 * gateway: one paid, one paid and then cancelled (refunded). Skipped when they have orders.
 */
async function seedDemoOrders(deps: Omit<OrdersDeps, 'gateway' | 'gatewayTimeoutMs'>): Promise<number> {
  const customer = await deps.db
    .selectFrom('users')
    .select(['id', 'role'])
    .where('email', '=', DEMO_CUSTOMER.email)
    .executeTakeFirst();
  if (!customer) return 0;
  const existing = await deps.db
    .selectFrom('orders')
    .select('id')
    .where('user_id', '=', customer.id)
    .limit(1)
    .executeTakeFirst();
  if (existing) return 0;
  const products = await deps.db
    .selectFrom('products')
    .select('id')
    .where('sku', 'in', ['MUG-001', 'STICKER-5', 'BOOK-TS'])
    .orderBy('sku')
    .execute();
  const [book, mug, sticker] = products.map((product) => product.id);
  if (!book || !mug || !sticker) return 0;
  const orders: OrdersDeps = { ...deps, gateway: createSimulatedGateway({ latencyMs: 0 }), gatewayTimeoutMs: 5_000 };
  await createOrder(orders, {
    userId: customer.id,
    items: [
      { productId: mug, quantity: 2 },
      { productId: sticker, quantity: 1 },
    ],
    paymentMethod: 'pm_card_visa',
  });
  const refunded = await createOrder(orders, {
    userId: customer.id,
    items: [{ productId: book, quantity: 1 }],
    paymentMethod: 'pm_card_mastercard',
  });
  await cancelOrder(orders, { orderId: refunded.id, actor: customer });
  return 2;
}

export interface SeedPlan {
  admin: { email: string; password: string | undefined };
  /** The demo catalogue, the demo customer and its orders (config `seed.demoData`). */
  demoData: boolean;
  /** Without ADMIN_PASSWORD, the admin gets the public DEMO_ADMIN_PASSWORD (config `seed.demoAdmin`). */
  demoAdmin: boolean;
}

/**
 * What a first start on the embedded database and `pnpm db:seed` insert: the admin, and
 * the demo data only when the plan says so, since the demo accounts' passwords are public.
 * Safe to run again: what exists is left as it is.
 */
export async function seedDatabase(deps: Omit<OrdersDeps, 'gateway' | 'gatewayTimeoutMs'>, plan: SeedPlan) {
  const adminPassword = plan.admin.password ?? (plan.demoAdmin ? DEMO_ADMIN_PASSWORD : undefined);
  const admin = await seedAdmin(deps.db, { email: plan.admin.email, password: adminPassword });
  if (!plan.demoData) return { admin, demoData: false, products: 0, customerCreated: false, orders: 0 };
  const products = await seedDemoProducts(deps.db);
  const customerCreated = await ensureUser(deps.db, { ...DEMO_CUSTOMER, role: 'customer' });
  const orders = await seedDemoOrders(deps);
  return { admin, demoData: true, products, customerCreated, orders };
}
