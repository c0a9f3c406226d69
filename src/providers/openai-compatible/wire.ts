import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import {
  brotliDecompressSync,
  createBrotliDecompress,
  createGunzip,
  createInflate,
  gunzipSync,
  inflateSync,
} from 'node:zlib';
import { type Dispatcher, Pool } from 'undici';
import { type CancelSource, onCancel } from '../../lib/cancellation.ts';
import { httpProviderError, ProviderError } from '../errors.ts';
import type { ProviderName } from '../types.ts';

/** Where an OpenAI-compatible API is and how a call to it is signed. */
export interface WireTarget {
  name: ProviderName;
  /** The API's base URL, `/v1` (or its equivalent) included. */
  baseURL: string;
  apiKey: string;
  /** Sent with every call (OpenRouter's attribution headers). */
  defaultHeaders?: Record<string, string> | undefined;
  /** Most open connections to the API (default: unbounded). */
  maxSockets?: number | undefined;
  /** An idle connection is closed after this long, or sooner when the server says so (ms). */
  idleTimeoutMs?: number | undefined;
}

/** The head of an answer: status and headers as undici gives them, lower-case names. */
export type WireHeaders = Dispatcher.ResponseData['headers'];

/** A successful answer whose body is still to be read. */
export interface WireAnswer {
  headers: WireHeaders;
  body: Dispatcher.ResponseData['body'];
}

/**
 * The HTTP side of an OpenAI-compatible provider, without an SDK: a JSON body sent over one
 * undici keep-alive pool for the API's origin, the answer read as bytes. Building the request is
 * a `JSON.stringify` and reading it a `JSON.parse`; an SDK's request builder, its header merging,
 * debug formatting and `Response` objects cost more CPU per call than all of genloop's routing.
 *
 * Every failure leaves as a {@link ProviderError} classified as the router expects: a non-2xx
 * answer by its status, body and Retry-After; a refused or reset connection as `network`; an
 * abort by the caller's signal as the signal's own reason (the router tells a timeout from a
 * cancel by it).
 */
export class WireClient {
  readonly name: ProviderName;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
  /** With a connection limit a call can wait for a socket, and undici reads its signal only once it has one. */
  private readonly bounded: boolean;

  constructor(target: WireTarget) {
    const url = new URL(target.baseURL);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`${target.name}: base URL must be http(s), got ${target.baseURL}`);
    }
    if (
      target.maxSockets !== undefined &&
      (!Number.isInteger(target.maxSockets) || target.maxSockets <= 0)
    ) {
      throw new TypeError(`${target.name}: maxSockets must be a positive integer`);
    }
    this.name = target.name;
    this.bounded = target.maxSockets !== undefined;
    this.basePath = url.pathname.replace(/\/+$/, '');
    const idle = target.idleTimeoutMs ?? 15_000;
    this.pool = new Pool(url.origin, {
      connections: target.maxSockets ?? null,
      keepAliveTimeout: idle,
      keepAliveMaxTimeout: idle,
      // The router bounds every attempt with its own signal, the body included.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(target.defaultHeaders ?? {})) {
      headers[name.toLowerCase()] = value;
    }
    headers.authorization = `Bearer ${target.apiKey}`;
    headers['content-type'] = 'application/json';
    headers.accept = 'application/json';
    // API answers are small: compressing them costs both ends more CPU than it saves on a
    // keep-alive connection. A provider that compresses anyway is still read (below).
    headers['accept-encoding'] = 'identity';
    this.headers = headers;
  }

  /**
   * POSTs `body` (JSON text) to `path` under the base URL for an answer read as it comes (a
   * stream). Resolves on a 2xx head; a non-2xx answer is read whole and thrown as its
   * ProviderError.
   */
  async post(
    path: string,
    body: string,
    signal: AbortSignal,
    extraHeaders?: Record<string, string>,
  ): Promise<WireAnswer> {
    if (signal.aborted) throw signal.reason;
    let answer: Dispatcher.ResponseData;
    try {
      const sent = this.pool.request({
        path: this.basePath + path,
        method: 'POST',
        headers: extraHeaders ? { ...this.headers, ...extraHeaders } : this.headers,
        body,
        signal,
      });
      answer = await (this.bounded ? untilAborted(sent, signal) : sent);
    } catch (error) {
      throw this.transportError(error, signal);
    }
    const { statusCode: status, headers } = answer;
    if (status >= 200 && status < 300) return { headers, body: answer.body };
    const text = await readText({ headers, body: answer.body }).catch((error: unknown) => {
      throw this.transportError(error, signal);
    });
    throw httpProviderError(this.name, status, (name) => headerValue(headers, name), parse(text));
  }

  /**
   * POSTs `body` (JSON text) to `path` and reads the whole answer: a 2xx answer's JSON as its
   * text and its parsed value, anything else thrown as its ProviderError. The answer's bytes are
   * collected straight from the connection (no body stream, no signal handed to undici: the
   * call is aborted through its dispatch controller), which is most of what a call costs on
   * the client side beside the socket writes.
   */
  async call(
    path: string,
    body: string,
    signal: CancelSource,
    extraHeaders?: Record<string, string>,
  ): Promise<{ headers: WireHeaders; text: string; data: unknown }> {
    if (signal.aborted) throw signal.reason;
    let whole: WholeAnswer;
    try {
      whole = await new Promise<WholeAnswer>((resolve, reject) => {
        this.pool.dispatch(
          {
            path: this.basePath + path,
            method: 'POST',
            headers: extraHeaders ? { ...this.headers, ...extraHeaders } : this.headers,
            body,
          },
          new WholeAnswerHandler(signal, resolve, reject),
        );
      });
    } catch (error) {
      throw this.transportError(error, signal);
    }
    const { status, headers } = whole;
    let text: string;
    try {
      const encoding = contentEncoding(headers);
      text = (encoding === undefined ? whole.body : decompress(encoding, whole.body)).toString(
        'utf8',
      );
    } catch (error) {
      throw this.transportError(error, signal);
    }
    if (status < 200 || status >= 300) {
      throw httpProviderError(this.name, status, (name) => headerValue(headers, name), parse(text));
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new ProviderError({
        provider: this.name,
        message: `${this.name} answered 2xx with a body that is not JSON: ${text.slice(0, 200)}`,
        errorClass: 'unknown',
        retryable: false,
      });
    }
    return { headers, text, data };
  }

  /**
   * The events of a 2xx `text/event-stream` answer, `data` by `data`, until `[DONE]` or the end
   * of the body. A body that ends inside an event, breaks, or carries an `error` event throws.
   */
  async *events(answer: WireAnswer, signal: AbortSignal): AsyncGenerator<unknown> {
    const parser = new SseParser();
    // undici's body ignores setEncoding: a character split across two packets is kept whole
    // by decoding here.
    const decoder = new StringDecoder('utf8');
    let bytes: Readable = answer.body;
    try {
      bytes = decompressed(answer);
      for await (const chunk of bytes) {
        for (const data of parser.push(decoder.write(chunk as Buffer))) {
          if (data === '[DONE]') return;
          yield this.event(data);
        }
      }
      for (const data of parser.push(decoder.end())) {
        if (data === '[DONE]') return;
        yield this.event(data);
      }
      for (const data of parser.end()) {
        if (data === '[DONE]') return;
        yield this.event(data);
      }
      if (parser.midEvent) {
        throw new ProviderError({
          provider: this.name,
          message: 'stream ended inside an event',
          errorClass: 'stream_cut',
          retryable: true,
        });
      }
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      throw this.transportError(error, signal);
    } finally {
      // A consumer that stops early (the client went away) must not leave the socket busy.
      if (!answer.body.destroyed) answer.body.destroy();
      if (bytes !== answer.body && !bytes.destroyed) bytes.destroy();
    }
  }

  /** Closes the pool once the calls in flight have finished. */
  close(): Promise<void> {
    return this.pool.close();
  }

  private event(data: string): unknown {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      throw new ProviderError({
        provider: this.name,
        message: `stream event is not JSON: ${data.slice(0, 200)}`,
        errorClass: 'stream_cut',
        retryable: true,
      });
    }
    const failure = (parsed as { error?: unknown } | null)?.error;
    if (failure !== undefined && failure !== null) {
      const message = (failure as { message?: unknown }).message;
      throw new ProviderError({
        provider: this.name,
        message: `stream error event: ${typeof message === 'string' ? message : JSON.stringify(failure).slice(0, 200)}`,
        errorClass: 'stream_cut',
        retryable: true,
        body: failure,
      });
    }
    return parsed;
  }

  /** An abort stays the signal's reason; anything else on the wire is a network failure. */
  private transportError(error: unknown, signal: CancelSource): unknown {
    if (signal.aborted) return signal.reason;
    if (error instanceof ProviderError) return error;
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown } | null)?.code;
    return new ProviderError({
      provider: this.name,
      message: `connection failed: ${message}${typeof code === 'string' ? ` (${code})` : ''}`,
      errorClass: 'network',
      retryable: true,
      cause: error,
    });
  }
}

/** An answer read whole: its final status, headers and body bytes as they came. */
interface WholeAnswer {
  status: number;
  headers: WireHeaders;
  body: Buffer;
}

/**
 * Collects one answer for {@link WireClient.call}. The caller's signal aborts the call through
 * the dispatch controller once the request has a socket, and at once before that (a call queued
 * behind a busy bounded pool gives up on time; undici drops it when its turn comes).
 */
class WholeAnswerHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private readonly release: () => void;
  private status = 0;
  private headers: WireHeaders = {};
  private chunks: Buffer[] = [];
  private size = 0;
  private settled = false;

  constructor(
    private readonly signal: CancelSource,
    private readonly resolve: (answer: WholeAnswer) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.release = onCancel(signal, this.onAbort);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal.aborted) controller.abort(this.signal.reason as Error);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    status: number,
    headers: WireHeaders,
  ): void {
    // 1xx heads (100 Continue, 103 Early Hints) come before the answer's own.
    if (status < 200) return;
    this.status = status;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  onResponseEnd(): void {
    if (this.settled) return;
    const { chunks } = this;
    this.settle();
    this.resolve({
      status: this.status,
      headers: this.headers,
      body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size),
    });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.settled) return;
    this.settle();
    this.reject(error);
  }

  private readonly onAbort = (reason: unknown): void => {
    if (this.controller) {
      this.controller.abort(reason as Error);
      return;
    }
    // Still waiting for a socket: give up now.
    this.settle();
    this.reject(reason);
  };

  private settle(): void {
    this.settled = true;
    this.release();
  }
}

/**
 * `sent`, or the signal's reason as soon as it aborts: a call queued behind a busy pool gives up
 * on time. The request itself is aborted by undici when it reaches a socket.
 */
function untilAborted<T>(sent: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    sent.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** One header of an undici answer (several values are joined as a Headers object would). */
export function headerValue(headers: WireHeaders, name: string): string | null {
  const value = headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text === '' ? undefined : text;
  }
}

function contentEncoding(headers: WireHeaders): string | undefined {
  const encoding = headerValue(headers, 'content-encoding')?.trim().toLowerCase();
  return encoding === undefined || encoding === '' || encoding === 'identity'
    ? undefined
    : encoding;
}

async function readText({ headers, body }: WireAnswer): Promise<string> {
  const encoding = contentEncoding(headers);
  if (encoding === undefined) return body.text();
  const bytes = Buffer.from(await body.arrayBuffer());
  return decompress(encoding, bytes).toString('utf8');
}

function decompress(encoding: string, bytes: Buffer): Buffer {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(bytes);
    case 'deflate':
      return inflateSync(bytes);
    case 'br':
      return brotliDecompressSync(bytes);
    default:
      throw new Error(`unsupported content-encoding ${encoding}`);
  }
}

/** The body's bytes, decompressed on the way when the provider compressed them. */
function decompressed({ headers, body }: WireAnswer): Readable {
  const encoding = contentEncoding(headers);
  if (encoding === undefined) return body;
  const inflater =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  if (!inflater) throw new Error(`unsupported content-encoding ${encoding}`);
  body.once('error', (error) => inflater.destroy(error));
  return body.pipe(inflater);
}

/**
 * Server-sent events, incrementally: text in any slicing, each complete event's `data` out
 * (several `data:` lines joined by newlines, as the format says). Comments, `event:`, `id:` and
 * `retry:` lines are read past: chat completion streams carry everything in `data`.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  /** The last text ended with a CR: an LF that starts the next is the rest of that CRLF. */
  private afterCr = false;
  /** True while a started event has not been ended by its blank line. */
  midEvent = false;

  push(text: string): string[] {
    const out: string[] = [];
    if (text === '') return out;
    if (this.afterCr && text.charCodeAt(0) === 10) text = text.slice(1);
    this.afterCr = false;
    this.buffer += text;
    let start = 0;
    const { buffer } = this;
    for (;;) {
      const lf = buffer.indexOf('\n', start);
      const cr = buffer.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr === buffer.length - 1) {
          // A line ended by a CR is complete now (a stream of bare CRs must not wait for the
          // next byte); an LF arriving next is the second half of a CRLF and is skipped.
          this.afterCr = true;
          next = cr + 1;
        } else {
          next = buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
        }
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      this.line(buffer.slice(start, end), out);
      start = next;
    }
    this.buffer = start === 0 ? buffer : buffer.slice(start);
    if (this.buffer.length > 0) this.midEvent = true;
    return out;
  }

  /** The body ended: a last line without its newline still counts, an unended event does not. */
  end(): string[] {
    const out: string[] = [];
    if (this.buffer.length > 0) {
      const rest = this.buffer;
      this.buffer = '';
      this.line(rest, out);
    }
    return out;
  }

  private line(line: string, out: string[]): void {
    if (line === '') {
      if (this.data.length > 0)
        out.push(this.data.length === 1 ? this.data[0]! : this.data.join('\n'));
      this.data = [];
      this.midEvent = false;
      return;
    }
    this.midEvent = true;
    if (line.startsWith('data:')) {
      this.data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
    }
  }
}
