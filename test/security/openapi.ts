/** The parts of an OpenAPI 3.1 document the security suites read. */

// biome-ignore lint/suspicious/noExplicitAny: JSON Schema is open-ended; the generators walk it.
export type JsonSchema = Record<string, any>;

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
}

export interface Operation {
  method: string;
  /** The templated path (`/api/v1/renders/{id}`). */
  path: string;
  /** `GET /api/v1/renders/{id}`: the key of this operation in reports and mappings. */
  key: string;
  parameters: Parameter[];
  /** Request body schemas by media type; empty when the operation takes no body. */
  body: Record<string, JsonSchema>;
  /** Whether the document says a bearer token is needed. */
  secured: boolean;
  /** The response statuses the document lists. */
  statuses: string[];
  description: string;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, JsonSchema>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** Reads `/openapi.json` from the app itself (the document clients see). */
export async function fetchDocument(app: {
  request(path: string): Response | Promise<Response>;
}): Promise<OpenApiDocument> {
  const response = await app.request('/openapi.json');
  if (response.status !== 200) throw new Error(`/openapi.json answered ${response.status}`);
  return (await response.json()) as OpenApiDocument;
}

/** Follows `$ref`s into components (one level at a time, as the generators descend). */
export function resolve(document: OpenApiDocument, schema: JsonSchema | undefined): JsonSchema {
  let current = schema ?? {};
  for (let hops = 0; typeof current.$ref === 'string'; hops++) {
    if (hops > 32) throw new Error(`$ref cycle at ${current.$ref}`);
    const name = String(current.$ref).replace('#/components/schemas/', '');
    const target = document.components?.schemas?.[name];
    if (!target) throw new Error(`unresolved $ref ${current.$ref}`);
    current = target;
  }
  return current;
}

/** Every operation of the document, in document order. */
export function operationsOf(document: OpenApiDocument): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const declared = [
        ...((item.parameters ?? []) as JsonSchema[]),
        ...((operation.parameters ?? []) as JsonSchema[]),
      ];
      const parameters = declared.map((parameter) => ({
        ...parameter,
        schema: resolve(document, parameter.schema),
      })) as Parameter[];
      const content = (operation.requestBody?.content ?? {}) as Record<string, JsonSchema>;
      const body = Object.fromEntries(
        Object.entries(content).map(([type, media]) => [type, resolve(document, media.schema)]),
      );
      operations.push({
        method: method.toUpperCase(),
        path,
        key: `${method.toUpperCase()} ${path}`,
        parameters,
        body,
        secured: Array.isArray(operation.security) && operation.security.length > 0,
        statuses: Object.keys(operation.responses ?? {}),
        description: `${operation.summary ?? ''} ${operation.description ?? ''}`,
      });
    }
  }
  return operations;
}

/** The parameters of an operation that name an object by its id (`{id}`, `generation_id`). */
export function idParameters(operation: Operation): Parameter[] {
  return operation.parameters.filter(
    (parameter) =>
      (parameter.in === 'path' || parameter.in === 'query') && /(^|_)id$/i.test(parameter.name),
  );
}
