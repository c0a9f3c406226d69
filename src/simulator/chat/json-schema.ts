import { pick, seededRandom } from '../seeded.ts';

type Schema = Record<string, unknown>;

const MAX_DEPTH = 8;

/**
 * A value that satisfies a JSON Schema of the usual structured-outputs subset (object, array,
 * string with enum/const/format/length, number, integer, boolean, null, anyOf/oneOf/allOf, local
 * $ref), filled with the given words. Deterministic for the same schema and words.
 */
export function instanceOf(schema: unknown, terms: readonly string[], seed: string): unknown {
  const random = seededRandom(`schema:${seed}`);
  const root = isSchema(schema) ? schema : {};
  const word = () => (terms.length > 0 ? pick(random, terms) : 'example');

  function build(node: Schema, depth: number): unknown {
    if (depth > MAX_DEPTH) return null;
    if (typeof node.$ref === 'string') return build(resolveRef(root, node.$ref), depth + 1);
    if ('const' in node) return node.const;
    if (Array.isArray(node.enum) && node.enum.length > 0) return node.enum[0];
    for (const key of ['anyOf', 'oneOf'] as const) {
      const options = node[key];
      if (Array.isArray(options)) {
        const choice =
          options.find((option) => isSchema(option) && option.type !== 'null') ?? options[0];
        return build(isSchema(choice) ? choice : {}, depth + 1);
      }
    }
    if (Array.isArray(node.allOf)) {
      return build(Object.assign({}, ...node.allOf.filter(isSchema)) as Schema, depth + 1);
    }
    const type = Array.isArray(node.type)
      ? (node.type.find((entry) => entry !== 'null') ?? 'null')
      : node.type;
    switch (type) {
      case 'object': {
        const properties = isSchema(node.properties) ? node.properties : {};
        const result: Record<string, unknown> = {};
        for (const [name, property] of Object.entries(properties)) {
          result[name] = build(isSchema(property) ? property : {}, depth + 1);
        }
        return result;
      }
      case 'array': {
        const min = typeof node.minItems === 'number' ? node.minItems : 1;
        const max = typeof node.maxItems === 'number' ? node.maxItems : Math.max(min, 3);
        const count = Math.min(max, Math.max(min, 2));
        const items = isSchema(node.items) ? node.items : {};
        return Array.from({ length: count }, () => build(items, depth + 1));
      }
      case 'string':
        return stringFor(node, word);
      case 'integer':
      case 'number': {
        const minimum = typeof node.minimum === 'number' ? node.minimum : 0;
        const maximum = typeof node.maximum === 'number' ? node.maximum : minimum + 100;
        const value = minimum + random() * (maximum - minimum);
        return type === 'integer' ? Math.ceil(value) : Math.round(value * 100) / 100;
      }
      case 'boolean':
        return random() < 0.5;
      case 'null':
        return null;
      default:
        return word();
    }
  }

  return build(root, 0);
}

function stringFor(node: Schema, word: () => string): string {
  switch (node.format) {
    case 'date-time':
      return '2025-01-01T00:00:00Z';
    case 'date':
      return '2025-01-01';
    case 'email':
      return `${word()}@example.com`;
    case 'uri':
    case 'url':
      return `https://example.com/${encodeURIComponent(word())}`;
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
  }
  const minLength = typeof node.minLength === 'number' ? node.minLength : 1;
  const maxLength = typeof node.maxLength === 'number' ? node.maxLength : 200;
  let text = [word(), word(), word()].join(' ');
  while (text.length < minLength) text += ` ${word()}`;
  return text.slice(0, maxLength);
}

function resolveRef(root: Schema, ref: string): Schema {
  if (!ref.startsWith('#')) return {};
  let node: unknown = root;
  for (const part of ref.slice(1).split('/').filter(Boolean)) {
    node = isSchema(node) ? node[part.replaceAll('~1', '/').replaceAll('~0', '~')] : undefined;
  }
  return isSchema(node) ? node : {};
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
