import { readFileSync } from 'node:fs';

/**
 * The operations of openapi.json as the fuzzer sends them (fuzz-cases.ts), and a valid value
 * of any of their fields: its fixture (a real id), else its example, else a plain one.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface JsonSchema {
  $ref?: string;
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  example?: unknown;
  default?: unknown;
}

export interface Operation {
  id: string;
  method: HttpMethod;
  /** The REST path template under `/api`, e.g. `/v1/users/{userId}`. */
  template: string;
  type: 'query' | 'mutation';
  pathParams: Record<string, JsonSchema>;
  queryParams: Record<string, JsonSchema>;
  headerParams: string[];
  body: Record<string, JsonSchema>;
}

interface OpenApiOperation {
  operationId?: string;
  parameters?: { in: string; name: string; schema?: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

interface OpenApiDocument {
  servers?: { url: string }[];
  paths: Record<string, Partial<Record<string, OpenApiOperation>>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const DOCUMENT = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8')) as OpenApiDocument;
export const REST_BASE = DOCUMENT.servers?.[0]?.url ?? '/api';

export const OPERATIONS: Operation[] = Object.entries(DOCUMENT.paths).flatMap(([template, item]) =>
  (['get', 'post', 'patch', 'put', 'delete'] as const).flatMap((verb) => {
    const operation = item[verb];
    if (!operation?.operationId) return [];
    const parameters = operation.parameters ?? [];
    const named = (where: string) =>
      Object.fromEntries(parameters.filter((p) => p.in === where).map((p) => [p.name, p.schema ?? {}]));
    const method = verb.toUpperCase() as HttpMethod;
    return [
      {
        id: operation.operationId,
        method,
        template,
        type: method === 'GET' ? ('query' as const) : ('mutation' as const),
        pathParams: named('path'),
        queryParams: named('query'),
        headerParams: parameters.filter((p) => p.in === 'header').map((p) => p.name),
        body: operation.requestBody?.content?.['application/json']?.schema?.properties ?? {},
      },
    ];
  }),
);

export const fieldsOf = (operation: Operation) => [
  ...Object.keys(operation.body),
  ...Object.keys(operation.queryParams),
  ...Object.keys(operation.pathParams),
];

/** Ids and values that exist in the fuzzed database, by field name, so a valid input gets past its lookups. */
export type Fixtures = Record<string, string>;

function resolve(schema: JsonSchema): JsonSchema {
  const name = schema.$ref?.split('/').at(-1);
  return name === undefined ? schema : (DOCUMENT.components?.schemas?.[name] ?? {});
}

/** A valid value of `schema` under `name`: the fixture of that name, else its example, else a plain one. */
export function validValue(name: string, schema: JsonSchema, fixtures: Fixtures): unknown {
  const resolved = resolve(schema);
  if (fixtures[name] !== undefined) return fixtures[name];
  if (resolved.example !== undefined) return resolved.example;
  if (resolved.default !== undefined) return resolved.default;
  if (resolved.enum) return resolved.enum[0];
  const [first] = (resolved.anyOf ?? []).filter((option) => option.type !== 'null');
  if (first) return validValue(name, first, fixtures);
  switch (resolved.type ?? 'string') {
    case 'object':
      return Object.fromEntries(
        Object.entries(resolved.properties ?? {}).map(([key, child]) => [key, validValue(key, child, fixtures)]),
      );
    case 'array':
      return [validValue(name, resolved.items ?? {}, fixtures)];
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return false;
    default:
      return 'text';
  }
}
