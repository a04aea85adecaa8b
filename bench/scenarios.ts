import type { BenchFixture } from './fixture.ts';
import type { LoadRequest } from './load.ts';
import { ORDER_CREATE_SCENARIOS } from './order-scenarios.ts';

export interface Scenario {
  name: string;
  server: string;
  /** What it is compared with. */
  baseline?: string;
  request: (fixture: BenchFixture) => LoadRequest;
  /** Calls per HTTP request (a batch). */
  callsPerRequest?: number;
  /** Measured in its pair only (warmed first), not in the table's rounds: keeps the run shorter. */
  pairedOnly?: boolean;
}

const tokenHeader = (fixture: BenchFixture) => ({ authorization: `Bearer ${fixture.accessToken}` });
const input = (value: unknown) => encodeURIComponent(JSON.stringify(value));

export const BARE = 'bare node http';
export const FLOOR_PRODUCTS = 'floor: pg select + log line (products.get)';
export const FLOOR_ORDERS = 'floor: + JWT verify (orders.get)';
export const TRACED_PING = 'service, tracing on: tRPC system.ping';
export const TRACED_PRODUCTS = 'service, tracing on: tRPC products.get';
export const METRICS_PING = 'service, metrics on: tRPC system.ping';
export const METRICS_PRODUCTS = 'service, metrics on: tRPC products.get';
const productsGet = (f: BenchFixture) => ({ path: `/trpc/v1.products.get?input=${input({ productId: f.productId })}` });
const productsGetRest = (f: BenchFixture) => ({ path: `/api/v1/products/${f.productId}` });
const ping = () => ({ path: '/trpc/v1.system.ping' });

/** Every scenario, in the order each round measures them; `server` names a ServerSpec. */
export const SCENARIOS: Scenario[] = [
  { name: BARE, server: 'bare', request: () => ({ path: '/' }) },
  {
    name: FLOOR_PRODUCTS,
    server: 'floor',
    baseline: BARE,
    request: (f) => ({ path: `/products/${f.productId}` }),
  },
  {
    name: FLOOR_ORDERS,
    server: 'floor',
    baseline: BARE,
    request: (f) => ({ path: `/orders/${f.orderId}`, headers: tokenHeader(f) }),
  },
  {
    name: 'official tRPC adapter, trivial query',
    server: 'trpc',
    baseline: BARE,
    request: () => ({ path: `/ping?input=${input({ name: 'x' })}` }),
  },
  { name: 'service: tRPC system.ping', server: 'service', baseline: BARE, request: ping },
  {
    name: 'service: REST system.ping',
    server: 'service',
    baseline: BARE,
    request: () => ({ path: '/api/v1/system/ping' }),
  },
  {
    name: 'service, logging off: tRPC system.ping',
    server: 'service-quiet',
    baseline: BARE,
    request: ping,
  },
  { name: 'service: tRPC products.get', server: 'service', baseline: FLOOR_PRODUCTS, request: productsGet },
  { name: 'service: REST products.get', server: 'service', baseline: FLOOR_PRODUCTS, request: productsGetRest },
  {
    name: 'service: tRPC orders.get (auth)',
    server: 'service',
    baseline: FLOOR_ORDERS,
    request: (f) => ({ path: `/trpc/v1.orders.get?input=${input({ orderId: f.orderId })}`, headers: tokenHeader(f) }),
  },
  {
    name: 'service: REST orders.get (auth)',
    server: 'service',
    baseline: FLOOR_ORDERS,
    request: (f) => ({ path: `/api/v1/orders/${f.orderId}`, headers: tokenHeader(f) }),
  },
  {
    name: 'service: tRPC batch of 10 products.get',
    server: 'service',
    baseline: FLOOR_PRODUCTS,
    callsPerRequest: 10,
    request: (f) => ({
      path: `/trpc/${Array(10).fill('v1.products.get').join(',')}?batch=1&input=${input(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), { productId: f.productId }])))}`,
    }),
  },
  ...ORDER_CREATE_SCENARIOS,
  // Tracing on at sampling 1.0, and metrics on: their cost, read as pairs against the service (pairs.ts).
  { name: TRACED_PING, server: 'service-traced', baseline: BARE, request: ping },
  { name: TRACED_PRODUCTS, server: 'service-traced', baseline: FLOOR_PRODUCTS, request: productsGet },
  { name: METRICS_PING, server: 'service-metrics', baseline: BARE, request: ping },
  { name: METRICS_PRODUCTS, server: 'service-metrics', baseline: FLOOR_PRODUCTS, request: productsGet },
  // The same service on the official adapters (HTTP_ADAPTER=official): what the native paths buy.
  {
    name: 'official adapters: tRPC system.ping',
    server: 'service-official',
    baseline: BARE,
    request: ping,
  },
  {
    name: 'official adapters: tRPC products.get',
    server: 'service-official',
    baseline: FLOOR_PRODUCTS,
    request: productsGet,
  },
  {
    name: 'official adapters: REST products.get',
    server: 'service-official',
    baseline: FLOOR_PRODUCTS,
    request: productsGetRest,
  },
];

/** The scenarios whose names contain one of BENCH_ONLY's comma-separated parts; all without it. */
export function selectedScenarios(only: string | undefined): Scenario[] {
  const parts = only?.split(',').map((name) => name.trim());
  return SCENARIOS.filter((scenario) => !parts || parts.some((name) => scenario.name.includes(name)));
}
