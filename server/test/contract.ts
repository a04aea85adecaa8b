import { appendFileSync, readFileSync } from 'node:fs';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { OpenAPIObject } from 'trpc-to-openapi';

/** What the server sent for one REST request, as the client got it. */
export interface RecordedResponse {
  method: string;
  /** A CORS preflight (OPTIONS with Access-Control-Request-Method): answered before any route. */
  preflight: boolean;
  /** The request path, without its query string. */
  path: string;
  status: number;
  contentType: string | undefined;
  /** Lower-case names of the response headers. */
  headerNames: string[];
  body: string;
}

type PathItem = NonNullable<OpenAPIObject['paths']>[string];
type Operation = NonNullable<PathItem['get']>;
type Components = NonNullable<OpenAPIObject['components']>;

interface DocumentedResponse {
  description?: string;
  headers?: Record<string, { $ref?: string; required?: boolean }>;
  content?: Record<string, { schema?: unknown }>;
}

interface Route {
  template: string;
  pattern: RegExp;
  /** Literal segments win over `{param}` ones, as in the server's router. */
  params: number;
  methods: Map<string, Operation>;
}

const DOCUMENT_URL = new URL('../../openapi.json', import.meta.url);
const DOCUMENT_ID = 'https://orders-service.test/openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^$|()[\]\\]/g, '\\$&');
}

/** A JSON pointer as a URI fragment, the way Ajv reads one back. */
function pointer(...parts: string[]): string {
  return `#/${parts.map((part) => encodeURIComponent(part.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/')}`;
}

/** The media type of a Content-Type header, without parameters. */
function mediaTypeOf(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase();
}

/**
 * Checks recorded REST responses against the committed openapi.json: the path template and
 * method name an operation, the status must be one it documents, the body must match that
 * status's schema (Ajv, JSON Schema 2020-12, `$ref`s resolved in the document) and the
 * response must carry the headers it marks required. A request no operation matches must be
 * answered 404 or 405 with the Error envelope, a CORS preflight 204 without a body.
 */
export class OpenApiContract {
  private readonly document: OpenAPIObject;
  private readonly ajv: Ajv2020;
  private readonly routes: Route[];
  private readonly basePath: string;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(document: OpenAPIObject) {
    this.document = document;
    this.basePath = document.servers?.[0]?.url ?? '';
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
    addFormats.default(this.ajv);
    this.ajv.addSchema({ ...document, $id: DOCUMENT_ID });
    this.routes = Object.entries(document.paths ?? {}).map(([template, item]) => ({
      template,
      pattern: new RegExp(`^${escapeRegExp(this.basePath + template).replace(/\{[^}]+\}/g, '[^/]+')}$`),
      params: (template.match(/\{/g) ?? []).length,
      methods: new Map(METHODS.flatMap((method) => (item[method] ? [[method, item[method]] as const] : []))),
    }));
  }

  /** Violations of one response; none when it is what the document promises. */
  check(response: RecordedResponse): string[] {
    if (response.preflight) {
      const ok = response.status === 204 && response.body === '';
      return ok
        ? []
        : [
            `${response.method} ${response.path} (CORS preflight) -> ${response.status}: a preflight is answered 204 without a body`,
          ];
    }
    // HEAD is GET without the body.
    const method = response.method === 'HEAD' ? 'get' : response.method.toLowerCase();
    const path = response.path.length > 1 ? response.path.replace(/\/$/, '') : response.path;
    const candidates = this.routes.filter((route) => route.pattern.test(path) && route.methods.has(method));
    const route = candidates.sort((a, b) => a.params - b.params)[0];
    if (!route) return this.checkOutsideDocument(response);
    const where = `${response.method} ${route.template} -> ${response.status}`;
    const documented = this.responseOf(route, method, response.status);
    if (!documented) return [`${where}: status ${response.status} is not documented (body ${snippet(response.body)})`];
    return [
      ...this.checkHeaders(where, documented, response),
      ...this.checkBody(where, response, {
        documented,
        schemaPointer: (mediaType) =>
          pointer(
            'paths',
            route.template,
            method,
            'responses',
            String(response.status),
            'content',
            mediaType,
            'schema',
          ),
      }),
    ];
  }

  private responseOf(route: Route, method: string, status: number): DocumentedResponse | undefined {
    const responses = (route.methods.get(method)?.responses ?? {}) as Record<string, DocumentedResponse | undefined>;
    return responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
  }

  /** Unknown routes are not operations: they get the router's 404 (or 405) in the Error envelope. */
  private checkOutsideDocument(response: RecordedResponse): string[] {
    const where = `${response.method} ${response.path} (no operation) -> ${response.status}`;
    if (response.status !== 404 && response.status !== 405) {
      return [
        `${where}: only 404 or 405 may answer a request that no operation matches (body ${snippet(response.body)})`,
      ];
    }
    return this.checkBody(where, response, {
      documented: { content: { 'application/json': {} } },
      schemaPointer: () => pointer('components', 'schemas', 'Error'),
    });
  }

  private checkHeaders(where: string, documented: DocumentedResponse, response: RecordedResponse): string[] {
    const components: Components = this.document.components ?? {};
    const violations: string[] = [];
    for (const [name, header] of Object.entries(documented.headers ?? {})) {
      const resolved = header.$ref ? components.headers?.[header.$ref.split('/').at(-1) ?? ''] : header;
      const required = resolved !== undefined && 'required' in resolved && resolved.required === true;
      if (required && !response.headerNames.includes(name.toLowerCase()))
        violations.push(`${where}: required header ${name} is missing`);
    }
    return violations;
  }

  private checkBody(
    where: string,
    response: RecordedResponse,
    { documented, schemaPointer }: { documented: DocumentedResponse; schemaPointer: (mediaType: string) => string },
  ): string[] {
    const content = documented.content ?? {};
    if (response.method === 'HEAD') return [];
    if (Object.keys(content).length === 0) {
      return response.body === '' ? [] : [`${where}: the document promises no body, got ${snippet(response.body)}`];
    }
    const mediaType = mediaTypeOf(response.contentType);
    if (mediaType === undefined || !(mediaType in content)) {
      return [
        `${where}: Content-Type ${response.contentType ?? '(none)'} is not one of ${Object.keys(content).join(', ')}`,
      ];
    }
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      return [`${where}: the body is not JSON: ${snippet(response.body)}`];
    }
    const validate = this.validatorFor(schemaPointer(mediaType));
    if (validate(body)) return [];
    return [`${where}: ${this.ajv.errorsText(validate.errors, { dataVar: 'body' })} (body ${snippet(response.body)})`];
  }

  private validatorFor(fragment: string): ValidateFunction {
    let validate = this.validators.get(fragment);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}${fragment}` });
      this.validators.set(fragment, validate);
    }
    return validate;
  }
}

function snippet(body: string): string {
  return body.length > 300 ? `${body.slice(0, 300)}…` : body || '(empty)';
}

let contract: OpenApiContract | undefined;

/** The contract of the committed openapi.json, read once per test worker. */
export function committedContract(): OpenApiContract {
  contract ??= new OpenApiContract(JSON.parse(readFileSync(DOCUMENT_URL, 'utf8')) as OpenAPIObject);
  return contract;
}

function isRestPath(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  return path === '/api' || path.startsWith('/api/');
}

/** Copies what is written to a response (string or bytes, in any encoding) into `chunks`. */
function keep(chunks: Buffer[], [chunk, encoding]: unknown[]): void {
  if (typeof chunk === 'string') {
    chunks.push(Buffer.from(chunk, typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8'));
  } else if (chunk instanceof Uint8Array) {
    chunks.push(Buffer.from(chunk));
  }
}

/**
 * Wraps an app's request handler so every response to `/api/...` is recorded as sent; `verify`
 * then checks them all against openapi.json (or the `contract` given) and throws, listing every
 * violation. The test harness does this for every app it starts, so each test file checks the
 * contract for free.
 */
export function recordRestResponses(handler: RequestListener, contract: () => OpenApiContract = committedContract) {
  const responses: RecordedResponse[] = [];

  function record(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    if (!isRestPath(url)) {
      handler(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.write = ((...args: unknown[]) => {
      keep(chunks, args);
      return write(...args);
    }) as typeof res.write;
    res.end = ((...args: unknown[]) => {
      keep(chunks, args);
      return end(...args);
    }) as typeof res.end;
    res.once('finish', () => {
      const contentType = res.getHeader('content-type');
      responses.push({
        method: req.method ?? 'GET',
        preflight: req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined,
        path: url.split('?')[0] ?? url,
        status: res.statusCode,
        contentType: contentType === undefined ? undefined : String(contentType),
        headerNames: res.getHeaderNames(),
        body: Buffer.concat(chunks).toString('utf8'),
      });
    });
    handler(req, res);
  }

  return {
    handler: record,
    responses,
    /** Throws when any recorded response breaks the document, listing each violation once with its count. */
    verify(): void {
      const checker = contract();
      const checked = responses.map((response) => checker.check(response));
      const violations = checked.flat();
      const report = process.env.OPENAPI_CONTRACT_REPORT;
      if (report) appendFileSync(report, `${JSON.stringify({ responses: responses.length, violations })}\n`);
      if (violations.length === 0) return;
      const broken = checked.filter((found) => found.length > 0).length;
      const counts = new Map<string, number>();
      for (const violation of violations) counts.set(violation, (counts.get(violation) ?? 0) + 1);
      const lines = [...counts].map(([violation, count]) => `- ${violation}${count > 1 ? ` (x${count})` : ''}`);
      throw new Error(
        `${broken} of ${responses.length} REST responses break openapi.json (run \`pnpm openapi\` if the document is stale):\n${lines.join('\n')}`,
      );
    },
  };
}

export type RestRecorder = ReturnType<typeof recordRestResponses>;
