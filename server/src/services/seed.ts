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

/** The demo customer every development database has; its password is public by design. */
export const DEMO_CUSTOMER = { email: 'customer@example.com', password: 'customer-password', name: 'Demo Customer' };

/** Inserts the demo catalogue; safe to run again (existing SKUs are left as they are). */
export async function seedDemoProducts(db: Db): Promise<number> {
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
    })
    .execute();
  return true;
}

/**
 * The admin from ADMIN_EMAIL / ADMIN_PASSWORD (skipped without a password) and the demo
 * customer. Existing accounts are left as they are, passwords included.
 */
export async function seedUsers(db: Db, admin: { email: string; password: string | undefined }) {
  const adminCreated = admin.password
    ? await ensureUser(db, { email: admin.email, password: admin.password, name: 'Admin', role: 'admin' })
    : false;
  const customerCreated = await ensureUser(db, { ...DEMO_CUSTOMER, role: 'customer' });
  return { adminCreated, customerCreated };
}

/**
 * Two orders for the demo customer, placed through the real order flow on the simulated
 * gateway: one paid, one paid and then cancelled (refunded). Skipped when they have orders.
 */
export async function seedDemoOrders(deps: Omit<OrdersDeps, 'gateway' | 'gatewayTimeoutMs'>): Promise<number> {
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
