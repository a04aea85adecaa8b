import { createOrdersClient, isOrdersError, type AuthSession, type Money, type Order } from '@orders/client';

/** The API's tRPC endpoint, on another origin than this page: set by the build (scripts/build.ts). */
declare const ORDERS_API_URL: string;

let session: AuthSession | undefined;
const client = createOrdersClient({
  url: ORDERS_API_URL,
  getAccessToken: () => session?.accessToken,
  refresh: {
    getRefreshToken: () => session?.refreshToken,
    onSession: (next) => {
      session = next;
    },
  },
});

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from index.html`);
  return found as T;
}

const loginForm = byId<HTMLFormElement>('login');
const email = byId<HTMLInputElement>('email');
const password = byId<HTMLInputElement>('password');
const sessionLine = byId<HTMLParagraphElement>('session');
const shop = byId<HTMLElement>('shop');
const paymentMethod = byId<HTMLSelectElement>('payment-method');
const productList = byId<HTMLUListElement>('products');
const orderBox = byId<HTMLElement>('order');
const errorBox = byId<HTMLElement>('error');

/** A new element with its text; text is never parsed as HTML. */
function element<K extends keyof HTMLElementTagNameMap>(tag: K, text = ''): HTMLElementTagNameMap[K] {
  const created = document.createElement(tag);
  created.textContent = text;
  return created;
}

/** A paragraph of plain text and `<code>` parts, e.g. `line('Order ', code(id), ' is paid')`. */
function line(...parts: (string | HTMLElement)[]): HTMLParagraphElement {
  const paragraph = element('p');
  paragraph.append(...parts);
  return paragraph;
}

const code = (text: string) => element('code', text);

/** Money comes in integer minor units (cents): 1999 EUR is €19.99. */
function formatMoney({ amount, currency }: Money): string {
  const format = new Intl.NumberFormat('en', { style: 'currency', currency });
  return format.format(amount / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
}

function showOrder(order: Order): void {
  errorBox.hidden = true;
  orderBox.replaceChildren(line('Order ', code(order.id), `: ${order.status}, ${formatMoney(order.total)}`));
}

/**
 * What went wrong, as the API said it: its message, code, and the request id to quote to
 * support. A declined (402) or failed (502) payment names the order it kept as `payment_failed`,
 * which can be paid again with another card.
 */
function showError(error: unknown): void {
  orderBox.replaceChildren();
  errorBox.hidden = false;
  if (!isOrdersError(error)) {
    // No answer at all: the API is down, or refused this page's origin (CORS).
    console.error(error);
    errorBox.replaceChildren(
      line(`Could not reach the API: ${error instanceof Error ? error.message : String(error)}`),
    );
    return;
  }
  const { data } = error;
  errorBox.replaceChildren(line(data.message), line('Error ', code(data.code), ', request id ', code(data.request_id)));
  const orderId = data.order_id;
  if (orderId === undefined) return;
  const payAgain = element('button', 'Pay again');
  payAgain.addEventListener('click', () => run(payAgain, () => pay(orderId)));
  errorBox.append(line('Kept order ', code(orderId), ' ', payAgain));
}

/** Runs one user action: its button is disabled meanwhile (no double submit), its failure shown. */
function run(button: HTMLButtonElement, action: () => Promise<void>): void {
  button.disabled = true;
  action()
    .catch(showError)
    .finally(() => {
      button.disabled = false;
    });
}

async function signIn(): Promise<void> {
  session = await client.v1.auth.login.mutate({ email: email.value, password: password.value });
  errorBox.hidden = true;
  sessionLine.textContent = `Signed in as ${session.user.name} (${session.user.email})`;
  loginForm.hidden = true;
  await listProducts();
}

async function listProducts(): Promise<void> {
  const page = await client.v1.products.list.query({ limit: 20 });
  productList.replaceChildren(
    ...page.items.map((product) => {
      const buy = element('button', 'Buy');
      buy.setAttribute('aria-label', `Buy ${product.name}`);
      buy.addEventListener('click', () => run(buy, () => placeOrder(product.id)));
      const item = element('li');
      item.append(element('span', `${product.name}, ${formatMoney(product.price)}`), buy);
      return item;
    }),
  );
  shop.hidden = false;
}

/**
 * One checkout, one idempotency key, given to this call alone (calls made in the same tick
 * share one batched request, each with its own key). Resending the call with the same key,
 * after a timeout say, answers the same order and charges once.
 */
async function placeOrder(productId: string): Promise<void> {
  const order = await client.v1.orders.create.mutate(
    { items: [{ productId, quantity: 1 }], paymentMethod: paymentMethod.value },
    { context: { idempotencyKey: crypto.randomUUID() } },
  );
  showOrder(order);
}

async function pay(orderId: string): Promise<void> {
  const order = await client.v1.orders.pay.mutate(
    { orderId, paymentMethod: paymentMethod.value },
    { context: { idempotencyKey: crypto.randomUUID() } },
  );
  showOrder(order);
}

loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const submit = loginForm.querySelector('button');
  if (submit) run(submit, signIn);
});
