import { createOrdersClient, isOrdersError, type RouterInputs, type RouterOutputs } from '@orders/client';
import { CreateOrderInputSchema } from '@orders/client/schemas';

const tokens = { access: undefined as string | undefined };
const client = createOrdersClient({ url: 'http://127.0.0.1:3000/trpc', getAccessToken: () => tokens.access });

/** A checkout as a shop frontend writes it: validate the form, order, explain a decline. */
export async function checkout(productId: string, quantity: number): Promise<string> {
  const input: RouterInputs['v1']['orders']['create'] = {
    items: [{ productId, quantity }],
    paymentMethod: 'pm_card_visa',
  };
  const form = CreateOrderInputSchema.safeParse(input);
  if (!form.success) return form.error.issues[0]?.message ?? 'invalid';
  try {
    const order: RouterOutputs['v1']['orders']['create'] = await client.v1.orders.create.mutate(form.data);
    const total: number = order.total.amount;
    return `${order.id}: ${order.status}, ${total} ${order.total.currency}`;
  } catch (error) {
    if (isOrdersError(error, 'PAYMENT_DECLINED')) return `declined (request ${error.data.request_id})`;
    throw error;
  }
}

export async function wrongInputsDoNotCompile(): Promise<void> {
  const stringQuantity = [{ productId: 'prd_1', quantity: '2' }];
  // @ts-expect-error quantity is a number
  await client.v1.orders.create.mutate({ items: stringQuantity, paymentMethod: 'pm_card_visa' });
  // @ts-expect-error paymentMethod is required
  await client.v1.orders.create.mutate({ items: [{ productId: 'prd_1', quantity: 2 }] });
  // @ts-expect-error no such procedure
  await client.v1.orders.delete.mutate({ orderId: 'ord_1' });
  // @ts-expect-error v2 lists by cursor, not offset
  await client.v2.orders.list.query({ offset: 10 });
  // @ts-expect-error an order's status is one of the known states
  const status: RouterOutputs['v1']['orders']['get']['status'] = 'shipped';
  void status;
}
