import fc from 'fast-check';
import { type JsonSchema, type OpenApiDocument, resolve } from './openapi.ts';

/** Realistic values by field name, so that valid bodies reach past validation. */
const WELL_KNOWN: Record<string, fc.Arbitrary<unknown>> = {
  model: fc.constantFrom('default', 'openai/gpt-4o-mini', 'openrouter/meta-llama/llama-3-8b'),
  source_text: fc
    .integer({ min: 1_000, max: 3_000 })
    .map((length) =>
      'Coral reefs are built by colonies of tiny animals. They shelter a quarter of all marine species. '
        .repeat(40)
        .slice(0, length),
    ),
  prompt: fc.constantFrom('a sunroom with terracotta tiles', 'a bakery in Hobart', 'warm and calm'),
};

/**
 * Values that satisfy `schema`, as far as a JSON Schema can say (lengths and counts are kept
 * short unless the schema needs more, so valid bodies stay cheap).
 */
export function validValue(
  document: OpenApiDocument,
  raw: JsonSchema | undefined,
  name = '',
  depth = 0,
): fc.Arbitrary<unknown> {
  const schema = resolve(document, raw);
  const known = WELL_KNOWN[name];
  if (known && depth > 0) {
    return fc
      .oneof({ weight: 3, arbitrary: known }, fc.constant(undefined))
      .chain((value) =>
        value === undefined ? validFromSchema(document, schema, name, depth) : fc.constant(value),
      );
  }
  return validFromSchema(document, schema, name, depth);
}

function validFromSchema(
  document: OpenApiDocument,
  schema: JsonSchema,
  name: string,
  depth: number,
): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ('const' in schema) return fc.constant(schema.const);
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (alternatives) {
    return fc.oneof(...alternatives.map((option) => validValue(document, option, name, depth)));
  }
  if (Array.isArray(schema.type)) {
    return fc.oneof(
      ...(schema.type as string[]).map((type) =>
        validFromSchema(document, { ...schema, type }, name, depth),
      ),
    );
  }
  switch (schema.type) {
    case 'string': {
      if (schema.format === 'uuid') return fc.uuid();
      if (schema.format === 'binary') return fc.string({ maxLength: 16 });
      const minLength = schema.minLength ?? 0;
      const maxLength = Math.min(schema.maxLength ?? minLength + 40, minLength + 40);
      if (typeof schema.pattern === 'string') {
        return fc
          .stringMatching(new RegExp(schema.pattern))
          .filter((text) => text.length >= minLength && text.length <= (schema.maxLength ?? 1e9));
      }
      return fc.string({ minLength, maxLength });
    }
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000, max: schema.maximum ?? 1_000 });
    case 'number':
      return fc.double({
        min: schema.minimum ?? -1_000,
        max: schema.maximum ?? 1_000,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const minLength = schema.minItems ?? 0;
      const maxLength = Math.min(schema.maxItems ?? minLength + 3, minLength + 3);
      return fc.array(validValue(document, schema.items, name, depth + 1), {
        minLength,
        maxLength,
      });
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const names = Object.keys(properties);
      if (names.length === 0) return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue());
      return fc.record(
        Object.fromEntries(
          names.map((key) => [key, validValue(document, properties[key], key, depth + 1)]),
        ),
        { requiredKeys: ((schema.required ?? []) as string[]).filter((key) => key in properties) },
      );
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/**
 * A valid object with only the properties its schema requires: the smallest body that should
 * be accepted, so that one hostile field added to it is the only thing that differs.
 */
export function requiredOnly(
  document: OpenApiDocument,
  raw: JsonSchema | undefined,
): fc.Arbitrary<Record<string, unknown>> {
  const schema = resolve(document, raw);
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = ((schema.required ?? []) as string[]).filter((key) => key in properties);
  return fc.record(
    Object.fromEntries(required.map((key) => [key, validValue(document, properties[key], key, 1)])),
  );
}

/** The free-text properties of an object schema count thrice: that is where unstorable text goes. */
export function propertyWeights(document: OpenApiDocument, raw: JsonSchema | undefined): string[] {
  const schema = resolve(document, raw);
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  return Object.entries(properties).flatMap(([name, property]) => {
    const resolved = resolve(document, property);
    const freeText =
      resolved.type === 'string' &&
      resolved.enum === undefined &&
      resolved.format === undefined &&
      !resolved.pattern;
    return freeText ? [name, name, name] : [name];
  });
}
