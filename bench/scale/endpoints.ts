import { createHash } from 'node:crypto';
import { HEAVY_CUSTOMER_ORDERS, SEARCHED } from './fill.ts';

/** One read endpoint as measured: its REST request, and who asks. */
export interface Endpoint {
  name: string;
  as: 'customer' | 'admin';
  /** The path under the server, given what the scale's data holds. */
  path: (data: ScaleData) => string;
}

/** What each scale's data provides the requests with. */
export interface ScaleData {
  /** One of the heavy customer's orders. */
  orderId: string;
  /** The v2 cursor of the page that starts `DEEP_OFFSET` orders in. */
  deepCursor: string;
}

export const PAGE = 20;
/** A customer's deep page: the last of the heavy customer's orders. */
export const DEEP_OFFSET = HEAVY_CUSTOMER_ORDERS - PAGE;
const searchedSuffix = (n: number) => n.toString();

export const ENDPOINTS: Endpoint[] = [
  { name: 'products list, first page', as: 'customer', path: () => `/api/v1/products?limit=${PAGE}` },
  {
    name: 'products list, page 1,000',
    as: 'customer',
    path: () => `/api/v1/products?limit=${PAGE}&offset=${999 * PAGE}`,
  },
  {
    name: 'products search by name',
    as: 'customer',
    path: () =>
      `/api/v1/products?limit=${PAGE}&q=${encodeURIComponent(`${md5Prefix(SEARCHED)} ${searchedSuffix(SEARCHED)}`)}`,
  },
  {
    name: 'products search by SKU',
    as: 'customer',
    path: () => `/api/v1/products?limit=${PAGE}&q=SKU-${SEARCHED.toString().padStart(7, '0')}`,
  },
  { name: 'one order', as: 'customer', path: (data) => `/api/v1/orders/${data.orderId}` },
  { name: "customer's orders v1, first page", as: 'customer', path: () => `/api/v1/orders?limit=${PAGE}` },
  {
    name: "customer's orders v1, deep page",
    as: 'customer',
    path: () => `/api/v1/orders?limit=${PAGE}&offset=${DEEP_OFFSET}`,
  },
  { name: "customer's orders v2, first page", as: 'customer', path: () => `/api/v2/orders?limit=${PAGE}` },
  {
    name: "customer's orders v2, deep page",
    as: 'customer',
    path: (data) => `/api/v2/orders?limit=${PAGE}&cursor=${encodeURIComponent(data.deepCursor)}`,
  },
  { name: 'users list (admin)', as: 'admin', path: () => `/api/v1/users?limit=${PAGE}` },
  { name: 'users search (admin)', as: 'admin', path: () => `/api/v1/users?limit=${PAGE}&q=user${SEARCHED}%40` },
];

/** The first 8 hex digits of md5(n), as the fill names product n ("Item <md5 8> <n>"). */
function md5Prefix(n: number): string {
  return createHash('md5').update(String(n)).digest('hex').slice(0, 8);
}
