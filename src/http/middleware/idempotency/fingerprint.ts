import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { MAX_JSON_DEPTH, nestingDepth } from '../strict-json/index.ts';

const JSON_TYPE = /^application\/(.+\+)?json\s*(;|$)/i;
const MULTIPART_TYPE = /^multipart\/form-data\s*(;|$)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The fingerprint of a request under an Idempotency-Key: what the route acts on, not how the
 * client happened to write it, so that a retry re-serialised by another library still replays.
 * JSON bodies count as canonical JSON (keys sorted, no whitespace); multipart forms as their
 * field names with, in order, each text value and the sha256 of each file's bytes (the boundary
 * and part headers are not the request's meaning); anything else, and bodies that do not parse
 * (the route refuses those), as their raw bytes and media type. The scope, method and path
 * are part of it.
 */
export async function requestFingerprint(c: Context, scope: string): Promise<string> {
  const hash = createHash('sha256').update(`${scope}\n${c.req.method} ${c.req.path}\n`);
  const type = c.req.header('content-type') ?? '';
  const bytes = await c.req.arrayBuffer();
  const canonical = JSON_TYPE.test(type)
    ? canonicalJsonBody(bytes)
    : MULTIPART_TYPE.test(type)
      ? await canonicalForm(c)
      : undefined;
  if (canonical !== undefined) return hash.update(canonical).digest('hex');
  const mediaType = type.split(';')[0]!.trim().toLowerCase();
  return hash.update(`raw ${mediaType}\n`).update(new Uint8Array(bytes)).digest('hex');
}

function canonicalJsonBody(bytes: ArrayBuffer): string | undefined {
  let value: unknown;
  try {
    const text = utf8.decode(bytes);
    // The routes refuse deeper JSON; hashing its bytes spares a deep recursion here.
    if (nestingDepth(text) > MAX_JSON_DEPTH) return undefined;
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return `json\n${canonicalJson(value)}`;
}

/** JSON with object keys sorted and no whitespace: equal for equal parsed values. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    const members = Object.keys(object)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Reads the form the way the route will (hono caches the parse, so the route does not parse it
 * again) and lists it by field name; undefined when it is not a readable form.
 */
async function canonicalForm(c: Context): Promise<string | undefined> {
  let form: Record<string, string | File | (string | File)[]>;
  try {
    form = await c.req.parseBody({ all: true });
  } catch {
    return undefined;
  }
  const fields = await Promise.all(
    Object.keys(form)
      .sort()
      .map(async (name) => {
        const value = form[name]!;
        const values = await Promise.all(
          (Array.isArray(value) ? value : [value]).map(async (item) =>
            typeof item === 'string'
              ? ['text', item]
              : [
                  'file',
                  createHash('sha256')
                    .update(new Uint8Array(await item.arrayBuffer()))
                    .digest('hex'),
                ],
          ),
        );
        return [name, values];
      }),
  );
  return `form\n${JSON.stringify(fields)}`;
}
