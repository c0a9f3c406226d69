import fc from 'fast-check';
import { FuzzRequest, percentEncode } from './fuzz-request.ts';
import type { Authorization } from './hostile-auth.ts';
import {
  BODY_FAULTS,
  type Body,
  type BodyFault,
  type BodySources,
  chaoticJsonBody,
  chaoticWebhookBody,
  jsonBody,
  multipartBody,
  undocumentedBody,
  webhookBody,
} from './hostile-bodies.ts';
import { headerSafe, hostileKey, hostileString, sometimes } from './hostile-values.ts';
import type { OpenApiDocument, Operation, Parameter } from './openapi.ts';
import { validValue } from './schema-values.ts';

/** What the generators may draw on: who may call, which ids exist, what the stack looks like. */
export interface FuzzContext {
  document: OpenApiDocument;
  /** The user who owns `ownIds`. */
  userToken: string;
  /** Users who have done nothing yet: their requests get past quotas, limits and jobs in flight. */
  freshTokens: readonly string[];
  serviceToken: string;
  hostileAuthorizations: readonly Authorization[];
  /** Ids of the user's own objects, of every kind. */
  ownIds: readonly string[];
  /** Ids of another user's objects. */
  foreignIds: readonly string[];
  /** Replicate prediction ids that jobs know. */
  predictionIds: readonly string[];
  /** Cursors the list routes handed out. */
  cursors: readonly string[];
  webhookSecret: string;
  /** Files to upload: real photos and files that only claim to be images. */
  files: readonly { name: string; type: string; bytes: Uint8Array }[];
  /** Indexes of the real photos in `files`. */
  photos: readonly number[];
  /** The global body limit (a route with its own says so in its description). */
  bodyLimitBytes: number;
}

/** What one request gets wrong: one part of it, or (`chaos`) any number of parts at once. */
export type Fault =
  | 'auth'
  | 'path'
  | 'query'
  | 'headers'
  | 'route'
  | 'signing'
  | BodyFault
  | 'chaos';

type Caller = { label: string; value: string | undefined };

/**
 * A caller the app accepts: mostly the owner of `ownIds` when the route names an object by id,
 * mostly a fresh user otherwise (who has no jobs in flight and no used-up limits).
 */
function validCaller(context: FuzzContext, namesObjects: boolean): fc.Arbitrary<Caller> {
  return fc.oneof(
    {
      weight: namesObjects ? 3 : 1,
      arbitrary: fc.constant({ label: 'user', value: `Bearer ${context.userToken}` }),
    },
    {
      weight: namesObjects ? 1 : 3,
      arbitrary: fc.nat(context.freshTokens.length - 1).map((index) => ({
        label: `fresh user #${index}`,
        value: `Bearer ${context.freshTokens[index]}`,
      })),
    },
  );
}

function hostileCaller(context: FuzzContext): fc.Arbitrary<Caller> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...context.hostileAuthorizations) },
    { weight: 1, arbitrary: fc.constant({ label: 'none', value: undefined }) },
    {
      weight: 1,
      arbitrary: fc.constant({ label: 'service role', value: `Bearer ${context.serviceToken}` }),
    },
  );
}

/** Already-encoded path segments that a route's id must survive. */
const HOSTILE_SEGMENTS = [
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '..',
  '.',
  '%2e%2e',
  '%2E%2E%2F',
  'null',
  'undefined',
  '0',
  '-1',
  '1e9',
  '%27',
  '%27%20or%201%3D1--',
  '%00',
  'a%00b',
  '%ED%A0%80',
  '%FF',
  '%',
  '%zz',
  '%E2%82',
  '%C3%A9',
  'ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '%7B00000000-0000-0000-0000-000000000000%7D',
  '00000000000000000000000000000000',
  '00000000-0000-0000-0000-000000000000%20',
  '00000000-0000-0000-0000-000000000000%0A',
  'x'.repeat(5_000),
];

const isIdName = (name: string) => /(^|_)id$/i.test(name);

function validId(context: FuzzContext): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...context.ownIds) },
    { weight: 1, arbitrary: fc.constantFrom(...context.foreignIds) },
    { weight: 2, arbitrary: fc.uuid() },
  );
}

function hostileId(context: FuzzContext): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(...context.ownIds).map((id) => id.toUpperCase()) },
    { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
    { weight: 2, arbitrary: hostileString.map(percentEncode) },
  );
}

/** Already-encoded query values that parse as numbers, almost, or not at all. */
const HOSTILE_QUERY_VALUES = [
  '',
  '-1',
  '0',
  '1.5',
  '1e309',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  '0b1',
  '99999999999999999999999',
  '%205',
  '5%20',
  '%2B1',
  '1e2',
  '%D9%A3',
  '%00',
  '%ED%A0%80',
  '%FF',
  '%',
  '%zz',
  'true',
  '%5B%5D',
  '1,2',
  'a'.repeat(5_000),
];

/** Cursor dates that Date.parse may accept and Postgres may not, or the other way round. */
const CURSOR_DATES = [
  '1',
  '0',
  '-1',
  '2024-02-30T00:00:00Z',
  '2024-02-30T00:00:00.000000Z',
  '2024-13-01T00:00:00Z',
  '2024-01-01T24:00:00.000000Z',
  '2016-12-31T23:59:60.000000Z',
  '0000-01-01T00:00:00.000000Z',
  '2023-02-29',
  'infinity',
  '-infinity',
  'epoch',
  'now',
  'allballs',
  '294277-01-01T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '-271821-04-20T00:00:00Z',
  'Jan 1 10000',
  'Tue, 30 Feb 2024 00:00:00 GMT',
  '2024-01-01T00:00:00+99:00',
  '2024-01-01T00:00:00.000Z',
  '2024-01-01',
  ' 2024-01-01',
  '2024-01-01\u0000',
];

function hostileCursor(context: FuzzContext): fc.Arbitrary<string> {
  const encode = (text: string) => Buffer.from(text).toString('base64url');
  return fc.oneof(
    {
      weight: 2,
      arbitrary: fc
        .uint8Array({ maxLength: 80 })
        .map((bytes) => Buffer.from(bytes).toString('base64url')),
    },
    {
      weight: 6,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...CURSOR_DATES),
          fc.oneof(fc.uuid(), fc.constantFrom(...context.ownIds), fc.constantFrom('', 'x', '1')),
          fc.constantFrom('', '|', '|extra'),
        )
        .map(([date, id, suffix]) => encode(`${date}|${id}${suffix}`)),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...context.cursors).map((cursor) => `${cursor}=`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', '=', '====', '%00', 'a'.repeat(201), '!!!', '%ED%A0%80'),
    },
  );
}

function validQueryValue(parameter: Parameter, context: FuzzContext): fc.Arbitrary<string> {
  if (parameter.name === 'cursor') return fc.constantFrom(...context.cursors);
  if (isIdName(parameter.name)) return validId(context);
  return validValue(context.document, parameter.schema, parameter.name).map((value) =>
    percentEncode(String(value)),
  );
}

function hostileQueryValue(parameter: Parameter, context: FuzzContext): fc.Arbitrary<string> {
  const options: fc.Arbitrary<string>[] = [
    fc.constantFrom(...HOSTILE_QUERY_VALUES),
    hostileString.map(percentEncode),
  ];
  if (parameter.name === 'cursor') options.push(hostileCursor(context), hostileCursor(context));
  if (isIdName(parameter.name)) options.push(hostileId(context));
  return fc.oneof(...options);
}

const UNKNOWN_QUERY = fc.tuple(
  fc.oneof(
    fc.constantFrom('limit%5B%5D', '__proto__', 'cursor%00', 'a'.repeat(1_000), 'id', 'user_id'),
    hostileKey.map(percentEncode),
  ),
  fc.constantFrom(...HOSTILE_QUERY_VALUES),
);

const queryParameters = (operation: Operation) =>
  operation.parameters.filter((parameter) => parameter.in === 'query');

/** The declared query parameters with valid values (optional ones half the time). */
function validQuery(operation: Operation, context: FuzzContext): fc.Arbitrary<string[]> {
  const pairs = queryParameters(operation).map((parameter) => {
    const pair = validQueryValue(parameter, context).map(
      (value) => `${percentEncode(parameter.name)}=${value}`,
    );
    return parameter.required ? pair : sometimes(pair, 50);
  });
  return fc.tuple(...pairs).map((chosen) => chosen.filter((pair) => pair !== null));
}

/** Valid values but one: a declared parameter hostile or repeated, or unknown ones added. */
function hostileQuery(operation: Operation, context: FuzzContext): fc.Arbitrary<string[]> {
  const declared = queryParameters(operation);
  const unknown = fc
    .tuple(validQuery(operation, context), fc.array(UNKNOWN_QUERY, { minLength: 1, maxLength: 2 }))
    .map(([pairs, extra]) => [...pairs, ...extra.map(([name, value]) => `${name}=${value}`)]);
  if (declared.length === 0) return unknown;
  const oneHostile = fc.nat(declared.length - 1).chain((index) => {
    const parameter = declared[index]!;
    const name = percentEncode(parameter.name);
    return fc
      .tuple(
        validQuery(operation, context),
        hostileQueryValue(parameter, context),
        sometimes(validQueryValue(parameter, context), 15),
      )
      .map(([pairs, value, repeated]) => [
        ...pairs.filter((pair) => !pair.startsWith(`${name}=`)),
        `${name}=${value}`,
        ...(repeated === null ? [] : [`${name}=${repeated}`]),
      ]);
  });
  return fc.oneof({ weight: 5, arbitrary: oneHostile }, { weight: 1, arbitrary: unknown });
}

const PATH_SUFFIXES = ['/', '//', '/.', '%2F', '/extra', ';x=1', '/..%2F..', '%00', '/%ED%A0%80'];

function path(
  operation: Operation,
  context: FuzzContext,
  id: (context: FuzzContext) => fc.Arbitrary<string>,
): fc.Arbitrary<string> {
  const parts = operation.path.split(/(\{[^}]+\})/).map((segment) => {
    const match = /^\{([^}]+)\}$/.exec(segment);
    if (!match) return fc.constant(segment);
    return isIdName(match[1]!) ? id(context) : hostileString.map(percentEncode);
  });
  return fc.tuple(...parts).map((chosen) => chosen.join(''));
}

/** Headers any request may carry: odd Idempotency-Keys and request ids, and others. */
function oddHeaders(): fc.Arbitrary<Record<string, string>> {
  const headers = {
    'idempotency-key': sometimes(
      fc.oneof(
        fc.uuid().map((id) => `key-${id}`),
        fc.constant('fuzz-shared-key'),
        headerSafe(40),
        fc.constantFrom(
          'k'.repeat(255),
          'k'.repeat(256),
          'k'.repeat(300),
          ' ',
          '\x01\x02',
          'key\x7f',
          '\xe9',
        ),
      ),
      40,
    ),
    'x-request-id': sometimes(
      fc.oneof(
        fc.uuid(),
        fc.uuid().map((id) => id.toUpperCase()),
        headerSafe(40),
        fc.constant('r'.repeat(10_000)),
      ),
      30,
    ),
    accept: sometimes(
      fc.constantFrom('*/*', 'text/html', 'application/xml', '', 'application/json;q=0'),
      15,
    ),
    origin: sometimes(fc.constantFrom('https://evil.example', 'null', 'http://localhost'), 15),
    'content-encoding': sometimes(fc.constantFrom('gzip', 'br', 'identity', 'x'), 10),
    'x-forwarded-for': sometimes(headerSafe(20), 10),
    cookie: sometimes(headerSafe(40), 10),
  };
  return fc
    .record(headers)
    .map(
      (chosen) =>
        Object.fromEntries(Object.entries(chosen).filter(([, value]) => value !== null)) as Record<
          string,
          string
        >,
    );
}

const isWebhook = (operation: Operation) =>
  operation.parameters.some(
    (parameter) => parameter.in === 'header' && parameter.name === 'webhook-signature',
  );

/** The faults that apply to an operation, weighted by how many ways each has to go wrong. */
export function faultsOf(operation: Operation): { fault: Fault; weight: number }[] {
  const faults: { fault: Fault; weight: number }[] = [
    { fault: 'auth', weight: 1 },
    { fault: 'headers', weight: 1 },
    { fault: 'route', weight: 1 },
    { fault: 'chaos', weight: 3 },
  ];
  if (operation.parameters.some((parameter) => parameter.in === 'path')) {
    faults.push({ fault: 'path', weight: 2 });
  }
  if (queryParameters(operation).length > 0) faults.push({ fault: 'query', weight: 3 });
  const hasBody = isWebhook(operation) || Object.keys(operation.body).length > 0;
  if (isWebhook(operation)) faults.push({ fault: 'signing', weight: 2 });
  if (hasBody) {
    faults.push(
      { fault: 'field', weight: 6 },
      { fault: 'structure', weight: 2 },
      { fault: 'text', weight: 2 },
      { fault: 'bytes', weight: 1 },
      { fault: 'content-type', weight: 1 },
      { fault: 'whole', weight: 1 },
    );
  } else if (operation.method !== 'GET' && operation.method !== 'HEAD') {
    faults.push({ fault: 'whole', weight: 1 });
  }
  return faults;
}

function bodySources(operation: Operation, context: FuzzContext): BodySources {
  const documented = /at most (\d+) bytes/.exec(operation.description);
  return {
    document: context.document,
    limitBytes: documented ? Number(documented[1]) : context.bodyLimitBytes,
    files: context.files,
    photos: context.photos,
    predictionIds: context.predictionIds,
  };
}

/** The operation's body: valid for `null` (or a body fault of another part), else with the fault. */
function body(operation: Operation, context: FuzzContext, fault: Fault): fc.Arbitrary<Body> {
  const sources = bodySources(operation, context);
  const bodyFault = (BODY_FAULTS as readonly string[]).includes(fault)
    ? (fault as BodyFault)
    : null;
  if (isWebhook(operation)) {
    if (fault === 'chaos') return chaoticWebhookBody(sources);
    return webhookBody(sources, fault === 'signing' ? 'signing' : bodyFault);
  }
  const media = Object.entries(operation.body);
  if (media.length > 0) {
    return fc.oneof(
      ...media.map(([type, schema]) => {
        if (type.startsWith('multipart/')) {
          return multipartBody(sources, schema, fault === 'chaos' ? 'structure' : bodyFault);
        }
        return fault === 'chaos'
          ? chaoticJsonBody(sources, schema, type)
          : jsonBody(sources, schema, type, bodyFault);
      }),
    );
  }
  if (operation.method === 'GET' || operation.method === 'HEAD') {
    return fc.constant({ bytes: undefined, contentType: undefined });
  }
  return bodyFault || fault === 'chaos'
    ? undocumentedBody()
    : fc.constant({ bytes: undefined, contentType: undefined });
}

/**
 * Hostile requests for one operation of the document with the given fault. A request gets
 * exactly that one thing wrong and the rest right, so that the fault reaches the code behind
 * validation: the caller, an id in the path, a query value or cursor, a header, the route, one
 * body field (free text most often, and then often text Postgres cannot store), the body's
 * structure, its JSON text, its bytes, its content type, the whole body, or a webhook's
 * signature. With `chaos` it gets any number of things wrong at once.
 */
export function hostileRequest(
  operation: Operation,
  context: FuzzContext,
  fault: Fault,
): fc.Arbitrary<FuzzRequest> {
  const namesObjects = operation.parameters.some(
    (parameter) => parameter.in !== 'header' && isIdName(parameter.name),
  );
  return fc
    .record({
      caller:
        fault === 'auth'
          ? hostileCaller(context)
          : fault === 'chaos'
            ? fc.oneof(
                { weight: 3, arbitrary: validCaller(context, namesObjects) },
                { weight: 1, arbitrary: hostileCaller(context) },
              )
            : validCaller(context, namesObjects),
      path: path(
        operation,
        context,
        fault === 'path' ? hostileId : fault === 'chaos' ? chaoticId : validId,
      ),
      suffix:
        fault === 'route'
          ? fc.constantFrom(...PATH_SUFFIXES)
          : fault === 'chaos'
            ? fc.constantFrom('', '', '', '', ...PATH_SUFFIXES)
            : fc.constant(''),
      query:
        fault === 'query'
          ? hostileQuery(operation, context)
          : fault === 'chaos'
            ? fc.oneof(validQuery(operation, context), hostileQuery(operation, context))
            : validQuery(operation, context),
      headers:
        fault === 'headers' || fault === 'chaos'
          ? oddHeaders()
          : fc.constant<Record<string, string>>({}),
      body: body(operation, context, fault),
      honestLength: fc.boolean(),
    })
    .map(({ caller, path, suffix, query, headers, body, honestLength }) => {
      const all: Record<string, string> = { ...headers };
      if (caller.value !== undefined) all.authorization = caller.value;
      if (body.contentType !== undefined) all['content-type'] = body.contentType;
      // Real clients send Content-Length; in-process requests have none unless given.
      if (body.bytes !== undefined && honestLength) {
        all['content-length'] = String(body.bytes.length);
      }
      return new FuzzRequest(
        operation.key,
        operation.method,
        `${path}${suffix}${query.length === 0 ? '' : `?${query.join('&')}`}`,
        all,
        `${caller.label}; fault: ${fault}`,
        body.bytes,
        body.webhook ? { ...body.webhook, secret: context.webhookSecret } : undefined,
      );
    });
}

function chaoticId(context: FuzzContext): fc.Arbitrary<string> {
  return fc.oneof(validId(context), hostileId(context));
}

/** How much input an operation takes: its parameters and body properties, at any depth. */
export function inputSize(operation: Operation, document: OpenApiDocument): number {
  const count = (schema: unknown, depth: number): number => {
    if (depth > 4 || schema === null || typeof schema !== 'object') return 0;
    const node = schema as Record<string, unknown>;
    if (typeof node.$ref === 'string') {
      const name = node.$ref.replace('#/components/schemas/', '');
      return count(document.components?.schemas?.[name], depth + 1);
    }
    const properties = (node.properties ?? {}) as Record<string, unknown>;
    return (
      Object.keys(properties).length +
      Object.values(properties).reduce<number>((sum, child) => sum + count(child, depth + 1), 0) +
      count(node.items, depth + 1)
    );
  };
  return (
    operation.parameters.length +
    Object.values(operation.body).reduce<number>((sum, schema) => sum + count(schema, 0), 0)
  );
}
