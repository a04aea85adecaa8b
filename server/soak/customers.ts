import { randomBytes } from 'node:crypto';
import { call } from './client.ts';
import type { SoakDatabase } from './database.ts';
import { statusLabel } from './timed-call.ts';
import type { Customer } from './world.ts';

/** `count` customers registered over REST, each from an address of its own. */
export async function registerCustomers(baseUrl: string, count: number): Promise<Customer[]> {
  const customers: Customer[] = [];
  for (let index = 0; index < count; index++) {
    const email = `soak-${index}-${randomBytes(4).toString('hex')}@example.com`;
    const password = `soak-password-${randomBytes(8).toString('hex')}`;
    const ip = `10.77.${Math.floor(index / 250)}.${(index % 250) + 1}`;
    const answer = await call<{ user: { id: string }; accessToken: string }>(baseUrl, 'auth.register', {
      protocol: 'rest',
      input: { email, password, name: `Soak customer ${index}` },
      headers: { 'x-forwarded-for': ip },
    });
    if (answer.status !== 200) throw new Error(`registering a customer failed: ${statusLabel(answer)}`);
    customers.push({
      id: answer.data.user.id,
      email,
      password,
      ip,
      token: answer.data.accessToken,
      busy: false,
      ordersSeen: new Set(),
      declines: 0,
      paid: [],
      created: [],
    });
  }
  return customers;
}

/** Every order a customer was answered with exists as theirs, and they have no order they cannot account for. */
export async function clientViewProblems(database: SoakDatabase, customers: Customer[]): Promise<string[]> {
  const problems: string[] = [];
  for (const customer of customers) {
    const rows = await database.db.selectFrom('orders').select('id').where('user_id', '=', customer.id).execute();
    const ids = new Set(rows.map((row) => row.id));
    for (const id of customer.ordersSeen) if (!ids.has(id)) problems.push(`order ${id} was answered but is missing`);
    const expected = customer.ordersSeen.size + customer.declines;
    if (rows.length !== expected) {
      problems.push(`customer ${customer.id} has ${rows.length} orders; answers account for ${expected}`);
    }
  }
  return problems;
}
