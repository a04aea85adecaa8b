import type { AnyProcedure, AnyRouter } from '@trpc/server';
import { inputPlanOf, type InputPlan } from './input-plan.ts';
import { openApiProceduresOf } from './openapi-procedures.ts';

/** One REST operation: a procedure and what its `meta.openapi` says about its HTTP side. */
export interface RestRoute {
  method: string;
  /** The procedure's tRPC path, `v1.products.get`. */
  path: string;
  /** Its path as the OpenAPI document writes it, `/v1/orders/{id}` (a route label for metrics and traces). */
  template: string;
  type: 'query' | 'mutation';
  procedure: AnyProcedure;
  /** Each path segment: a literal in lower case, or null for a `{param}`. */
  segments: (string | null)[];
  /** The names of the `{param}` segments, in order. */
  paramNames: string[];
  /** trpc-to-openapi reads the input of every method but GET and DELETE from the body. */
  inputFromBody: boolean;
  input: InputPlan;
}

export interface RouteMatch {
  route: RestRoute;
  /** Path parameters as sent (still percent-encoded, as trpc-to-openapi passes them). */
  params: Record<string, string>;
}

const PARAM = /^\{(.+)\}$/;

/** trpc-to-openapi's normalizePath without the leading slash: one `/` off each end. */
function trimOneSlash(path: string): string {
  const start = path.startsWith('/') ? 1 : 0;
  const end = path.length > start && path.endsWith('/') ? path.length - 1 : path.length;
  return path.slice(start, end);
}

function routeOf(path: string, procedure: AnyProcedure, openapi: { method: string; path: string }): RestRoute {
  const segments: (string | null)[] = [];
  const paramNames: string[] = [];
  for (const segment of trimOneSlash(openapi.path).split('/')) {
    const param = PARAM.exec(segment)?.[1];
    if (param !== undefined) {
      segments.push(null);
      paramNames.push(param);
    } else if (segment.includes('{')) {
      throw new Error(`REST path ${openapi.path} of ${path}: a parameter must be a whole segment`);
    } else {
      segments.push(segment.toLowerCase());
    }
  }
  const inputFromBody = openapi.method !== 'GET' && openapi.method !== 'DELETE';
  return {
    method: openapi.method,
    path,
    template: `/${trimOneSlash(openapi.path)}`,
    type: procedure._def.type as 'query' | 'mutation',
    procedure,
    segments,
    paramNames,
    inputFromBody,
    input: inputPlanOf(procedure, { fromQuery: !inputFromBody }),
  };
}

/**
 * The REST routes of a router, built once at start from each procedure's `meta.openapi`, and
 * the lookup of a request: by method, then by the number of path segments, then the first
 * route (in the router's order, as trpc-to-openapi scans them) whose literal segments match
 * case-insensitively, as its case-insensitive regular expressions do. No regex per request.
 */
export function createRouteTable(router: AnyRouter) {
  const byMethod = new Map<string, Map<number, RestRoute[]>>();
  const routes: RestRoute[] = [];
  for (const { path, procedure, openapi } of openApiProceduresOf(router)) {
    if (openapi.enabled === false || procedure._def.type === 'subscription') continue;
    const route = routeOf(path, procedure, openapi);
    routes.push(route);
    let bySize = byMethod.get(route.method);
    if (!bySize) byMethod.set(route.method, (bySize = new Map<number, RestRoute[]>()));
    let bucket = bySize.get(route.segments.length);
    if (!bucket) bySize.set(route.segments.length, (bucket = []));
    bucket.push(route);
  }

  function match(method: string, pathname: string): RouteMatch | undefined {
    const candidates = byMethod.get(method);
    if (!candidates) return undefined;
    const parts = trimOneSlash(pathname).split('/');
    const bucket = candidates.get(parts.length);
    if (!bucket) return undefined;
    for (const route of bucket) {
      if (!segmentsMatch(route.segments, parts)) continue;
      const params = Object.create(null) as Record<string, string>;
      let index = 0;
      for (let i = 0; i < parts.length; i++) {
        if (route.segments[i] === null) params[route.paramNames[index++] as string] = parts[i] as string;
      }
      return { route, params };
    }
    return undefined;
  }

  return { routes, match };
}

function segmentsMatch(segments: readonly (string | null)[], parts: readonly string[]): boolean {
  for (let i = 0; i < parts.length; i++) {
    const literal = segments[i] as string | null;
    const part = parts[i] as string;
    if (literal === null) {
      if (part === '') return false;
    } else if (part.length !== literal.length || part.toLowerCase() !== literal) {
      return false;
    }
  }
  return true;
}

export type RouteTable = ReturnType<typeof createRouteTable>;
