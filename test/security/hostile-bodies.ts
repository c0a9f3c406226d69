import fc from 'fast-check';
import type { WebhookSigning } from './fuzz-request.ts';
import {
  headerSafe,
  hostileFor,
  hostileKey,
  hostileNumber,
  hostileString,
  hostileValue,
  sometimes,
  unstorableText,
} from './hostile-values.ts';
import {
  applyStructural,
  applyText,
  type ByteMutation,
  byteMutation,
  encodeText,
  INVALID_UTF8,
  structuralMutation,
  textMutation,
} from './json-mutations.ts';
import type { JsonSchema, OpenApiDocument } from './openapi.ts';
import { propertyWeights, requiredOnly, validValue } from './schema-values.ts';

/**
 * Request bodies derived from an operation's schema: valid ones, and ones with exactly one
 * fault of a kind (one field, the structure, the JSON text, the bytes, the content type, the
 * whole body) or with several at once.
 */
export type BodyFault = 'field' | 'structure' | 'text' | 'bytes' | 'content-type' | 'whole';
export const BODY_FAULTS: readonly BodyFault[] = [
  'field',
  'structure',
  'text',
  'bytes',
  'content-type',
  'whole',
];

export interface Body {
  bytes: Uint8Array | undefined;
  contentType: string | undefined;
  webhook?: { signing: WebhookSigning; junk: string };
}

export interface BodySources {
  document: OpenApiDocument;
  /** The most bytes the route accepts. */
  limitBytes: number;
  files: readonly { name: string; type: string; bytes: Uint8Array }[];
  /** Indexes into `files` of real photos. */
  photos: readonly number[];
  predictionIds: readonly string[];
}

const encoder = new TextEncoder();
const utf8: ByteMutation = { kind: 'utf8' };

const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'application/json; charset=latin1',
  'application/jsonx',
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '*/*',
  '',
];
const wrongType = fc.constantFrom<string | undefined>(...JSON_TYPES.slice(1), undefined);

/** Bodies that are not an object of the right shape at all. */
const WHOLE_BODIES = [
  '',
  'null',
  '[]',
  '""',
  '0',
  'true',
  '{}',
  '{"":""}',
  ' ',
  '\n',
  'a=b&c=d',
  '<?xml version="1.0"?><a/>',
  '\u0000',
  `[${'0,'.repeat(150_000)}0]`,
  '['.repeat(100_000),
  `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`,
];

/** A valid object of the schema with one property (free text more often) set to a hostile value. */
function withHostileField(document: OpenApiDocument, schema: JsonSchema): fc.Arbitrary<unknown> {
  const names = propertyWeights(document, schema);
  if (names.length === 0) return hostileValue;
  const base = fc.oneof(validValue(document, schema), requiredOnly(document, schema));
  return fc.constantFrom(...names).chain((name) =>
    fc.tuple(base, hostileFor(document, schema.properties[name])).map(([value, hostile]) => {
      const copy = { ...(value as Record<string, unknown>) };
      Object.defineProperty(copy, name, { value: hostile, enumerable: true, writable: true });
      return copy;
    }),
  );
}

const serialise = (value: unknown) => JSON.stringify(value) ?? '';

/** A JSON body for `schema`, valid when `fault` is null. */
export function jsonBody(
  sources: BodySources,
  schema: JsonSchema,
  mediaType: string,
  fault: BodyFault | null,
): fc.Arbitrary<Body> {
  const { document } = sources;
  const valid = validValue(document, schema);
  const json = (arbitrary: fc.Arbitrary<string>) =>
    arbitrary.map((text) => ({ bytes: encodeText(text, utf8), contentType: mediaType }));
  switch (fault) {
    case null:
      return json(valid.map(serialise));
    case 'field':
      return json(withHostileField(document, schema).map(serialise));
    case 'structure':
      return json(
        fc
          .tuple(
            valid,
            structuralMutation.filter((mutation) => mutation.kind !== 'none'),
          )
          .map(([value, mutation]) => serialise(applyStructural(value, mutation))),
      );
    case 'text':
      return json(
        fc
          .tuple(valid, textMutation)
          .map(([value, mutation]) => applyText(serialise(value), mutation)),
      );
    case 'bytes':
      return fc.tuple(valid, byteMutation).map(([value, mutation]) => ({
        bytes: encodeText(serialise(value), mutation),
        contentType: mediaType,
      }));
    case 'content-type':
      return fc.tuple(valid, wrongType).map(([value, contentType]) => ({
        bytes: encoder.encode(serialise(value)),
        contentType,
      }));
    case 'whole':
      return fc.oneof(
        { weight: 6, arbitrary: json(fc.constantFrom(...WHOLE_BODIES)) },
        { weight: 2, arbitrary: oversized(sources, schema, mediaType) },
        { weight: 1, arbitrary: fc.constant({ bytes: undefined, contentType: mediaType }) },
      );
  }
}

/** JSON a little over the route's limit: a valid field holding the filler. */
function oversized(sources: BodySources, schema: JsonSchema, mediaType: string) {
  const name = Object.keys(schema.properties ?? {})[0] ?? 'data';
  return fc.integer({ min: 1, max: 8_192 }).map((over) => ({
    bytes: encoder.encode(`{"${name}":"${'a'.repeat(sources.limitBytes + over)}"}`),
    contentType: mediaType,
  }));
}

/** A JSON body with every kind of fault possible at once. */
export function chaoticJsonBody(
  sources: BodySources,
  schema: JsonSchema,
  mediaType: string,
): fc.Arbitrary<Body> {
  return fc
    .record({
      value: validValue(sources.document, schema),
      structural: structuralMutation,
      text: sometimes(textMutation, 30),
      bytes: sometimes(byteMutation, 15),
      contentType: fc.oneof(
        { weight: 4, arbitrary: fc.constant<string | undefined>(mediaType) },
        { weight: 1, arbitrary: wrongType },
      ),
    })
    .map(({ value, structural, text, bytes, contentType }) => {
      const json = serialise(applyStructural(value, structural));
      const mutated = text ? applyText(json, text) : json;
      return { bytes: encodeText(mutated, bytes ?? utf8), contentType };
    });
}

interface Part {
  name: string;
  filename?: string | undefined;
  type?: string | undefined;
  data: Uint8Array;
}

type Framing = 'crlf' | 'lf' | 'no-close' | 'truncate' | 'preamble' | 'no-disposition';
type TypeHeader =
  | 'normal'
  | 'missing-boundary'
  | 'wrong-boundary'
  | 'quoted'
  | 'empty-boundary'
  | 'none'
  | 'json';

function serialiseParts(
  parts: readonly Part[],
  boundary: string,
  framing: Framing,
  truncateAt: number,
  header: TypeHeader,
): Body {
  const eol = framing === 'lf' ? '\n' : '\r\n';
  const chunks: Buffer[] = [];
  if (framing === 'preamble') chunks.push(Buffer.from(`junk before the first part${eol}`));
  parts.forEach((part, index) => {
    const filename = part.filename === undefined ? '' : `; filename="${part.filename}"`;
    const disposition =
      framing === 'no-disposition' && index === 0
        ? ''
        : `Content-Disposition: form-data; name="${part.name}"${filename}${eol}`;
    const type = part.type === undefined ? '' : `Content-Type: ${part.type}${eol}`;
    chunks.push(Buffer.from(`--${boundary}${eol}${disposition}${type}${eol}`));
    chunks.push(Buffer.from(part.data));
    chunks.push(Buffer.from(eol));
  });
  if (framing !== 'no-close') chunks.push(Buffer.from(`--${boundary}--${eol}`));
  let bytes = new Uint8Array(Buffer.concat(chunks));
  if (framing === 'truncate') bytes = bytes.slice(0, truncateAt % (bytes.length + 1));
  const contentType = {
    normal: `multipart/form-data; boundary=${boundary}`,
    'missing-boundary': 'multipart/form-data',
    'wrong-boundary': 'multipart/form-data; boundary=not-the-one',
    quoted: `multipart/form-data; boundary="${boundary}"`,
    'empty-boundary': 'multipart/form-data; boundary=',
    none: undefined,
    json: 'application/json',
  }[header];
  return { bytes, contentType };
}

const BOUNDARIES = ['fuzzboundary', 'x', '----WebKitFormBoundary7MA4YWxkTrZu0gW'];

/**
 * A multipart body: the schema's text fields (valid ones from the schema) and its file fields
 * (real photos), valid when `fault` is null.
 */
export function multipartBody(
  sources: BodySources,
  schema: JsonSchema,
  fault: BodyFault | null,
): fc.Arbitrary<Body> {
  const { document, files, photos } = sources;
  const properties = { ...(schema.properties ?? {}) } as Record<string, JsonSchema>;
  const fileFields = Object.keys(properties).filter(
    (name) => properties[name]?.type === 'array' && properties[name]?.items?.format === 'binary',
  );
  for (const name of fileFields) delete properties[name];
  const fileField = fileFields[0] ?? 'file';
  const fieldsSchema = {
    type: 'object',
    properties,
    required: ((schema.required ?? []) as string[]).filter((name) => name in properties),
  };
  const textParts = (fields: unknown): Part[] =>
    fields !== null && typeof fields === 'object' && !Array.isArray(fields)
      ? Object.entries(fields).map(([name, value]) => ({
          name,
          data: encoder.encode(typeof value === 'string' ? value : JSON.stringify(value)),
        }))
      : [];
  const fileParts = (indexes: readonly number[]): Part[] =>
    indexes.map((index) => ({
      name: fileField,
      filename: files[index]!.name,
      type: files[index]!.type,
      data: files[index]!.bytes,
    }));
  const validFields = validValue(document, fieldsSchema);
  const validFiles = fc.array(fc.constantFrom(...photos), { maxLength: 4 });
  const normal = (parts: Part[]) => serialiseParts(parts, 'fuzzboundary', 'crlf', 0, 'normal');
  const valid = fc
    .tuple(validFields, validFiles)
    .map(([fields, indexes]) => [...textParts(fields), ...fileParts(indexes)]);

  switch (fault) {
    case null:
      return valid.map(normal);
    case 'field':
      return fc
        .tuple(
          withHostileField(document, fieldsSchema),
          validFiles,
          sometimes(fc.constantFrom(...INVALID_UTF8), 30),
        )
        .map(([fields, indexes, invalid]) => {
          const parts = textParts(fields);
          // Raw bytes that are not UTF-8, where the JSON body could only have escapes.
          if (invalid && parts[0]) {
            parts[0].data = new Uint8Array(Buffer.concat([parts[0].data, Buffer.from(invalid)]));
          }
          return normal([...parts, ...fileParts(indexes)]);
        });
    case 'structure': {
      const extraPart: fc.Arbitrary<Part> = fc.record({
        name: fc.oneof(fc.constantFrom(fileField, ...Object.keys(properties)), hostileKey),
        filename: fc.constantFrom(
          undefined,
          '../../etc/passwd',
          'a\u0000.png',
          'x.png',
          '"q".png',
          'é.png',
        ),
        type: fc.constantFrom(
          undefined,
          'image/png',
          'text/plain',
          'image/svg+xml',
          'application/octet-stream',
        ),
        data: fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          hostileString.map((text) => encoder.encode(text)),
          fc.constant(
            encoder.encode('<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>'),
          ),
        ),
      });
      return fc
        .tuple(valid, fc.array(extraPart, { minLength: 1, maxLength: 3 }), fc.nat())
        .map(([parts, extra, drop]) => {
          const all = [...parts, ...extra];
          // Sometimes a required part goes missing instead.
          if (drop % 4 === 0 && parts.length > 0) all.splice(drop % parts.length, 1);
          return normal(all);
        });
    }
    case 'text':
      return fc
        .tuple(
          valid,
          fc.constantFrom<Framing>('lf', 'no-close', 'truncate', 'preamble', 'no-disposition'),
          fc.constantFrom(...BOUNDARIES, 'b'.repeat(200), 'a b'),
          fc.nat(),
        )
        .map(([parts, framing, boundary, truncateAt]) =>
          serialiseParts(parts, boundary, framing, truncateAt, 'normal'),
        );
    case 'bytes':
      return fc
        .tuple(validFields, fc.array(fc.nat(files.length - 1), { minLength: 1, maxLength: 5 }))
        .map(([fields, indexes]) => normal([...textParts(fields), ...fileParts(indexes)]));
    case 'content-type':
      return fc
        .tuple(
          valid,
          fc.constantFrom<TypeHeader>(
            'missing-boundary',
            'wrong-boundary',
            'quoted',
            'empty-boundary',
            'none',
            'json',
          ),
        )
        .map(([parts, header]) => serialiseParts(parts, 'fuzzboundary', 'crlf', 0, header));
    case 'whole':
      return fc.oneof(
        {
          weight: 3,
          arbitrary: fc
            .tuple(valid, fc.integer({ min: 1_100_000, max: 2_500_000 }))
            .map(([parts, length]) =>
              normal([...parts, { name: 'prompt', data: encoder.encode('p'.repeat(length)) }]),
            ),
        },
        {
          weight: 1,
          arbitrary: fc
            .integer({ min: 1, max: 8_192 })
            .map((over) =>
              normal([{ name: 'prompt', data: new Uint8Array(sources.limitBytes + over) }]),
            ),
        },
        {
          weight: 2,
          arbitrary: fc.constantFrom(...WHOLE_BODIES).map((text) => ({
            bytes: encoder.encode(text),
            contentType: 'multipart/form-data; boundary=x',
          })),
        },
      );
  }
}

/** A body for a route that documents none: nothing, or something odd. */
export function undocumentedBody(): fc.Arbitrary<Body> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant({ bytes: undefined, contentType: undefined }) },
    {
      weight: 3,
      arbitrary: fc
        .record({
          value: hostileValue,
          bytes: sometimes(byteMutation, 30),
          contentType: fc.constantFrom<string | undefined>(...JSON_TYPES, undefined),
        })
        .map(({ value, bytes, contentType }) => ({
          bytes: encodeText(serialise(value), bytes ?? utf8),
          contentType,
        })),
    },
  );
}

const OUTPUT_URLS = [
  'https://replicate.delivery/pbxt/abc/out-0.webp',
  'https://replicate.delivery.evil.example/out.webp',
  'http://127.0.0.1:22/',
  'http://[::1]/',
  'http://169.254.169.254/latest/meta-data/',
  'file:///etc/passwd',
  'data:image/png;base64,AAAA',
  'ftp://replicate.delivery/x',
  'not a url',
];

const PREDICTION_STATUSES = ['starting', 'processing', 'succeeded', 'failed', 'canceled'];

/** A Replicate prediction as a webhook carries it, about a prediction some job knows. */
function prediction(sources: BodySources): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    {
      id: fc.constantFrom(...sources.predictionIds),
      status: fc.constantFrom(...PREDICTION_STATUSES),
      output: fc.array(fc.constantFrom(...OUTPUT_URLS), { maxLength: 4 }),
      error: fc.constant(null),
      metrics: fc.record({ predict_time: fc.double({ min: 0, max: 100, noNaN: true }) }),
      created_at: fc.constant(new Date().toISOString()),
      completed_at: fc.constant(null),
    },
    { requiredKeys: ['id', 'status'] },
  );
}

const hostilePredictionField: Record<string, fc.Arbitrary<unknown>> = {
  id: fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), unstorableText, hostileValue),
  status: fc.oneof(fc.constant('aborted'), hostileString, hostileValue),
  output: fc.oneof(fc.constantFrom(...OUTPUT_URLS), hostileValue),
  error: hostileValue,
  metrics: fc.oneof(fc.record({ predict_time: hostileNumber }), hostileValue),
  created_at: hostileString,
  completed_at: hostileString,
  logs: fc.oneof(unstorableText, hostileValue),
};

const SIGNING_FAULTS: readonly WebhookSigning[] = [
  'stale',
  'future',
  'bad-signature',
  'wrong-secret',
  'garbage',
  'missing-id',
  'missing-timestamp',
  'missing-signature',
  'junk-timestamp',
  'replay',
  'several-signatures',
  'v2-only',
];

/**
 * A webhook delivery: a prediction, signed (at send time) with the right secret unless the
 * fault is in the signing. `signing` is the fault kind `signing` or any body fault.
 */
export function webhookBody(
  sources: BodySources,
  fault: BodyFault | 'signing' | null,
): fc.Arbitrary<Body> {
  const junk = headerSafe(40);
  const signed = (text: fc.Arbitrary<string>, signing: fc.Arbitrary<WebhookSigning>) =>
    fc.tuple(text, signing, junk).map(([json, mode, value]) => ({
      bytes: encoder.encode(json),
      contentType: 'application/json',
      webhook: { signing: mode, junk: value },
    }));
  const valid = prediction(sources);
  const validly = fc.constant<WebhookSigning>('valid');
  switch (fault) {
    case null:
      return signed(valid.map(serialise), validly);
    case 'signing':
      return signed(valid.map(serialise), fc.constantFrom(...SIGNING_FAULTS));
    case 'field':
      return signed(
        fc
          .tuple(valid, fc.constantFrom(...Object.keys(hostilePredictionField)))
          .chain(([value, name]) =>
            hostilePredictionField[name]!.map((hostile) =>
              serialise({ ...value, [name]: hostile }),
            ),
          ),
        validly,
      );
    case 'structure':
      return signed(
        fc
          .tuple(
            valid,
            structuralMutation.filter((mutation) => mutation.kind !== 'none'),
          )
          .map(([value, mutation]) => serialise(applyStructural(value, mutation))),
        validly,
      );
    case 'text':
      return signed(
        fc
          .tuple(valid, textMutation)
          .map(([value, mutation]) => applyText(serialise(value), mutation)),
        validly,
      );
    case 'bytes':
      return fc.tuple(valid, byteMutation, junk).map(([value, mutation, value2]) => ({
        bytes: encodeText(serialise(value), mutation),
        contentType: 'application/json',
        webhook: { signing: 'valid' as const, junk: value2 },
      }));
    case 'content-type':
      return fc.tuple(valid, wrongType, junk).map(([value, contentType, value2]) => ({
        bytes: encoder.encode(serialise(value)),
        contentType,
        webhook: { signing: 'valid' as const, junk: value2 },
      }));
    case 'whole':
      return signed(fc.constantFrom(...WHOLE_BODIES), validly);
  }
}

/** A webhook delivery with every kind of fault possible at once. */
export function chaoticWebhookBody(sources: BodySources): fc.Arbitrary<Body> {
  return fc
    .record({
      value: prediction(sources),
      field: sometimes(fc.constantFrom(...Object.keys(hostilePredictionField)), 50),
      hostile: hostileValue,
      structural: structuralMutation,
      text: sometimes(textMutation, 20),
      bytes: sometimes(byteMutation, 10),
      signing: fc.constantFrom<WebhookSigning>('valid', 'valid', ...SIGNING_FAULTS),
      junk: headerSafe(40),
    })
    .map(({ value, field, hostile, structural, text, bytes, signing, junk }) => {
      const withField = field === null ? value : { ...value, [field]: hostile };
      const json = serialise(applyStructural(withField, structural));
      const mutated = text ? applyText(json, text) : json;
      return {
        bytes: encodeText(mutated, bytes ?? utf8),
        contentType: 'application/json',
        webhook: { signing, junk },
      };
    });
}
