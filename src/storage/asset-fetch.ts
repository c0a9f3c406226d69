import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPublicAddress } from './public-address.ts';

/** Content types accepted from providers when nothing else is configured. */
const IMAGE_TYPES: readonly string[] = ['image/png', 'image/jpeg', 'image/webp'];

export interface AssetFetchOptions {
  /** Hosts assets may come from; `*.example.com` allows subdomains (not the apex). */
  allowedHosts: readonly string[];
  /**
   * Exact origins (`http://127.0.0.1:40123`) exempt from the https and address rules: only the
   * simulator's own origin, and only while it serves Replicate. Size, type and redirect rules
   * still apply.
   */
  trustedOrigins?: readonly string[];
  maxBytes: number;
  contentTypes?: readonly string[];
  timeoutMs?: number;
  /** Same-host redirects followed at most this many times. */
  maxRedirects?: number;
  /** DNS lookup (tests resolve names to chosen addresses). */
  lookup?: LookupFunction;
  signal?: AbortSignal;
}

export interface FetchedAsset {
  bytes: Buffer;
  contentType: string;
  /** The URL the bytes came from (after same-host redirects). */
  url: string;
}

/**
 * An asset download that failed. `rule` names the SSRF or size rule that refused it (these
 * never succeed on retry); `retryable` marks network errors, 5xx and 429 answers.
 */
export class AssetFetchError extends Error {
  override readonly name = 'AssetFetchError';
  constructor(
    readonly rule:
      | 'scheme'
      | 'host'
      | 'address'
      | 'redirect'
      | 'size'
      | 'content_type'
      | 'status'
      | 'network',
    message: string,
    readonly retryable = false,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/**
 * Downloads a provider output without letting the URL reach anything else (no SSRF):
 * https only; the host must be on the allow-list; every address the name resolves to must be
 * public — checked inside the connection's own DNS lookup, so a second resolution cannot swap
 * in a private address; redirects only to the same host (and checked again); a Content-Type
 * from the allowed list; at most `maxBytes`, counted while streaming.
 */
export async function fetchAsset(
  rawUrl: string,
  options: AssetFetchOptions,
): Promise<FetchedAsset> {
  let url = parseUrl(rawUrl);
  const firstHost = url.hostname;
  const maxRedirects = options.maxRedirects ?? 3;
  for (let redirects = 0; ; redirects++) {
    const trusted = checkUrl(url, options);
    const response = await send(url, trusted, options);
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400 && response.headers.location !== undefined) {
      response.resume();
      const next = parseUrl(new URL(response.headers.location, url).href);
      if (next.hostname !== firstHost) {
        throw new AssetFetchError(
          'redirect',
          `redirect to another host (${next.hostname}) refused`,
        );
      }
      if (redirects >= maxRedirects) {
        throw new AssetFetchError('redirect', `more than ${maxRedirects} redirects`);
      }
      url = next;
      continue;
    }
    if (status < 200 || status >= 300) {
      response.resume();
      const retryable = status === 429 || status >= 500;
      throw new AssetFetchError('status', `the asset host answered ${status}`, retryable);
    }
    return { ...(await readBody(response, options)), url: url.href };
  }
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new AssetFetchError('scheme', 'not a URL');
  }
}

/** Applies the URL rules; returns whether the origin is a trusted (simulator) origin. */
function checkUrl(url: URL, options: AssetFetchOptions): boolean {
  if (url.username !== '' || url.password !== '') {
    throw new AssetFetchError('scheme', 'URLs with credentials are refused');
  }
  if ((options.trustedOrigins ?? []).includes(url.origin)) return true;
  if (url.protocol !== 'https:') {
    throw new AssetFetchError('scheme', `only https URLs are fetched, not ${url.protocol}`);
  }
  const host = url.hostname.toLowerCase();
  if (!hostAllowed(host, options.allowedHosts)) {
    throw new AssetFetchError('host', `host ${host} is not on the asset allow-list`);
  }
  const literal = host.replace(/^\[|\]$/g, '');
  if (isIP(literal) !== 0 && !isPublicAddress(literal)) {
    throw new AssetFetchError('address', `address ${literal} is not public`);
  }
  return false;
}

/** `replicate.delivery` matches itself; `*.replicate.delivery` matches its subdomains. */
export function hostAllowed(host: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) =>
    pattern.startsWith('*.')
      ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1
      : host === pattern,
  );
}

/** A DNS lookup that fails unless every address of the name is public. */
function guardedLookup(base: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) {
        callback(error, '', 0);
        return;
      }
      const list = (Array.isArray(addresses) ? addresses : []) as LookupAddress[];
      const blocked = list.find((entry) => !isPublicAddress(entry.address));
      if (list.length === 0 || blocked) {
        const refused = new AssetFetchError(
          'address',
          `${hostname} resolves to ${blocked?.address ?? 'nothing'}, which is not public`,
        );
        callback(refused as unknown as NodeJS.ErrnoException, '', 0);
        return;
      }
      if (options.all) callback(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

function send(url: URL, trusted: boolean, options: AssetFetchOptions): Promise<IncomingMessage> {
  const lookup = guardedLookup(options.lookup ?? (dnsLookup as unknown as LookupFunction));
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(url, {
      method: 'GET',
      headers: { accept: (options.contentTypes ?? IMAGE_TYPES).join(', ') },
      agent: false,
      timeout: options.timeoutMs ?? 30_000,
      ...(trusted ? {} : { lookup }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    outgoing.on('response', resolve);
    outgoing.on('timeout', () =>
      outgoing.destroy(new Error('the asset host did not answer in time')),
    );
    outgoing.on('error', (error) => {
      if (error instanceof AssetFetchError) reject(error);
      else reject(new AssetFetchError('network', error.message, true, { cause: error }));
    });
    outgoing.end();
  });
}

async function readBody(
  response: IncomingMessage,
  options: AssetFetchOptions,
): Promise<{ bytes: Buffer; contentType: string }> {
  const contentType = (response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!(options.contentTypes ?? IMAGE_TYPES).includes(contentType)) {
    response.destroy();
    throw new AssetFetchError(
      'content_type',
      `content type "${contentType}" is not an accepted image type`,
    );
  }
  const declared = Number(response.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    response.destroy();
    throw new AssetFetchError(
      'size',
      `the asset is ${declared} bytes; at most ${options.maxBytes} are accepted`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > options.maxBytes) {
        response.destroy();
        throw new AssetFetchError('size', `the asset exceeds ${options.maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof AssetFetchError) throw error;
    throw new AssetFetchError('network', 'the download broke off', true, { cause: error });
  }
  return { bytes: Buffer.concat(chunks), contentType };
}
